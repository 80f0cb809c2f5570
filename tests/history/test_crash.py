"""kill -9 during ingest: nothing durable is lost, nothing unappended appears, no corruption.

A child process ingests deterministic samples (tests/history/crash_ingest.py) and prints
each tick it appended and each tick a returned flush covered; the test SIGKILLs it at an
arbitrary moment, then opens the database the way a restarted acqd would.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from daemons.core.history.codec import decode_chunk, decode_staging

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
TAGS = 300
CHILD = Path(__file__).with_name("crash_ingest.py")
ROOT = Path(__file__).resolve().parents[2]


def _all_samples(path: Path) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every stored sample per series id, from chunks and staging, sorted by time."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        parts: dict[int, list] = {}
        for sid, codec, data in conn.execute("SELECT series_id, codec, data FROM chunks"):
            parts.setdefault(sid, []).append(decode_chunk(codec, data, "int"))
        for codec, data in conn.execute("SELECT codec, data FROM staging"):
            sid, ts, v, q = decode_staging(codec, data)
            for s in np.unique(sid):
                m = sid == s
                parts.setdefault(int(s), []).append((ts[m], v[m].astype(np.int64), q[m]))
    finally:
        conn.close()
    out = {}
    for sid, chunks in parts.items():
        ts = np.concatenate([c[0] for c in chunks])
        order = np.argsort(ts, kind="stable")
        out[sid] = tuple(np.concatenate([c[i] for c in chunks])[order] for i in range(3))
    return out


def _run_and_kill(path: Path, first: int, min_flushes: int) -> tuple[int, int]:
    """Start the child, SIGKILL it after some flushes; (last flushed, last appended)."""
    proc = subprocess.Popen([sys.executable, str(CHILD), str(path), str(first), str(TAGS)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    flushed, appended, flushes = -1, -1, 0
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        for line in proc.stdout:
            word, k = line.split()
            if word == "FLUSHED":
                flushed, flushes = int(k), flushes + 1
            else:
                appended = int(k)
            # Kill at a moment unrelated to flushes: mid-append, mid-flush or mid-fold.
            if flushes >= min_flushes and appended % 17 == 5:
                proc.send_signal(signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "child made too little progress"
        # Whatever it printed before dying also happened.
        for line in proc.stdout:
            word, k = line.split()
            if word == "FLUSHED":
                flushed = int(k)
            else:
                appended = int(k)
    finally:
        proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return flushed, appended


def _check(path: Path, flushed: int, appended: int) -> int:
    """Every tick ≤ flushed is there exactly, nothing > appended; returns last stored tick."""
    samples = _all_samples(path)
    assert len(samples) == TAGS
    last = None
    for sid, (ts, v, q) in samples.items():
        ticks = (ts - T0) // NS
        assert np.array_equal(ticks, np.arange(len(ticks))), "a gap or duplicate appeared"
        assert ticks[-1] >= flushed, "lost samples that a returned flush had made durable"
        assert ticks[-1] <= appended, "samples that were never appended"
        assert np.array_equal(v, (ticks * 7 + sid - 1) % 65536)
        assert np.array_equal(q != 0, ticks % 23 == 0)
        last = int(ticks[-1]) if last is None else min(last, int(ticks[-1]))
    return last


def test_kill_9_during_ingest_loses_at_most_the_unflushed_tail(tmp_path):
    db = tmp_path / "history.db"
    first = 0
    for round_ in range(3):  # the restarts also fold windows staged before each kill
        flushed, appended = _run_and_kill(db, first, min_flushes=8 + 4 * round_)
        assert flushed >= first
        last = _check(db, flushed, appended)
        first = last + 1
    conn = sqlite3.connect(db)
    try:
        # The windows closed during the rounds were folded into per-tag chunks.
        assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] >= TAGS
    finally:
        conn.close()
