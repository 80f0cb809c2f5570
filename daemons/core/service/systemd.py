"""sd_notify(3) for wellgate daemons, in the standard library only.

The protocol is one datagram of newline-separated ``KEY=VALUE`` assignments sent to the
Unix socket named by ``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace).
Every call is a no-op when the variable is unset, so the same daemon runs unchanged from a
shell, under pytest or under systemd.

Watchdog and PyInstaller (see docs/operations.md): the frozen image runs our interpreter
in a *child* of the bootloader, whose pid systemd put in ``$WATCHDOG_PID``.  The usual
"``WATCHDOG_PID`` must equal ``getpid()``" rule would silently switch the watchdog off
there and systemd would then kill every daemon after ``WatchdogSec``.  We therefore
accept our own pid *or our parent's* (the bootloader); any other pid disables the
watchdog with a note the framework logs, never silently.  The units use
``NotifyAccess=all`` because the datagrams come from the child, not from ``$MAINPID``.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from collections.abc import Mapping, MutableMapping

_NOTIFY_VARS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


class SystemdNotifier:
    """A connection to the service manager's notification socket (or to nothing).

    The socket is non-blocking: if systemd is not reading (it is restarting, or the queue
    is full) a notification is dropped rather than freezing the daemon's loop.
    """

    def __init__(self, address: str | None = None, *, watchdog_usec: int | None = None,
                 watchdog_note: str = "") -> None:
        self.address = address or None
        self._watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None
        self.watchdog_note = watchdog_note  # why the watchdog is off although requested
        self.dropped = 0  # notifications that could not be delivered
        self.last_error: OSError | None = None
        self._sock: socket.socket | None = None
        self._target: str | bytes | None = None
        if self.address is not None:
            if self.address[0] not in "@/" or len(self.address) < 2:
                raise ValueError(f"NOTIFY_SOCKET must be a path or @abstract: {address!r}")
            # "@name" is Linux's abstract namespace: a leading NUL byte on the wire.
            self._target = ("\0" + self.address[1:]) if self.address[0] == "@" else self.address
            self._sock = socket.socket(socket.AF_UNIX,
                                       socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.setblocking(False)

    @classmethod
    def from_environ(cls, environ: MutableMapping[str, str] | None = None, *,
                     unset: bool = False, pid: int | None = None,
                     ppid: int | None = None) -> SystemdNotifier:
        """Build from ``$NOTIFY_SOCKET``/``$WATCHDOG_USEC``/``$WATCHDOG_PID``.

        ``unset`` removes them afterwards (like sd_notify's ``unset_environment``) so that
        programs this daemon starts do not ping systemd in its name.
        """
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        usec, note = _watchdog_from(env, os.getpid() if pid is None else pid,
                                    os.getppid() if ppid is None else ppid)
        if unset:
            for key in _NOTIFY_VARS:
                env.pop(key, None)
        return cls(address, watchdog_usec=usec, watchdog_note=note)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, *assignments: str) -> bool:
        """Send ``KEY=VALUE`` lines in one datagram; True if it was delivered."""
        if self._sock is None or self._target is None:
            return False
        payload = "\n".join(assignments).encode("utf-8")
        try:
            self._sock.sendto(payload, self._target)
        except OSError as exc:
            # ENOENT/ECONNREFUSED: systemd is being re-executed; EAGAIN: its queue is full.
            # Neither is a reason to disturb the daemon; the caller may look at `dropped`.
            if exc.errno not in (errno.ENOENT, errno.ECONNREFUSED, errno.EAGAIN,
                                 errno.EWOULDBLOCK, errno.ENOBUFS, errno.EPERM):
                raise
            self.dropped += 1
            self.last_error = exc
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        lines = ["READY=1"]
        if status is not None:
            lines.append(f"STATUS={_one_line(status)}")
        return self.notify(*lines)

    def reloading(self) -> bool:
        # systemd >= 253 (Type=notify-reload) wants MONOTONIC_USEC with RELOADING=1 to tell
        # this reload from an older one; older versions ignore the extra assignment.
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={_one_line(text)}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def extend_timeout(self, seconds: float) -> bool:
        return self.notify(f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}")

    def watchdog_interval(self) -> float | None:
        """``WatchdogSec`` in seconds, or None when systemd does not watch this process.

        Ping at least every half of it (``ping_period``), as sd_watchdog_enabled(3) advises.
        """
        return None if self._watchdog_usec is None else self._watchdog_usec / 1_000_000

    def ping_period(self) -> float | None:
        interval = self.watchdog_interval()
        return None if interval is None else interval / 2

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _one_line(text: str) -> str:
    # A newline would start a new assignment in the datagram.
    return " ".join(str(text).split())


def _watchdog_from(env: Mapping[str, str], pid: int, ppid: int) -> tuple[int | None, str]:
    raw = env.get("WATCHDOG_USEC")
    if not raw:
        return None, ""
    try:
        usec = int(raw)
    except ValueError:
        return None, f"WATCHDOG_USEC={raw!r} is not an integer; watchdog off"
    if usec <= 0:
        return None, ""
    owner = env.get("WATCHDOG_PID")
    if owner:
        try:
            owner_pid = int(owner)
        except ValueError:
            return None, f"WATCHDOG_PID={owner!r} is not an integer; watchdog off"
        # ppid: the PyInstaller bootloader that systemd started (see module docstring).
        if owner_pid not in (pid, ppid):
            return None, (f"WATCHDOG_PID={owner_pid} is neither this process ({pid}) nor its "
                          f"parent ({ppid}); watchdog off")
    return usec, ""
