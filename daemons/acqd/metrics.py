"""acqd's Prometheus metrics and scan-overrun reporting.

Per bus: requests and their CPU cost; per bus and scan class: cycles, overruns and the
start jitter (how late a cycle began after its tick).  Overruns are logged on their edges
only: once when a class starts missing ticks, once when it has kept up for a minute.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from daemons.acqd.poller import BusPoller

BACK_ON_TIME_S = 60.0


class AcqMetrics:
    def __init__(self, registry: CollectorRegistry, log: Any) -> None:
        self.log = log
        self.requests = Counter("wellgate_acq_requests", "Modbus requests sent", ["bus"],
                                registry=registry)
        self.cpu = Counter("wellgate_acq_poll_cpu_seconds", "CPU spent handling replies "
                           "(decoding, staging, health)", ["bus"], registry=registry)
        self.cycles = Counter("wellgate_acq_scan_cycles", "Scan cycles started",
                              ["bus", "scan"], registry=registry)
        self.overruns = Counter("wellgate_acq_scan_overruns", "Ticks skipped because the "
                                "previous cycle was still running", ["bus", "scan"],
                                registry=registry)
        self.jitter = Gauge("wellgate_acq_scan_jitter_max_seconds", "Largest start delay "
                            "after a tick", ["bus", "scan"], registry=registry)
        self.jitter_avg = Gauge("wellgate_acq_scan_jitter_avg_seconds", "Average start "
                                "delay after a tick", ["bus", "scan"], registry=registry)
        self.slaves_down = Gauge("wellgate_acq_slaves_down", "Slaves not answering",
                                 registry=registry)
        self._seen: dict[tuple[str, str], tuple[int, int, float]] = {}
        self._bus_seen: dict[str, tuple[int, float]] = {}
        self._late: dict[tuple[str, str], float] = {}  # overrunning since (monotonic)

    def update(self, pollers: list[BusPoller], slaves_down: int) -> None:
        """Fold the pollers' counters into the metrics (called every few seconds)."""
        now = time.monotonic()
        self.slaves_down.set(slaves_down)
        for p in pollers:
            requests, cpu = self._bus_seen.get(p.name, (0, 0.0))
            self.requests.labels(bus=p.name).inc(max(0, p.stats.requests - requests))
            self.cpu.labels(bus=p.name).inc(max(0.0, p.stats.cpu_s - cpu))
            self._bus_seen[p.name] = (p.stats.requests, p.stats.cpu_s)
            for c in p.clocks:
                key = (p.name, c.name)
                cycles, overruns, last_overrun = self._seen.get(key, (0, 0, 0.0))
                self.cycles.labels(bus=p.name, scan=c.name).inc(max(0, c.cycles - cycles))
                new = max(0, c.overruns - overruns)
                self.overruns.labels(bus=p.name, scan=c.name).inc(new)
                self.jitter.labels(bus=p.name, scan=c.name).set(c.jitter_max_ns / 1e9)
                self.jitter_avg.labels(bus=p.name, scan=c.name).set(c.jitter_avg_ms / 1e3)
                if new:
                    last_overrun = now
                    if key not in self._late:
                        self._late[key] = now
                        self.log.warning("scan overrun: the bus cannot keep this rate",
                                         bus=p.name, scan=c.name, skipped=new)
                elif key in self._late and now - last_overrun > BACK_ON_TIME_S:
                    del self._late[key]
                    self.log.info("scan back on time", bus=p.name, scan=c.name,
                                  overruns=c.overruns)
                self._seen[key] = (c.cycles, c.overruns, last_overrun)
