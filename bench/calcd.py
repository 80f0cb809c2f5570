"""Benchmark: calcd's 1 Hz loop for 200 mixed wells, rod-pump cards per core-second,
results per second per well type — against a naive per-well loop reading the ring tag by
tag, measured in the same run.

Run:  .venv/bin/python bench/calcd.py [--seconds 30] [--wells 200]

Targets (issue 10): the 1 Hz loop at most 10 % of one core; at least 1,000 rod-pump cards
per core-second.  The site: 80 rod pump, 40 ESP, 30 gas lift, 20 PCP wells (each with A,
B and C annulus gauges), 24 flowing wells on one test separator, 4 rigs and 2 coiled-tubing
units — every well cloned from the demo site's reference tag maps and configuration, its
values taken from the simulator's models.  A stand-in for acqd writes acq.ring each second
(its CPU is measured apart and left out); a new dynamometer card reaches each rod-pump well
every 10 s (acqd reads cards in the 10 s scan class).  calcd is the real component
(`daemons.calcd.main.Calculations`: ring, history thread, state saves), run in real time at
1 Hz; its CPU is the process's (every thread) minus the stand-in's.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from daemons.calcd.batch import Frame
from daemons.calcd.calcs.rodpump import RodPumpCard
from daemons.calcd.catalogue import CALCULATIONS
from daemons.calcd.engine import Engine
from daemons.calcd.main import Calculations
from daemons.core.config import load_config
from daemons.core.ring import RingReader, RingWriter, SlotSpec
from daemons.core.service import DaemonMetrics, ServiceContext, SystemdNotifier
from daemons.core.service.logsetup import configure_logging, get_logger
from daemons.core.tagmap import TagMapContext, load_tagmaps, write_tagmap_csv
from daemons.sim.bank import RegisterBank
from daemons.sim.devices import MODELS
from daemons.sim.devices.tagmaps import DEMO_DEVICES, tag_name

REPO = Path(__file__).resolve().parents[1]

MIX = (("rod_pump", 80, "W101", "rpc1"), ("esp", 40, "W102", "vsd1"),
       ("gas_lift", 30, "W103", "glc1"), ("pcp", 20, "W108", "pcp1"),
       ("flowing", 24, "W104", "testsep1"), ("drilling", 4, "D201", "rig1"),
       ("coiled_tubing", 2, "W107", "ctu1"))
ANNULI = ("rod_pump", "esp", "gas_lift", "pcp")
CARD_EVERY_S = 10


def _template_values() -> dict[str, Any]:
    """Every demo tag's value after a minute of simulated time (arrays included)."""
    values: dict[str, Any] = {}
    for k, dev in enumerate(DEMO_DEVICES):
        model = MODELS[dev.model](RegisterBank(), wells=list(dev.wells), params={}, seed=k)
        for t in range(0, 61, 5):
            model.step(1.75e9 + t)
        for pt in model.points:
            values[tag_name(pt, dev)] = model.values.get((pt.key, pt.well))
    return values


def build_site(root: Path, scale: float) -> tuple[Path, dict[str, Any], list[str]]:
    """gateway.toml, tagmaps/bench.csv and each tag's value; returns the rod-pump wells."""
    demo = load_config(REPO / "config" / "gateway.toml")
    demo_tags = load_tagmaps(sorted((REPO / "tagmaps").glob("*.csv")),
                             TagMapContext.from_config(demo))
    template = _template_values()
    wells: list[dict[str, Any]] = []
    tags, values, rod = [], {}, []
    address = defaultdict(int)

    def add(t: Any, name: str, well: str | None) -> None:
        table = t.table
        addr = address[table]
        address[table] += t.total_registers
        tags.append(dataclasses.replace(t, name=name, well=well, device="bench", unit=1,
                                        address=addr, file="", line=0))
        values[name] = template.get(t.name)

    by_well = defaultdict(list)
    for t in demo_tags:
        by_well[t.well].append(t)
    for wtype, count, tmpl, _ in MIX:
        n = max(1, round(count * scale))
        for k in range(n):
            wid = f"{tmpl}X{k:03d}"
            src = demo.wells[tmpl]
            entry: dict[str, Any] = {"id": wid, "type": wtype}
            for table, params in src.params.items():
                entry[table] = {key: (list(v) if isinstance(v, tuple) and not (
                    v and isinstance(v[0], dict)) else v) for key, v in params.items()}
                if "rod_string" in entry[table]:
                    entry[table]["rod_string"] = [dict(r) for r in entry[table]["rod_string"]]
            if wtype in ANNULI:
                entry["integrity"] = {"mawop_a_psi": 1500.0, "mawop_b_psi": 900.0,
                                      "mawop_c_psi": 500.0}
            wells.append(entry)
            for t in by_well[tmpl]:
                if t.device != "annuli1":
                    add(t, t.name.replace(tmpl, wid, 1), wid)
            if wtype in ANNULI:  # every lift well gets the annulus monitor's rows
                for t in by_well["W101"]:
                    if t.device == "annuli1":
                        add(t, t.name.replace("W101", wid, 1), wid)
            if wtype == "rod_pump":
                rod.append(wid)
    for t in by_well[None]:  # the test separator's own tags, once
        add(t, t.name, None)
    gw = {"gateway": {"site": "bench", "language": "en"},
          "paths": {"runtime_dir": str(root / "run"), "state_dir": str(root / "state"),
                    "tagmap_dir": str(root / "tagmaps")},
          "scan": {"fast": {"interval": 1.0}, "slow": {"interval": 10.0}},
          "device": [{"name": "bench", "protocol": "modbus-tcp", "host": "127.0.0.1",
                      "unit": 1}],
          "well": wells, "service": {"calcd": {"metrics_port": 0}}}
    cfg = root / "gateway.toml"
    cfg.write_text(tomli_w.dumps(gw))
    (root / "tagmaps").mkdir(parents=True, exist_ok=True)
    write_tagmap_csv(tags, root / "tagmaps" / "bench.csv")
    return cfg, values, rod


class FakeAcqd:
    """Writes acq.ring like acqd: every scalar each second, cards every 10 s per well."""

    def __init__(self, config: Any, values: dict[str, Any], rod: list[str]) -> None:
        tagmap = load_tagmaps(sorted(config.paths.tagmap_dir.glob("*.csv")),
                              TagMapContext.from_config(config))
        config.paths.runtime_dir.mkdir(parents=True, exist_ok=True)
        self.ring = RingWriter.create(config.paths.runtime_dir / "acq.ring",
                                      [SlotSpec(t.name, t.count if t.is_array else 0, t.units)
                                       for t in tagmap], tagmap_version=1, history_depth=60)
        names = [t.name for t in tagmap]
        self.scalars = np.array([k for k, t in enumerate(tagmap) if not t.is_array])
        self.base = np.array([float(values[names[k]]) if isinstance(values.get(names[k]),
                                                                    int | float | bool)
                              else 0.0 for k in self.scalars])
        self.rng = np.random.default_rng(1)
        self.cards = [(self.ring.index_of(f"{w}.CARD_POSITION"),
                       self.ring.index_of(f"{w}.CARD_LOAD"),
                       int(np.flatnonzero(self.scalars == self.ring.index_of(
                           f"{w}.CARD_SEQUENCE"))[0])) for w in rod]
        first = rod[0]
        self.card_pos = np.asarray(values[f"{first}.CARD_POSITION"], dtype=float)
        self.card_load = np.asarray(values[f"{first}.CARD_LOAD"], dtype=float)
        self.seq = np.zeros(len(rod))
        self.jitter = np.ones(self.base.size)  # counters and codes are written exactly
        for i, t in enumerate(k for k, t in enumerate(tagmap) if not t.is_array):
            kind = tagmap.tags[t]
            if kind.type in ("bool", "bit", "uint16", "uint32") and kind.scale == 1.0:
                self.jitter[i] = 0.0
        self.cpu = 0.0

    def write(self, cycle: int, ts_ns: int, every: int = CARD_EVERY_S) -> int:
        t0 = time.thread_time()
        for j, (ip, il, iseq) in enumerate(self.cards):
            if (j + cycle) % every == 0:
                self.seq[j] += 1
                self.base[iseq] = self.seq[j]
                gain = 1.0 + 0.01 * self.rng.standard_normal()
                self.ring.write_array(ip, self.card_pos, ts_ns, 0)
                self.ring.write_array(il, self.card_load * gain, ts_ns, 0)
        noisy = self.base * (1.0 + 0.001 * self.jitter
                             * self.rng.standard_normal(self.base.size))
        self.ring.write_batch(self.scalars, noisy, ts_ns, 0)
        self.cpu += time.thread_time() - t0
        return sum(1 for j in range(len(self.cards)) if (j + cycle) % every == 0)


def start_calcd(config: Any) -> Calculations:
    ctx = ServiceContext("calcd", config, Path(config.source), log=get_logger("bench"),
                         metrics=DaemonMetrics("calcd", "bench", process=False),
                         notifier=SystemdNotifier(None), status=None)
    comp = Calculations(config)
    asyncio.run(comp.start(ctx))
    return comp


def run_realtime(comp: Calculations, fake: FakeAcqd, seconds: int) -> dict[str, float]:
    """The real loop at 1 Hz for `seconds`: CPU of calcd (all its threads)."""
    cpu0, wall0 = time.process_time(), time.monotonic()
    fake_cpu0 = fake.cpu
    results = cards = 0
    cycle_cpu = []
    tick = math.floor(time.time()) + 1
    for k in range(seconds):
        time.sleep(max(tick + 0.5 - time.time(), 0.0))
        cards += fake.write(k, tick * 10**9)
        c0 = time.thread_time()
        results += comp.cycle(time.time_ns(), tick * 10**9)
        if comp.state is not None and comp.state.due() and comp.engine is not None:
            comp.state.save(comp.engine.export_state())
        cycle_cpu.append(time.thread_time() - c0)
        tick += 1
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0 - (fake.cpu - fake_cpu0)
    return {"pct": 100.0 * cpu / wall, "results_s": results / wall, "cards_s": cards / wall,
            "cycle_ms": 1000.0 * float(np.median(cycle_cpu)),
            "cycle_max_ms": 1000.0 * max(cycle_cpu)}


def per_type(engine: Engine, fake: FakeAcqd, reader: RingReader, cycles: int) -> dict:
    """CPU and results per well type (each calculation timed), not in real time."""
    cpu: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    types = {g.calc.DEF.key: g.calc.DEF.well_type for g in engine.groups}
    spec_type = [types[s.calc] for s in engine.specs]
    for g in engine.groups:
        original = g.calc.compute

        def timed(b: Any, original: Any = original, key: str = g.calc.DEF.key) -> None:
            t0 = time.thread_time()
            original(b)
            cpu[types[key]] += time.thread_time() - t0

        g.calc.compute = timed  # type: ignore[method-assign]
    tick = int(time.time()) + 1000
    for k in range(cycles):
        fake.write(k, (tick + k) * 10**9)
        snap = reader.snapshot()

        def array(name: str) -> Any:
            return reader.array(name)

        out = engine.cycle(Frame(snap.names, snap.values, snap.ts_ns, snap.quality, array),
                           (tick + k) * 10**9)
        for s in np.flatnonzero(out.dirty):
            count[spec_type[s]] += 1
        for s in out.arrays:
            count[spec_type[s]] += 1
        engine.published()
    return {t: (count[t] / cycles, 1000.0 * cpu[t] / cycles) for t in cpu}


def cards_per_core_second(engine: Engine, fake: FakeAcqd, reader: RingReader,
                          cycles: int) -> tuple[float, float]:
    """Every rod-pump well gets a new card each cycle: cards per CPU second of the card
    calculation alone, and of the whole cycle."""
    group = next(g for g in engine.groups if isinstance(g.calc, RodPumpCard))
    n = len(group.calc.wells)
    card_cpu = 0.0
    original = group.calc.compute

    def timed(b: Any) -> None:
        nonlocal card_cpu
        t0 = time.thread_time()
        original(b)
        card_cpu += time.thread_time() - t0

    group.calc.compute = timed  # type: ignore[method-assign]
    tick = int(time.time()) + 5000
    total = 0.0
    for k in range(cycles):
        fake.write(k, (tick + k) * 10**9, every=1)
        t0 = time.thread_time()
        snap = reader.snapshot()
        engine.cycle(Frame(snap.names, snap.values, snap.ts_ns, snap.quality, reader.array),
                     (tick + k) * 10**9)
        engine.published()
        total += time.thread_time() - t0
    return n * cycles / card_cpu, n * cycles / total


def naive(config: Any, reader: RingReader, fake: FakeAcqd, cycles: int) -> float:
    """Per well, per tag: a fresh ring snapshot for every input, an engine of one well,
    results written well by well.  Returns CPU ms per cycle."""
    tagmap = load_tagmaps(sorted(config.paths.tagmap_dir.glob("*.csv")),
                          TagMapContext.from_config(config))
    engines = [Engine(dataclasses.replace(config, wells={w: config.wells[w]}), tagmap,
                      CALCULATIONS) for w in config.wells]
    out = RingWriter.create(config.paths.runtime_dir / "naive.ring",
                            [SlotSpec(s.name, s.length, s.units) for e in engines
                             for s in e.specs], tagmap_version=1, history_depth=60)
    offsets = np.cumsum([0] + [len(e.specs) for e in engines])
    wanted = [sorted({n for g in e.groups for ns in g.tags.values() for n in ns if n})
              for e in engines]
    tick = int(time.time()) + 9000
    total = 0.0
    for k in range(cycles):
        fake.write(k, (tick + k) * 10**9)
        t0 = time.thread_time()
        for e, names, off in zip(engines, wanted, offsets, strict=False):
            vals, ts, q = [], [], []
            for name in names:
                snap = reader.snapshot()  # the whole ring, for one tag
                v, t, qq = snap.get(name)
                vals.append(v)
                ts.append(t)
                q.append(qq)
            frame = Frame(tuple(names), np.array(vals), np.array(ts, np.int64),
                          np.array(q, np.uint32), reader.array)
            res = e.cycle(frame, (tick + k) * 10**9)
            idx = np.flatnonzero(res.dirty & np.array([s.length == 0 for s in e.specs]))
            if len(idx):
                out.write_batch(idx + off, res.values[idx], res.ts_ns[idx], res.quality[idx])
            for slot, (a, t_, qq) in res.arrays.items():
                out.write_array(int(slot + off), a, t_, qq)
            e.published()
        total += time.thread_time() - t0
    out.close()
    return 1000.0 * total / cycles


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=30, help="real-time 1 Hz cycles (30)")
    ap.add_argument("--wells", type=int, default=200, help="total wells, mix kept (200)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)
    configure_logging("console", "error", stream=sys.stderr)
    root = Path(tempfile.mkdtemp(prefix="bench-calcd-", dir="/dev/shm"
                                 if Path("/dev/shm").is_dir() else None))
    try:
        cfg_path, values, rod = build_site(root, args.wells / 200.0)
        config = load_config(cfg_path)
        fake = FakeAcqd(config, values, rod)
        comp = start_calcd(config)
        assert comp.engine is not None
        mix = ", ".join(f"{sum(1 for w in config.wells.values() if w.type == t)} {t}"
                        for t, *_ in MIX)
        stopped = len({(p.well, p.calc) for p in comp.engine.problems})
        # start-up out of the measurement: numba's kernel, the weight tables, every well's
        # first card (all pending at start)
        now = int(time.time())
        fake.write(0, now * 10**9)
        comp.cycle(time.time_ns(), now * 10**9)
        loop = run_realtime(comp, fake, args.seconds)
        reader = RingReader(config.paths.runtime_dir / "acq.ring")
        naive_ms = naive(config, reader, fake, 3)
        print(f"calcd 1 Hz loop, {len(config.wells)} mixed wells: {loop['pct']:.2f} % of one "
              f"core (target <= 10 %); naive per-well loop reading the ring per tag: "
              f"{naive_ms / 10:.1f} % ({naive_ms / 10 / loop['pct']:.0f}x more)")
        print(f"  wells: {mix}; {len(comp.engine.specs)} result tags; "
              f"{stopped} (well, calculation) pairs stopped for missing inputs")
        print(f"  cycle CPU median {loop['cycle_ms']:.2f} ms, max {loop['cycle_max_ms']:.1f} "
              f"ms (main thread); {loop['results_s']:.0f} results/s published; "
              f"{loop['cards_s']:.1f} new cards/s")
        engine = Engine(config, comp.engine.tagmap, CALCULATIONS)
        alone, whole = cards_per_core_second(engine, fake, reader, 5)
        print(f"rod-pump cards per core-second: {alone:,.0f} (card calculation alone; target "
              f">= 1,000); {whole:,.0f} counting the whole cycle with every rod-pump well "
              "on a new card")
        table = per_type(Engine(config, comp.engine.tagmap, CALCULATIONS), fake, reader, 20)
        print("results per second by well type (1 Hz cycle; cards every 10 s):")
        for t, (n, ms) in sorted(table.items(), key=lambda kv: -kv[1][0]):
            rate = n / (ms / 1000.0) if ms > 0 else float("inf")
            print(f"  {t:<14} {n:7.1f} results/s  {ms:6.2f} ms CPU/s  "
                  f"{rate:10,.0f} results per core-second")
        asyncio.run(comp.close())
        reader.close()
        fake.ring.close()
    finally:
        if args.keep:
            print(f"work directory kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
