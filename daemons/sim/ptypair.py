"""A pseudo-terminal pair made by socat: the simulated RS-485 cable.

socat creates two ptys and copies bytes between them; the master's end is symlinked at the
bus's configured link path, the simulator opens the other end.  Both ends are real ttys,
so masters (pymodbus, mbpoll, acqd) set baud rate and parity on them as on a real port.
Closing the pair (killing socat) hangs the master's end up and removes the link, which is
how a pulled cable is emulated; opening it again re-creates the link at the same path.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import termios
import time
import tty
from pathlib import Path

log = logging.getLogger(__name__)

START_TIMEOUT_S = 5.0


class PtyError(RuntimeError):
    """The pty pair could not be made (socat missing, link path taken, socat died)."""


def _remove_stale_link(path: Path) -> None:
    """Remove a symlink left by a killed socat; refuse to delete anything else."""
    if path.is_symlink():
        path.unlink()
    elif path.exists():
        raise PtyError(f"{path} exists and is not a symlink; refusing to replace it")


class PtyPair:
    """One socat-made pty pair; `open()` returns the simulator's non-blocking raw fd."""

    def __init__(self, link: Path, sim_link: Path) -> None:
        self.link = link
        self.sim_link = sim_link
        self._proc: subprocess.Popen[bytes] | None = None
        self._fd: int | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def fd(self) -> int | None:
        return self._fd

    def open(self) -> int:
        self.close()  # reap a socat that died on its own before making a new pair
        socat = shutil.which("socat")
        if socat is None:
            raise PtyError("socat is not installed (apt-get install -y socat)")
        for path in (self.link, self.sim_link):
            path.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_link(path)
        argv = [socat, f"pty,raw,echo=0,link={self.link}", f"pty,raw,echo=0,link={self.sim_link}"]
        # If the simulator is killed outright, the kernel still ends socat (and socat
        # removes its links); setpriv is util-linux's way to ask for that without a
        # preexec_fn, which is unsafe in a process with threads.
        setpriv = shutil.which("setpriv")
        if setpriv is not None:
            argv = [setpriv, "--pdeathsig", "TERM", *argv]
        # Own session: a Ctrl-C in the terminal must reach the simulator, which then
        # closes the bus in order, rather than socat behind its back.
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (self.link.exists() and self.sim_link.exists()):
            if self._proc.poll() is not None:
                self._proc = None
                raise PtyError(f"socat exited while creating {self.link}")
            if time.monotonic() > deadline:
                self.close()
                raise PtyError(f"socat did not create {self.link} within {START_TIMEOUT_S} s")
            time.sleep(0.005)
        try:
            fd = os.open(self.sim_link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            tty.setraw(fd, termios.TCSANOW)
        except OSError as exc:
            self.close()
            raise PtyError(f"cannot open the simulator's end {self.sim_link}: {exc}") from exc
        self._fd = fd
        return fd

    def close(self) -> None:
        """Close our end and end socat (which removes both links); safe to call twice."""
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            # setpriv execs socat, so the pid is socat's own.
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for path in (self.link, self.sim_link):
            if path.is_symlink():
                try:
                    path.unlink()
                except OSError:
                    pass
