"""A small process supervisor for `wellgate demo`, mirroring the systemd units.

Like `Restart=on-failure` with `StartLimitIntervalSec=60` / `StartLimitBurst=5`: a
program that exits with an error (or a signal) is restarted after a short delay; one that
fails five times within a minute is left stopped and reported.  Ctrl-C (SIGINT) or
SIGTERM stops everything in reverse start order: SIGTERM first, SIGKILL for a program still
running after 5 s, as systemd's TimeoutStopSec would.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

RESTART_DELAY = 1.0
START_LIMIT_INTERVAL = 60.0
START_LIMIT_BURST = 5
STOP_TIMEOUT = 5.0


@dataclass
class Program:
    name: str
    argv: Sequence[str]
    log: Path
    process: subprocess.Popen | None = None
    starts: deque = field(default_factory=deque)
    failed: bool = False
    restart_at: float = 0.0


class Supervisor:
    def __init__(self, programs: Sequence[Program], say: Callable[[str, str], None],
                 env: dict[str, str] | None = None) -> None:
        self.programs = list(programs)
        self.say = say
        self.env = env
        self._stop = False

    def _start(self, prog: Program) -> None:
        prog.log.parent.mkdir(parents=True, exist_ok=True)
        with open(prog.log, "ab") as log:
            prog.process = subprocess.Popen(list(prog.argv), stdout=log,
                                            stderr=subprocess.STDOUT, env=self.env,
                                            start_new_session=True)
        prog.starts.append(time.monotonic())

    def request_stop(self, *_: object) -> None:
        self._stop = True

    def run(self, duration: float | None = None) -> int:
        """Run until Ctrl-C / SIGTERM (or `duration` seconds); 0 when every program ran."""
        old_int = signal.signal(signal.SIGINT, self.request_stop)
        old_term = signal.signal(signal.SIGTERM, self.request_stop)
        deadline = time.monotonic() + duration if duration else None
        try:
            for prog in self.programs:
                self._start(prog)
            while not self._stop and (deadline is None or time.monotonic() < deadline):
                self._check()
                time.sleep(0.2)
        finally:
            self._stop_all()
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGTERM, old_term)
        return 1 if any(p.failed for p in self.programs) else 0

    def _check(self) -> None:
        now = time.monotonic()
        for prog in self.programs:
            if prog.failed or prog.process is None:
                if prog.restart_at and now >= prog.restart_at and not prog.failed:
                    prog.restart_at = 0.0
                    self._start(prog)
                continue
            code = prog.process.poll()
            if code is None:
                continue
            prog.process = None
            if code == 0:
                self.say(f"{prog.name} exited cleanly", f"{prog.name} terminó normalmente")
                continue
            while prog.starts and now - prog.starts[0] > START_LIMIT_INTERVAL:
                prog.starts.popleft()
            if len(prog.starts) >= START_LIMIT_BURST:
                prog.failed = True
                self.say(f"{prog.name} failed {START_LIMIT_BURST} times in a minute; left "
                         f"stopped (see {prog.log})", f"{prog.name} falló {START_LIMIT_BURST} "
                         f"veces en un minuto; queda detenido (ver {prog.log})")
                continue
            self.say(f"{prog.name} exited with code {code}; restarting",
                     f"{prog.name} terminó con código {code}; reiniciando")
            prog.restart_at = now + RESTART_DELAY

    def _stop_all(self) -> None:
        """Stop in reverse start order, as systemd does for units ordered After= each
        other: the daemons before the simulated devices they talk to."""
        for prog in reversed(self.programs):
            if prog.process is None or prog.process.poll() is not None:
                continue
            prog.process.send_signal(signal.SIGTERM)
            try:
                prog.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.say(f"{prog.name} did not stop in {STOP_TIMEOUT:.0f} s; killed",
                         f"{prog.name} no se detuvo en {STOP_TIMEOUT:.0f} s; forzado")
                prog.process.kill()
                prog.process.wait()
