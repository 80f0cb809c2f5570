"""Ring benchmark: 100,000-tag batches and snapshots, against a plain-dict baseline.

    .venv/bin/python bench/ring.py [--tags 100000] [--depth 600] [--rounds 100]

Prints medians (ms) of: writing one batch that updates every tag (history included) and
taking one full snapshot from another handle, for the ring and for a dict of
tag -> (value, ts, quality) tuples (update every tag; snapshot = dict copy), and the
ratios.  The ring runs in /dev/shm when present (tmpfs, like /run/wellgate on a gateway).
The first history lap touches fresh pages (tmpfs page faults); it is timed separately and
the steady-state figures come after it.  Note the RAM: tags * depth * 32 bytes of history.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from daemons.core.ring import RingReader, RingWriter, SlotSpec


def _median_ms(samples_ns: list[int]) -> float:
    return statistics.median(samples_ns) / 1e6


def bench_ring(tmp: Path, n: int, depth: int, rounds: int) -> dict[str, float]:
    path = tmp / "acq.ring"
    names = [f"W{i // 50:04d}.TAG{i % 50:02d}" for i in range(n)]
    t0 = time.perf_counter_ns()
    w = RingWriter.create(path, [SlotSpec(nm, units="psi") for nm in names],
                          tagmap_version=1, history_depth=depth)
    create_ms = (time.perf_counter_ns() - t0) / 1e6
    r = RingReader(path)
    idx = w.indices(names)
    rng = np.random.default_rng(0)
    values = rng.normal(size=n)
    lap: list[int] = []
    for k in range(max(depth, 1)):  # first lap: every history row touched once
        t0 = time.perf_counter_ns()
        w.write_batch(idx, values, k, 0)
        lap.append(time.perf_counter_ns() - t0)
    writes, snaps, small = [], [], []
    for k in range(rounds):
        values[k % n] += 1.0
        t0 = time.perf_counter_ns()
        w.write_batch(idx, values, depth + k, 0)
        t1 = time.perf_counter_ns()
        s = r.snapshot()
        t2 = time.perf_counter_ns()
        writes.append(t1 - t0)
        snaps.append(t2 - t1)
        assert s.values[k % n] == values[k % n]
    few = idx[:100]
    for k in range(rounds):
        t0 = time.perf_counter_ns()
        w.write_batch(few, values[:100], 10**9 + k, 0)
        small.append(time.perf_counter_ns() - t0)
    t0 = time.perf_counter_ns()
    for _ in range(rounds):
        r.history(names[n // 2])
    hist_ms = (time.perf_counter_ns() - t0) / 1e6 / rounds
    t0 = time.perf_counter_ns()
    w2 = RingWriter.create(path, [SlotSpec(nm) for nm in [*names, "NEW.TAG"]],
                           tagmap_version=2, history_depth=depth)
    relayout_ms = (time.perf_counter_ns() - t0) / 1e6
    assert r.snapshot().tagmap_version == 2
    w.close()
    w2.close()
    r.close()
    return {"create": create_ms, "first_lap_write": _median_ms(lap),
            "write": _median_ms(writes), "snapshot": _median_ms(snaps),
            "write_100": _median_ms(small), "history_one_tag": hist_ms,
            "relayout": relayout_ms}


def bench_dict(n: int, rounds: int) -> dict[str, float]:
    names = [f"W{i // 50:04d}.TAG{i % 50:02d}" for i in range(n)]
    live: dict[str, tuple[float, int, int]] = {nm: (float("nan"), 0, 0) for nm in names}
    values = np.random.default_rng(0).normal(size=n).tolist()
    writes, snaps = [], []
    for k in range(rounds):
        t0 = time.perf_counter_ns()
        for nm, v in zip(names, values, strict=True):
            live[nm] = (v, k, 0)
        t1 = time.perf_counter_ns()
        copy = dict(live)
        t2 = time.perf_counter_ns()
        writes.append(t1 - t0)
        snaps.append(t2 - t1)
        assert len(copy) == n
    return {"write": _median_ms(writes), "snapshot": _median_ms(snaps)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tags", type=int, default=100_000)
    ap.add_argument("--depth", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=100)
    args = ap.parse_args()
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
        ring = bench_ring(Path(tmp), args.tags, args.depth, args.rounds)
        where = tmp
    base = bench_dict(args.tags, max(10, args.rounds // 5))
    print(f"ring benchmark: {args.tags:,} tags, history depth {args.depth}, "
          f"file in {Path(where).parent} ({args.tags * args.depth * 32 / 2**20:,.0f} MiB "
          "of history)")
    print(f"  create file                           {ring['create']:9.2f} ms")
    print(f"  write batch, first history lap        {ring['first_lap_write']:9.2f} ms")
    print(f"  write batch of {args.tags:,} (steady)       {ring['write']:9.2f} ms   "
          f"dict {base['write']:9.2f} ms   dict/ring {base['write'] / ring['write']:6.1f}x")
    print(f"  full snapshot (other handle)          {ring['snapshot']:9.2f} ms   "
          f"dict {base['snapshot']:9.2f} ms   dict/ring "
          f"{base['snapshot'] / ring['snapshot']:6.1f}x")
    print(f"  write batch of 100 tags               {ring['write_100']:9.2f} ms")
    print(f"  history of one tag ({args.depth} samples)     {ring['history_one_tag']:9.3f} ms")
    print(f"  re-layout with carry-over (+1 tag)    {ring['relayout']:9.2f} ms")


if __name__ == "__main__":
    main()
