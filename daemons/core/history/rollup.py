"""1-minute and 1-hour rollups, computed vectorised when a window is folded.

Rows hold engineering values of Good samples only: min, max, sum (avg = sum / good) and the
last Good value with its time; ``count`` is every sample in the bucket whatever its quality
and ``good`` the Good ones, so a reader can tell coverage (good / count) from value.
A bucket can receive samples from several folds (a 1 h bucket spans six 10-minute windows;
a late sample re-folds a window), so rows are merged with an upsert, never replaced.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from ..quality import SEVERITY_MASK

NS = 1_000_000_000
ROLLUPS = (("rollup_1m", 60 * NS), ("rollup_1h", 3600 * NS))

# min/max must ignore NULL on either side (SQLite's scalar min(NULL, x) is NULL).
_UPSERT = """
INSERT INTO {table} (series_id, bucket_ns, min, max, sum, count, last, last_ns, good)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (series_id, bucket_ns) DO UPDATE SET
  min = CASE WHEN min IS NULL THEN excluded.min WHEN excluded.min IS NULL THEN min
             ELSE min(min, excluded.min) END,
  max = CASE WHEN max IS NULL THEN excluded.max WHEN excluded.max IS NULL THEN max
             ELSE max(max, excluded.max) END,
  sum = coalesce(sum, 0) + coalesce(excluded.sum, 0),
  count = count + excluded.count,
  good = good + excluded.good,
  last = CASE WHEN excluded.last_ns IS NOT NULL
              AND (last_ns IS NULL OR excluded.last_ns >= last_ns) THEN excluded.last ELSE last END,
  last_ns = CASE WHEN excluded.last_ns IS NOT NULL
              AND (last_ns IS NULL OR excluded.last_ns >= last_ns) THEN excluded.last_ns
              ELSE last_ns END
"""


def rollup_rows(sid: np.ndarray, ts: np.ndarray, eng: np.ndarray, quality: np.ndarray,
                bucket_ns: int) -> list[tuple]:
    """Rows (series_id, bucket, min, max, sum, count, last, last_ns, good) of one bucket size.

    ``sid``/``ts`` must be sorted by (series, time), as a folded block is.
    """
    n = len(sid)
    if n == 0:
        return []
    bucket = ts - ts % bucket_ns
    new = np.empty(n, bool)
    new[0] = True
    new[1:] = (sid[1:] != sid[:-1]) | (bucket[1:] != bucket[:-1])
    starts = np.flatnonzero(new)
    count = np.diff(np.append(starts, n))
    good_mask = (quality.astype(np.int64) & SEVERITY_MASK) == 0
    good = np.add.reduceat(good_mask.astype(np.int64), starts)
    # Bad samples are masked with neutral elements so one reduceat serves every bucket.
    mn = np.minimum.reduceat(np.where(good_mask, eng, np.inf), starts)
    mx = np.maximum.reduceat(np.where(good_mask, eng, -np.inf), starts)
    sm = np.add.reduceat(np.where(good_mask, eng, 0.0), starts)
    # Last Good sample of each bucket: the highest index with a Good sample.
    idx = np.where(good_mask, np.arange(n), -1)
    last_idx = np.maximum.reduceat(idx, starts)
    has = good > 0
    safe = np.where(has, last_idx, 0)
    last = eng[safe]
    last_ns = ts[safe]
    rows = []
    cols = zip(sid[starts].tolist(), bucket[starts].tolist(), mn.tolist(), mx.tolist(),
               sm.tolist(), count.tolist(), last.tolist(), last_ns.tolist(), good.tolist(),
               has.tolist(), strict=True)
    for s, b, lo, hi, total, c, la, lns, g, h in cols:
        if h:
            rows.append((s, b, lo, hi, total, c, la, lns, g))
        else:
            rows.append((s, b, None, None, None, c, None, None, 0))
    return rows


def store_rollups(conn: sqlite3.Connection, sid: np.ndarray, ts: np.ndarray,
                  eng: np.ndarray, quality: np.ndarray) -> int:
    """Merge the rollups of these samples into both tables; returns rows written."""
    written = 0
    for table, size in ROLLUPS:
        rows = rollup_rows(sid, ts, eng, quality, size)
        conn.executemany(_UPSERT.format(table=table), rows)
        written += len(rows)
    return written
