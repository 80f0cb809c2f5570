"""calcd: lift, well-test, drilling, coiled-tubing and integrity calculations as tags.

Reads acqd's ring, runs every well's calculations once a second (each at the rate it
needs: per scan, per new dynamometer card, per well test), writes results to its own
ring (`calc.ring`) and history (`calc-history.db`), and keeps its running state
(accumulators, tests in progress, fatigue) in `calc-state.db`.  `run(config)` is the
daemon; `entry()` the console script (`calcd --config PATH`).
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge

from daemons.calcd.batch import ArrayValue, Frame
from daemons.calcd.catalogue import CALCULATIONS
from daemons.calcd.engine import Engine, Problem
from daemons.calcd.output import RING_NAME, CalcHistory, CalcRing
from daemons.calcd.state import StateStore
from daemons.core.config import GatewayConfig
from daemons.core.problems import ValidationError
from daemons.core.ring import RingError, RingReader
from daemons.core.service import ServiceContext, daemon_main
from daemons.core.tagmap import TagMap, TagMapContext, load_tagmaps, store
from daemons.core.welltests import WellTestStore

INPUT_RING = "acq.ring"
CYCLE_S = 1.0
# acqd stamps samples with their whole-second tick and publishes every 250 ms; an RS-485
# bus may still be reading 0.4 s after the tick.  Computing half a second after the tick
# sees that tick's values, and results carry the same tick as their inputs.
OFFSET_S = 0.5
STATUS_EVERY_S = 5.0


def load_active_tagmap(config: GatewayConfig) -> TagMap:
    """The installed tag maps, validated against `config` (ValidationError if invalid)."""
    files = store.active_files(config.paths.tagmap_dir)
    return load_tagmaps(files, TagMapContext.from_config(config),
                        version=store.current_version(config.paths.tagmap_dir))


class CalcMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.problems = Gauge("wellgate_calc_stopped", "(well, calculation) pairs stopped "
                              "for a missing input or parameter", registry=registry)
        self.results = Counter("wellgate_calc_results", "Results published",
                               registry=registry)
        self.errors = Counter("wellgate_calc_errors", "Calculation exceptions", ["calc"],
                              registry=registry)
        self.cpu = Counter("wellgate_calc_cpu_seconds", "CPU spent in calculation cycles",
                           registry=registry)


class Calculations:
    """The calcd component (daemons/core/service/context.py has the contract)."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.tagmap = TagMap(())
        self.engine: Engine | None = None
        self.ring: CalcRing | None = None
        self.history: CalcHistory | None = None
        self.state: StateStore | None = None
        self.welltests: WellTestStore | None = None
        self.reader: RingReader | None = None
        self.metrics: CalcMetrics | None = None
        self.reported: set[Problem] = set()
        self.reported_errors: set[tuple[str, str]] = set()
        self._is_array = np.zeros(0, bool)
        self.ctx: ServiceContext | None = None
        self.last_cycle_s = 0.0

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.metrics = CalcMetrics(ctx.metrics.registry)
        state_dir = self.config.paths.state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        self.state = StateStore(state_dir)
        self.welltests = WellTestStore(state_dir)
        if self.config.history.enabled:
            self.history = CalcHistory(state_dir, self.config.history, ctx.log)
        try:
            self.tagmap = load_active_tagmap(self.config)
        except ValidationError as exc:
            ctx.log.error("tag maps invalid; every calculation waits until they are fixed",
                          problems=[p.render("en") for p in exc.problems])
            ctx.error("tagmap", exc)
        self._build(self.config, self.tagmap, self.state.load())
        ctx.set_status(self._status())

    def _services(self) -> dict[str, Any]:
        return {"welltests": self.welltests, "timezone": self.config.gateway.timezone}

    def _build(self, config: GatewayConfig, tagmap: TagMap,
               state: dict[tuple[str, str], dict[str, Any]]) -> None:
        engine = Engine(config, tagmap, CALCULATIONS, services=self._services())
        engine.import_state(state)
        for calc, why in engine.restore_errors.items():
            assert self.ctx is not None
            self.ctx.log.error("running state not restored; starting fresh", calc=calc,
                               error=why)
        config.paths.runtime_dir.mkdir(parents=True, exist_ok=True)
        ring = CalcRing(config.paths.runtime_dir / RING_NAME, engine.specs,
                        tagmap_version=tagmap.version,
                        history_depth=config.ring.history_depth)
        if self.ring is not None:
            self.ring.close()
        self.ring, self.engine = ring, engine
        self._is_array = np.array([s.length > 0 for s in engine.specs], dtype=bool)
        if self.history is not None:
            self.history.map_slots(engine.specs)
        self._report_problems(engine.problems)

    def _report_problems(self, problems: list[Problem]) -> None:
        assert self.ctx is not None and self.metrics is not None
        for p in problems:
            if p not in self.reported:
                self.ctx.log.warning("calculation stopped: missing input", well=p.well,
                                     calc=p.calc, kind=p.kind, missing=p.name,
                                     message=p.en(), mensaje=p.es())
        self.reported = set(problems)
        self.metrics.problems.set(len(problems))

    def _status(self) -> str:
        e = self.engine
        if e is None:
            return "starting"
        wells = len({s.name.split(".CALC.")[0] for s in e.specs})
        return (f"{wells} wells, {len(e.specs)} results, {len(e.problems)} stopped for a "
                f"missing input, cycle {self.last_cycle_s * 1000:.1f} ms, tag-map version "
                f"{self.tagmap.version}")

    # --- the cycle ---------------------------------------------------------------------
    def _frame(self) -> Frame:
        path = self.config.paths.runtime_dir / INPUT_RING
        if self.reader is None:
            try:
                self.reader = RingReader(path)
            except RingError:
                return Frame((), np.empty(0), np.empty(0, np.int64), np.empty(0, np.uint32),
                             lambda name: None)
        reader = self.reader

        def array(name: str) -> ArrayValue | None:
            try:
                return reader.array(name)
            except (RingError, KeyError, ValueError):
                return None

        try:
            snap = reader.snapshot()
        except RingError:
            self.reader = None
            return Frame((), np.empty(0), np.empty(0, np.int64), np.empty(0, np.uint32),
                         lambda name: None)
        return Frame(snap.names, snap.values, snap.ts_ns, snap.quality, array)

    def cycle(self, now_ns: int, tick_ns: int) -> int:
        """One calculation cycle; returns the number of results published."""
        assert self.engine is not None and self.ring is not None
        out = self.engine.cycle(self._frame(), now_ns, tick_ns)
        slots = self.ring.publish(out, self._is_array)
        if self.history is not None:
            self.history.submit(slots, out)
        count = len(slots) + len(out.arrays)
        self.engine.published()
        for calc, text in self.engine.errors.items():
            if (calc, text) not in self.reported_errors:
                self.reported_errors.add((calc, text))
                if self.ctx is not None:
                    self.ctx.log.error("calculation failed", calc=calc, error=text)
            if self.metrics is not None:
                self.metrics.errors.labels(calc=calc).inc()
        return count

    async def run(self, ctx: ServiceContext) -> None:
        assert self.state is not None and self.metrics is not None
        last_status = 0.0
        while True:
            now = time.time()
            tick = float(np.floor(now - OFFSET_S)) + 1.0
            await asyncio.sleep(max(tick + OFFSET_S - now, 0.0))
            with ctx.iteration():
                cpu0, t0 = time.process_time(), time.perf_counter()
                n = self.cycle(time.time_ns(), int(tick * 1e9))
                self.last_cycle_s = time.perf_counter() - t0
                self.metrics.cpu.inc(time.process_time() - cpu0)
                self.metrics.results.inc(n)
                if self.state.due() and self.engine is not None:
                    self.state.save(self.engine.export_state())
                if time.monotonic() - last_status > STATUS_EVERY_S:
                    ctx.set_status(self._status())
                    last_status = time.monotonic()

    async def reload(self, config: Any, ctx: ServiceContext) -> None:
        try:
            tagmap = load_active_tagmap(config)
        except ValidationError as exc:
            ctx.log.error("new tag maps invalid; keeping the running ones",
                          problems=[p.render("en") for p in exc.problems])
            ctx.error("tagmap", exc)
            return
        # Running state (accumulators, tests in progress, fatigue) passes from the old
        # calculations to the new ones in memory; what no longer applies is dropped.
        kept = self.engine.export_state() if self.engine is not None else {}
        self.config, self.tagmap = config, tagmap
        self.reader = None  # another runtime_dir, or a re-laid-out acq ring: reopen
        self._build(config, tagmap, kept)
        ctx.log.info("configuration and tag maps loaded", version=tagmap.version,
                     results=len(self.engine.specs) if self.engine else 0)

    async def close(self) -> None:
        if self.engine is not None and self.state is not None:
            self.state.save(self.engine.export_state())
        if self.ring is not None:
            self.ring.close()
        if self.history is not None:
            self.history.close()
        if self.reader is not None:
            self.reader.close()
        for db in (self.state, self.welltests):
            if db is not None:
                db.close()


def run(config: GatewayConfig) -> Calculations:
    """The component for `config` (DESIGN.md: each daemon's main.py has run(config))."""
    return Calculations(config)


def entry() -> None:
    sys.exit(daemon_main("calcd", run))


if __name__ == "__main__":
    entry()
