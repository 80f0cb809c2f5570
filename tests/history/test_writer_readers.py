"""Concurrent readers: a read-only connection in another process while the writer ingests,
flushes and folds windows — never blocked for long, never sees a sample twice or missing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from daemons.core.history.writer import HistoryWriter

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
ROOT = Path(__file__).resolve().parents[2]

READER = r"""
import sys, time
import numpy as np
from daemons.core.history.codec import decode_chunk, decode_staging
from daemons.core.history.schema import MIGRATIONS
from daemons.core.store.sqlite import open_db

conn = open_db(sys.argv[1], migrations=MIGRATIONS, readonly=True)
conn.isolation_level = None
sid = int(sys.argv[2])
stop = time.monotonic() + float(sys.argv[3])
reads, last = 0, 0
while time.monotonic() < stop:
    conn.execute("BEGIN")  # one snapshot: a fold moves rows from staging to chunks
    parts = [decode_chunk(c, d, "int")[0] for c, d in conn.execute(
        "SELECT codec, data FROM chunks WHERE series_id = ?", (sid,))]
    for c, d in conn.execute("SELECT codec, data FROM staging"):
        s, ts, _, _ = decode_staging(c, d)
        parts.append(ts[s == sid])
    conn.execute("COMMIT")
    ts = np.sort(np.concatenate(parts)) if parts else np.empty(0, np.int64)
    ticks = (ts - int(sys.argv[4])) // 1_000_000_000
    if not np.array_equal(ticks, np.arange(len(ticks))):
        print("BROKEN", ticks[:5], len(ticks), flush=True)
        sys.exit(1)
    if len(ticks) < last:
        print("SHRANK", last, len(ticks), flush=True)
        sys.exit(1)
    last, reads = len(ticks), reads + 1
print("OK", reads, last, flush=True)
"""


def test_reader_process_sees_consistent_growing_history(tmp_path):
    db = tmp_path / "history.db"
    w = HistoryWriter(db, chunk_s=10, flush_s=0.02, close_grace_s=0, fold_blocks_per_flush=1)
    ids = w.ensure_series([(f"t{i}", "int", 1, 0, "") for i in range(1000)])
    w.flush()
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db), str(int(ids[-1])), "2.5", str(T0)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        k, stop = 0, time.monotonic() + 3.0
        while time.monotonic() < stop or reader.poll() is None:
            w.append(ids, T0 + k * NS, np.full(len(ids), k), 0)
            w.maybe_flush()
            k += 1
            time.sleep(0.002)
            assert time.monotonic() < stop + 10
        out, _ = reader.communicate(timeout=10)
    finally:
        reader.kill()
        reader.wait()
        w.close()
    word, reads, seen = out.split()
    assert word == "OK" and reader.returncode == 0, out
    assert int(reads) > 5 and int(seen) > 30
    assert k > 50  # the writer kept ingesting while the reader read
