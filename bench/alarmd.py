"""alarmd benchmark (issue 11): alarm evaluations per second, vectorised engine against a
naive per-alarm Python loop measured in the same run on the same inputs.

    .venv/bin/python bench/alarmd.py [--alarms 100000] [--ticks 20] [--naive 10000]

Alarms are a mix of every type (hi, hihi, lo, lolo, deviation from a set-point tag, roc,
state, event, quality) over 1,000 wells, one in five with a per-well `suppress_when`;
values random-walk between ticks so that some alarms rise, chatter within their deadband
and clear, and now and then a well stops or starts.  Reported: evaluations/s (alarms ×
ticks / CPU seconds of `Engine.evaluate`, one core) and the naive loop's rate; the naive
loop's active flags are checked equal to the engine's on the alarms both evaluate.
Target (issue 11): >= 100,000 evaluations/s on one core.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from daemons.alarmd.engine import Engine
from daemons.core.alarms import AlarmDef, AlarmSet, evaluate, parse_condition

KINDS = ("hi", "hihi", "lo", "lolo", "deviation", "roc", "state", "event", "quality")
WELLS = 1000


def make_alarms(n: int) -> tuple[AlarmDef, ...]:
    out = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        well = f"W{i % WELLS}"
        tag = f"{well}.T{i}"
        kw: dict = {"deadband": 1.0, "on_delay": float(i % 3), "off_delay": float(i % 2)}
        if kind in ("hi", "hihi"):
            kw["limit"] = 60.0
        elif kind in ("lo", "lolo"):
            kw["limit"] = 40.0
        elif kind == "deviation":
            kw.update(limit_tag=f"{well}.SP", band=8.0)
        elif kind == "roc":
            kw["limit"] = 120.0
        elif kind == "state":
            kw["limit"] = 1.0
        if i % 5 == 0:
            text = f"{well}.RUNNING == 0"
            kw.update(suppress_when=text, condition=parse_condition(text))
        out.append(AlarmDef(tag, kind, "high", **kw))
    return tuple(out)


class Naive:
    """What a first version would write: one Python object walk per alarm per tick."""

    def __init__(self, alarms: tuple[AlarmDef, ...]) -> None:
        self.alarms = alarms
        self.state = [{"raw": False, "active": False, "pending": None, "clearing": None,
                       "prev": None} for _ in alarms]

    def tick(self, now: float, values: dict[str, float]) -> None:
        for a, s in zip(self.alarms, self.state, strict=True):
            v = values.get(a.tag)
            if a.condition is not None:
                evaluate(a.condition, values.get)  # the naive loop re-evaluates per alarm
            if v is None or math.isnan(v):
                cond = a.type == "quality" or s["raw"]
            elif a.type == "quality":
                cond = False
            elif a.type in ("state", "event"):
                cond = v == a.limit if a.limit is not None else v != 0
            else:
                if a.type == "roc":
                    prev, s["prev"] = s["prev"], (now, v)
                    if prev is None or now <= prev[0]:
                        cond = s["raw"]
                        over = None
                    else:
                        over = abs(v - prev[1]) / (now - prev[0]) * 60 - a.limit
                elif a.type == "deviation":
                    sp = values[a.limit_tag]
                    over = None if math.isnan(sp) else abs(v - sp) - a.band
                    cond = s["raw"]  # a Bad set point holds the condition
                elif a.type in ("hi", "hihi"):
                    over = v - a.limit
                else:
                    over = a.limit - v
                if over is not None:
                    cond = over > -a.deadband if s["raw"] else over >= 0
            s["raw"] = cond
            if cond and not s["active"]:
                s["clearing"] = None
                s["pending"] = now if s["pending"] is None else s["pending"]
                if now - s["pending"] >= a.on_delay:
                    s["active"], s["pending"] = True, None
            elif not cond and s["active"]:
                s["pending"] = None
                s["clearing"] = now if s["clearing"] is None else s["clearing"]
                if now - s["clearing"] >= a.off_delay:
                    s["active"], s["clearing"] = False, None
            else:
                s["pending"] = s["clearing"] = None


def inputs(engine: Engine, rng: np.random.Generator, values: np.ndarray | None) -> np.ndarray:
    n = len(engine.inputs)
    first = values is None
    if values is None:
        values = rng.uniform(30, 70, n)
    old = values
    values = values + rng.normal(0, 0.5, n)  # a field: most values move a little per tick
    for i, t in enumerate(engine.inputs):  # flags and set points stay in their range
        if t.endswith(".RUNNING"):
            # A tenth of the wells stopped; now and then one starts or stops.
            values[i] = float(rng.random() < 0.9) if first else \
                (1.0 - old[i]) if rng.random() < 0.002 else old[i]
        elif t.endswith(".SP"):
            values[i] = 50.0
    return values


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alarms", type=int, default=100_000)
    ap.add_argument("--ticks", type=int, default=20)
    ap.add_argument("--naive", type=int, default=10_000, help="alarms for the naive loop")
    args = ap.parse_args()
    alarms = make_alarms(args.alarms)
    t0 = time.perf_counter()
    engine = Engine(AlarmSet(alarms))
    build = time.perf_counter() - t0
    naive_n = min(args.naive, args.alarms)
    naive = Naive(alarms[:naive_n])
    rng = np.random.default_rng(11)
    values = None
    cpu = naive_cpu = 0.0
    transitions = 0
    # The state/event alarms' tags hold 0/1 in a tenth of the ticks.
    for tick in range(args.ticks):
        values = inputs(engine, rng, values)
        good = rng.random(len(values)) > 0.001
        now = float(tick)
        t = time.process_time()
        transitions += len(engine.evaluate(now, values, good, np.full(len(values), now)))
        cpu += time.process_time() - t
        named = {name: (float(values[i]) if good[i] else math.nan)
                 for i, name in enumerate(engine.inputs)}
        t = time.process_time()
        naive.tick(now, named)
        naive_cpu += time.process_time() - t
        mismatch = sum(bool(engine.active[i]) != s["active"]
                       for i, s in enumerate(naive.state))
        if mismatch:
            raise SystemExit(f"tick {tick}: {mismatch} alarms differ between engine and naive")
    rate = args.alarms * args.ticks / cpu
    naive_rate = naive_n * args.ticks / naive_cpu
    print(f"alarms {args.alarms:,}, inputs {len(engine.inputs):,}, ticks {args.ticks}, "
          f"engine built in {build:.2f} s, {transitions / args.ticks:,.0f} transitions/tick")
    print(f"engine: {rate:,.0f} evaluations/s ({cpu / args.ticks * 1000:.1f} ms CPU per tick "
          f"of {args.alarms:,} alarms)  target >= 100,000")
    print(f"naive per-alarm loop ({naive_n:,} alarms): {naive_rate:,.0f} evaluations/s  "
          f"-> engine x{rate / naive_rate:.1f}; active flags equal on every tick")


if __name__ == "__main__":
    main()
