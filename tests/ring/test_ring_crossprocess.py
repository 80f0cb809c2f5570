"""The proof that counts: one writer process hammering batches, three reader processes
taking snapshots as fast as they can, every snapshot checked whole (see ring_hammer.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from daemons.core.ring import RingReader, RingWriter

sys.path.insert(0, str(Path(__file__).parent))
import ring_hammer

HAMMER = Path(__file__).with_name("ring_hammer.py")
SECONDS = 2.5
READERS = 3


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HAMMER), *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def _ready(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()
    assert json.loads(line) == {"ready": True}, line


def _result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=SECONDS + 30)
    assert proc.returncode == 0, out
    return json.loads(out.strip().splitlines()[-1])


def _hammer(tmp_path: Path, relayouts: int) -> tuple[dict, list[dict]]:
    path = tmp_path / "acq.ring"
    procs: list[subprocess.Popen] = []
    try:
        writer = _start("writer", str(path), str(SECONDS), "--relayout", str(relayouts))
        procs.append(writer)
        _ready(writer)  # the file exists from here on
        for _ in range(READERS):
            procs.append(_start("reader", str(path), str(SECONDS)))
        for p in procs[1:]:
            _ready(p)
        for p in procs:  # everybody starts the clock together
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [_result(p) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return results[0], results[1:]


def _assert_whole(writer: dict, readers: list[dict]) -> None:
    report = json.dumps({"writer": writer, "readers": readers}, indent=1)
    assert writer["batches"] > 1000, report
    for r in readers:
        assert r["snapshots"] > 500, report
        assert r["histories"] > 50 and r["arrays"] > 50, report
        assert r["torn"] == 0 and r["problems"] == [], report
        assert r["torn_history"] == 0 and r["torn_array"] == 0, report
        assert r["backwards"] == 0, report
    print(report)


@pytest.mark.timeout(60)
def test_readers_never_see_a_torn_or_older_batch(tmp_path):
    writer, readers = _hammer(tmp_path, relayouts=0)
    _assert_whole(writer, readers)
    assert all(r["versions"] == [1] and r["reopened"] == 0 for r in readers)


@pytest.mark.timeout(60)
def test_readers_follow_relayouts_while_hammered(tmp_path):
    writer, readers = _hammer(tmp_path, relayouts=3)
    _assert_whole(writer, readers)
    assert writer["versions"] == 4
    for r in readers:
        assert r["versions"] == [1, 2, 3, 4], r
        assert r["reopened"] == 3, r


def test_the_checker_catches_a_mixed_batch(tmp_path):
    """The hammer's whole-ness check must be able to fail: feed it two batches mixed."""
    path = tmp_path / "acq.ring"
    with RingWriter.create(path, ring_hammer.layout(1), tagmap_version=1) as w:
        idx = w.indices([f"t{j}" for j in range(ring_hammer.N)])
        j = np.arange(ring_hammer.N, dtype=np.float64)
        with RingReader(path) as r:
            w.write_batch(idx, 7 * ring_hammer.M + j, 7, 7)
            a = r.snapshot()
            w.write_batch(idx, 8 * ring_hammer.M + j, 8, 8)
            b = r.snapshot()
    check = ring_hammer.check_snapshot
    assert check(a.names, a.values, a.ts_ns, a.quality, a.is_array) is None
    assert check(b.names, b.values, b.ts_ns, b.quality, b.is_array) is None
    half = ring_hammer.N // 2
    mixed = [np.concatenate([x[:half], y[half:]]) for x, y in
             ((a.values, b.values), (a.ts_ns, b.ts_ns), (a.quality, b.quality))]
    assert "mixed batches" in check(a.names, *mixed, a.is_array)
    shifted = np.roll(b.values[:ring_hammer.N], 1)
    values = np.concatenate([shifted, b.values[ring_hammer.N:]])
    assert "encode" in check(b.names, values, b.ts_ns, b.quality, b.is_array)
    wrong_q = b.quality.copy()
    wrong_q[3] = 9
    assert "quality" in check(b.names, b.values, b.ts_ns, wrong_q, b.is_array)
