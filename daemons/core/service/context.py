"""What a daemon's component sees of the framework: `Component` and `ServiceContext`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .metrics import DaemonMetrics
from .status import StatusWriter
from .systemd import SystemdNotifier


class Component(Protocol):
    """What a daemon provides to `run_service`.

    ``start`` builds and connects (it may raise: the daemon then exits without READY=1);
    ``run`` is the main loop and calls ``ctx.heartbeat()`` after each healthy iteration
    (it is cancelled on stop); ``reload`` receives a new, already validated configuration
    and runs concurrently with ``run`` in the same event loop; ``close`` releases what
    ``start`` built and must cope with a ``start`` that failed half-way.
    """

    async def start(self, ctx: ServiceContext) -> None: ...

    async def run(self, ctx: ServiceContext) -> None: ...

    async def reload(self, config: Any, ctx: ServiceContext) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class ServiceSettings:
    """The parts of the gateway configuration the framework itself uses."""

    runtime_dir: Path | None
    metrics_port: int
    log_level: str

    @classmethod
    def of(cls, config: Any, name: str) -> ServiceSettings:
        # Read by attribute so tests (and the simulator) can pass a small stand-in for
        # daemons.core.config.GatewayConfig; what is missing falls back to "off"/"info".
        paths = getattr(config, "paths", None)
        runtime = getattr(paths, "runtime_dir", None)
        service = config.service(name) if hasattr(config, "service") else None
        return cls(runtime_dir=Path(runtime) if runtime else None,
                   metrics_port=int(getattr(service, "metrics_port", 0) or 0),
                   log_level=str(getattr(service, "log_level", "info") or "info"))


class ServiceContext:
    """Handed to every Component method: config, logger, metrics and progress reporting.

    The watchdog is pinged from `heartbeat`, i.e. only when the main loop proves it is
    making progress: a daemon whose loop hangs stops pinging and systemd restarts it
    within ``WatchdogSec``.  A separate timer would keep a hung daemon alive.
    """

    def __init__(self, name: str, config: Any, config_path: Path, *, log: Any,
                 metrics: DaemonMetrics, notifier: SystemdNotifier,
                 status: StatusWriter | None, clock: Any = time.monotonic) -> None:
        self.name = name
        self.config = config  # replaced by the framework after a successful reload
        self.config_path = config_path
        self.log = log
        self.metrics = metrics
        self.notifier = notifier
        self.status = status
        self._clock = clock
        self._ping_period = notifier.ping_period()
        self._last_ping = float("-inf")
        self.last_heartbeat: float | None = None  # monotonic seconds
        self.status_text = ""

    @property
    def settings(self) -> ServiceSettings:
        return ServiceSettings.of(self.config, self.name)

    def heartbeat(self, duration_s: float | None = None) -> None:
        """Report one healthy loop iteration (optionally how long its work took)."""
        now = self._clock()
        self.last_heartbeat = now
        self.metrics.loops.inc()
        if duration_s is not None:
            self.metrics.loop_duration.observe(duration_s)
        if self.status is not None:
            self.status.loop()
        # Half of WatchdogSec between pings (sd_watchdog_enabled(3)); a loop faster than
        # that pings at that rate, a loop slower than WatchdogSec gets the daemon restarted.
        if self._ping_period is not None and now - self._last_ping >= self._ping_period:
            self.notifier.watchdog()
            self._last_ping = now

    @contextmanager
    def iteration(self) -> Iterator[None]:
        """``with ctx.iteration(): ...`` times the body and heartbeats if it succeeded."""
        started = time.perf_counter()
        yield
        self.heartbeat(time.perf_counter() - started)

    def set_status(self, text: str) -> None:
        """One line for ``systemctl status`` (STATUS=) and the status file."""
        self.status_text = text
        self.notifier.status(text)
        if self.status is not None:
            self.status.text(text)

    def error(self, kind: str, exc: BaseException | str | None = None) -> None:
        """Count an error by kind (metrics and status file); logging stays the caller's."""
        self.metrics.errors.labels(kind=kind).inc()
        if self.status is not None:
            detail = "" if exc is None else f": {exc}"
            self.status.error(f"{kind}{detail}")
