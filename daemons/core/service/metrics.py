"""Prometheus metrics of one daemon: its own registry and its own /metrics endpoint.

Each daemon gets a fresh `CollectorRegistry` rather than prometheus-client's global one,
so in-process tests can build several daemons without "Duplicated timeseries" errors and
a component's metrics can never leak into another daemon's.  The endpoint listens on
127.0.0.1 only: metrics are read by a local agent (or through SSH), never by the site LAN.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
    start_http_server,
)

# Loop iterations of our daemons run from well under a millisecond (alarmd on a quiet
# site) to seconds (a slow RS-485 bus at 9600 baud, see PITFALLS): log-spaced buckets.
LOOP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                2.5, 5.0, 10.0)
RELOAD_RESULTS = ("ok", "failed")


@dataclass
class MetricsServer:
    """A running /metrics endpoint (a prometheus-client WSGI server in a daemon thread)."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    def close(self) -> None:
        # shutdown() waits for serve_forever's next poll (<= 0.5 s), then frees the port.
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2.0)


class _ProcessCollector(ProcessCollector):
    """prometheus-client's process metrics, working under systemd's ProcSubset=pid.

    The stock collector reads the boot time from /proc/stat, which ProcSubset=pid hides,
    and then silently exports nothing.  CLOCK_BOOTTIME gives the same instant.
    """

    def _boot_time(self) -> float:
        return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


class DaemonMetrics:
    """The standard metrics every daemon exports; components add theirs on `registry`."""

    def __init__(self, daemon: str, version: str, *, process: bool = True) -> None:
        self.daemon = daemon
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.loop_duration = Histogram(
            "wellgate_loop_duration_seconds", "Duration of one main-loop iteration",
            registry=r, buckets=LOOP_BUCKETS)
        self.loops = Counter("wellgate_loops", "Main-loop iterations completed", registry=r)
        self.errors = Counter("wellgate_errors", "Errors by kind", ["kind"], registry=r)
        self.reloads = Counter("wellgate_reloads", "Configuration reloads by result",
                               ["result"], registry=r)
        for result in RELOAD_RESULTS:
            self.reloads.labels(result=result)  # export 0 before the first reload
        self.start_time = Gauge("wellgate_start_time_seconds",
                                "Unix time at which the daemon started", registry=r)
        self.start_time.set(time.time())
        self.info = Info("wellgate_daemon", "Which daemon and version this is", registry=r)
        self.info.info({"daemon": daemon, "version": version})
        if process:
            # CPU, memory and file descriptors: what shows a leak on a 1 GB gateway.
            _ProcessCollector(registry=r)

    def serve(self, port: int, host: str = "127.0.0.1") -> MetricsServer | None:
        """Start the endpoint; port 0 means "off" (as in the configuration)."""
        if port == 0:
            return None
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        return MetricsServer(host, server.server_port, server, thread)

    def render(self) -> bytes:
        """The exposition text, for tests and for `wellgate status --metrics`."""
        return generate_latest(self.registry)
