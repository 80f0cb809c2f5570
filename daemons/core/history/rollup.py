"""Rollups: per-bucket statistics of the Good samples, for trends over long ranges.

Two levels, stored differently because they are paid for differently (docs/history.md):
- ``rollup_1h``: one row per series and hour, written when an hour is compacted
  (`compact.py`) from every raw sample of that hour, and *replaced* — never merged — when a
  late sample changes the hour, so a re-sent sample cannot be counted twice.  About
  0.02 bytes per raw point.
- 1-minute buckets are not stored while raw samples exist: a reader computes them from raw
  (decoding an hour of raw costs about as much as reading 60 rows).  When raw chunks age
  out (retention), their minutes are materialised into ``rollup_1m`` as one compressed
  columnar blob per aged-out chunk (codec.encode_rollup), so the long memory of a trend
  costs a few bytes per minute.

Statistics: min, max, sum (avg = sum / good) and the last Good value with its time, in
engineering units; ``count`` is every sample whatever its quality and ``good`` the Good
ones, so a reader can tell coverage (good / count) from value.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from ..quality import SEVERITY_MASK
from .codec import ROLLUP_V1, encode_rollup

NS = 1_000_000_000
MINUTE_NS = 60 * NS
HOUR_NS = 3600 * NS


@dataclass(frozen=True)
class Buckets:
    """Statistics of consecutive buckets; parallel arrays (one element per bucket)."""

    series: np.ndarray  # int64 series id
    bucket_ns: np.ndarray  # int64 bucket start
    min: np.ndarray  # float64, NaN where no Good sample
    max: np.ndarray
    sum: np.ndarray
    count: np.ndarray  # int64, every sample
    good: np.ndarray  # int64, Good samples
    last: np.ndarray  # float64, last Good value (NaN where none)
    last_ns: np.ndarray  # int64, its time (the bucket start where none)

    def __len__(self) -> int:
        return int(self.bucket_ns.size)


def bucket_stats(sid: np.ndarray, ts: np.ndarray, eng: np.ndarray, quality: np.ndarray,
                 bucket_ns: int) -> Buckets:
    """Statistics per (series, bucket); ``sid``/``ts`` sorted by (series, time). Vectorised."""
    n = len(sid)
    if n == 0:
        e = np.empty(0, np.int64)
        f = np.empty(0, np.float64)
        return Buckets(e, e, f, f, f, e, e, f, e)
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
    last_idx = np.maximum.reduceat(np.where(good_mask, np.arange(n), -1), starts)
    has = good > 0
    safe = np.where(has, last_idx, starts)
    nan = np.float64(np.nan)
    return Buckets(series=sid[starts], bucket_ns=bucket[starts],
                   min=np.where(has, mn, nan), max=np.where(has, mx, nan),
                   sum=np.where(has, sm, nan), count=count.astype(np.int64),
                   good=good.astype(np.int64), last=np.where(has, eng[safe], nan),
                   last_ns=np.where(has, ts[safe], bucket[starts]))


def _nullable(a: np.ndarray) -> list:
    return [None if x != x else x for x in a.tolist()]  # NaN -> NULL


def store_hours(conn: sqlite3.Connection, b: Buckets) -> int:
    """Write (replacing) the 1-hour rows of these buckets; returns rows written."""
    has = b.good > 0
    rows = zip(b.series.tolist(), b.bucket_ns.tolist(), _nullable(b.min), _nullable(b.max),
               _nullable(b.sum), b.count.tolist(), _nullable(b.last),
               np.where(has, b.last_ns, -1).tolist(), b.good.tolist(), strict=True)
    conn.executemany(
        "INSERT OR REPLACE INTO rollup_1h (series_id, bucket_ns, min, max, sum, count, last, "
        "last_ns, good) VALUES (?, ?, ?, ?, ?, ?, ?, nullif(?, -1), ?)", rows)
    return len(b)


def store_minutes(conn: sqlite3.Connection, b: Buckets,
                  row_key: np.ndarray | None = None) -> int:
    """Materialise 1-minute buckets as compressed rows: one per run of equal ``row_key``
    (default: per series); returns rows written."""
    if len(b) == 0:
        return 0
    key = b.series if row_key is None else row_key
    cut = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]) | (b.series[1:] != b.series[:-1]),
                               True])
    rows = []
    for a, z in zip(cut[:-1].tolist(), cut[1:].tolist(), strict=True):
        blob = encode_rollup(
            {"bucket_ns": b.bucket_ns[a:z], "count": b.count[a:z], "good": b.good[a:z],
             "last_offset_ns": b.last_ns[a:z] - b.bucket_ns[a:z]},
            {"min": b.min[a:z], "max": b.max[a:z], "sum": b.sum[a:z], "last": b.last[a:z]})
        rows.append((int(b.series[a]), int(b.bucket_ns[a]), int(b.bucket_ns[z - 1]),
                     z - a, ROLLUP_V1, blob))
    conn.executemany("INSERT OR REPLACE INTO rollup_1m (series_id, start_ns, end_ns, count, "
                     "codec, data) VALUES (?, ?, ?, ?, ?, ?)", rows)
    return len(rows)
