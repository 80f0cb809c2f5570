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

Then the latency from a value change in acqd's ring to the alarm's new state in alarmd's
ring (the journal row is committed durably before that publication): alarmd runs as a
real process, this script writes `acq.ring` as acqd would and flips one value across an
alarm limit `--flips` times, timing each flip until alarm.ring shows it.
Target: p50 <= 30 ms, p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from daemons.alarmd.engine import Engine
from daemons.core.alarms import AlarmDef, AlarmSet, alarm_dir, evaluate, parse_condition
from daemons.core.quality import Quality
from daemons.core.ring import RingReader, RingWriter, SlotSpec
from daemons.core.tagmap import store

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
    ap.add_argument("--flips", type=int, default=100, help="value changes timed end to end")
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
    if args.flips:
        latency(args.flips)


GATEWAY = """[gateway]
site = "bench"
[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"
[service.alarmd]
metrics_port = 0
"""


def latency(flips: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-alarmd-"))
    (root / "run").mkdir()
    (root / "gateway.toml").write_text(GATEWAY)
    src = root / "bench.csv"
    src.write_text("tag,type,limit,priority\nB.P,hi,10,high\n")
    store.apply(alarm_dir(root / "tagmaps"), {"bench.csv": src})
    acq = RingWriter.create(root / "run" / "acq.ring", [SlotSpec("B.P")], tagmap_version=1,
                            history_depth=10)
    idx = acq.indices(["B.P"])
    acq.write_batch(idx, np.array([0.0]), time.time_ns(), int(Quality.GOOD))
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    proc = subprocess.Popen([sys.executable, "-m", "daemons.alarmd", "--config",
                             str(root / "gateway.toml")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (root / "run" / "alarm.ring").exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("alarmd did not start")
            time.sleep(0.05)
        reader = RingReader(root / "run" / "alarm.ring")
        times = []
        for k in range(flips):
            value, expect = (11.0, 1.0) if k % 2 == 0 else (0.0, 3.0)  # unack <-> rtn-unack
            t0 = time.perf_counter()
            acq.write_batch(idx, np.array([value]), time.time_ns(), int(Quality.GOOD))
            while reader.snapshot().get("B.P.ALARM.HI")[0] != expect:
                if time.perf_counter() - t0 > 5:
                    raise SystemExit(f"flip {k}: no alarm state after 5 s")
                time.sleep(0.0005)
            times.append(time.perf_counter() - t0)
            time.sleep(0.03 + 0.01 * (k % 3))  # not in step with alarmd's polling
        reader.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        acq.close()
    ms = np.array(times) * 1000
    print(f"latency acq.ring -> journal + alarm.ring ({flips} flips): p50 "
          f"{np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms, max "
          f"{ms.max():.1f} ms  target p50 <= 30, p99 <= 100")


if __name__ == "__main__":
    main()
