"""Writer and reader processes for the cross-process ring test (run as a script).

    python ring_hammer.py writer PATH SECONDS [--relayout N]
    python ring_hammer.py reader PATH SECONDS

Each prints {"ready": true} once set up and starts its clock at the next line on stdin.

Every value of batch k encodes k and the tag's own number j (taken from its name, so it
survives re-layouts that move tags): value = k * M + j, ts = k, quality = k & 0xFFFF.  A
snapshot is whole iff every written slot decodes to the same k and its own j.  Each
process prints one JSON line with its counts.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from daemons.core.quality import Quality
from daemons.core.ring import RingReader, RingWriter, SlotSpec

M = 1 << 20  # k * M + j stays exact in float64 for k < 2**33
N = 1500
CARD = 64
WAITING = int(Quality.BAD_WAITING_FOR_INITIAL_DATA)


def tag_number(name: str) -> int:
    return int(name[1:])


def layout(version: int) -> list[SlotSpec]:
    """Version 1: t0..t1499.  Later versions drop a few, add new ones, and reorder."""
    names = [f"t{j}" for j in range(N)]
    if version > 1:
        names = [n for n in names if tag_number(n) % 7 != version % 7]
        names += [f"u{N + 100 * version + j}" for j in range(40)]
        names = names[::-1] if version % 2 else sorted(names)
    return [SlotSpec(n, units="psi") for n in names] + [SlotSpec("card", CARD, "lbf")]


def tag_numbers(names: tuple[str, ...], is_array: np.ndarray) -> np.ndarray:
    return np.array([0 if a else tag_number(n) for n, a in zip(names, is_array, strict=True)])


def check_snapshot(names: tuple[str, ...], values: np.ndarray, ts: np.ndarray,
                   quality: np.ndarray, is_array: np.ndarray,
                   j: np.ndarray | None = None) -> str | None:
    """None if the snapshot is whole (one batch), else what is wrong."""
    scalar = ~is_array
    j = tag_numbers(names, is_array) if j is None else j
    written = scalar & (quality != WAITING)
    waiting = scalar & (quality == WAITING)
    if not (np.isnan(values[waiting]).all() and (ts[waiting] == 0).all()):
        return "a waiting slot has a value"
    ks = np.unique(ts[written])
    if ks.size > 1:
        return f"mixed batches {ks[:5].tolist()}"
    if ks.size == 1:
        k = int(ks[0])
        if not np.array_equal(values[written], k * M + j[written].astype(np.float64)):
            return f"values do not all encode batch {k} and their own tag"
        if not (quality[written] == (k & 0xFFFF)).all():
            return f"quality does not encode batch {k}"
    return None


def wait_for_go() -> None:
    """Say we are set up, then start when the test says so (all processes together)."""
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()


def writer(path: Path, seconds: float, relayouts: int) -> dict:
    version = 1
    w = RingWriter.create(path, layout(version), tagmap_version=version, history_depth=32)
    wait_for_go()
    rng = np.random.default_rng(1)
    start = time.monotonic()
    end = start + seconds
    k = 0
    plan = None
    while (now := time.monotonic()) < end:
        due = int((now - start) / seconds * (relayouts + 1)) + 1
        if due > version:
            version = due
            new = RingWriter.create(path, layout(version), tagmap_version=version,
                                    history_depth=32 - version)
            w.close()
            w = new
            plan = None
        if plan is None:
            idx = w.indices([n for n in w.names if n != "card"])
            shuffled = rng.permutation(idx)  # the store order must not matter
            plan = [(i, np.array([tag_number(w.names[x]) for x in i], dtype=np.float64))
                    for i in (idx, shuffled)]
        k += 1
        idx, j = plan[k % 2]
        w.write_batch(idx, k * M + j, k, k & 0xFFFF)
        if k % 5 == 0:
            w.write_array(w.index_of("card"), k * M + np.arange(CARD, dtype=np.float64), k,
                          k & 0xFFFF)
    w.close()
    return {"batches": k, "versions": version}


def reader(path: Path, seconds: float) -> dict:
    r = RingReader(path, busy_timeout=5.0)
    wait_for_go()
    end = time.monotonic() + seconds
    out = {"snapshots": 0, "torn": 0, "backwards": 0, "histories": 0, "torn_history": 0,
           "arrays": 0, "torn_array": 0, "versions": [], "problems": []}
    last_gen = -1
    versions = set()
    rng = np.random.default_rng()
    names, j = (), np.zeros(0)
    while time.monotonic() < end:
        s = r.snapshot()
        out["snapshots"] += 1
        versions.add(s.tagmap_version)
        if s.generation < last_gen:
            out["backwards"] += 1
        last_gen = s.generation
        if s.names is not names:
            names, j = s.names, tag_numbers(s.names, s.is_array)
        bad = check_snapshot(s.names, s.values, s.ts_ns, s.quality, s.is_array, j)
        if bad:
            out["torn"] += 1
            out["problems"] = (out["problems"] + [bad])[:5]
        if out["snapshots"] % 10 == 0:
            name = s.names[int(rng.integers(len(s.names) - 1))]
            try:
                ts, values, quality = r.history(name)
            except KeyError:  # the file was replaced since the snapshot and dropped it
                continue
            out["histories"] += 1
            if ts.size and not (np.array_equal(np.diff(ts), np.ones(ts.size - 1))
                                and np.array_equal(values, ts * M + float(tag_number(name)))
                                and np.array_equal(quality, ts & 0xFFFF)):
                out["torn_history"] += 1
            values, ts_a, q, seq = r.array("card")
            out["arrays"] += 1
            if seq and not (np.array_equal(values, ts_a * M + np.arange(CARD))
                            and q == ts_a & 0xFFFF):
                out["torn_array"] += 1
    out["versions"] = sorted(versions)
    out["reopened"] = r.reopened
    out["rejected"] = r.rejected
    r.close()
    return out


if __name__ == "__main__":
    role, where, secs = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
    if role == "writer":
        n_relayouts = int(sys.argv[5]) if len(sys.argv) > 5 else 0
        result = writer(where, secs, n_relayouts)
    else:
        result = reader(where, secs)
    print(json.dumps(result), flush=True)
