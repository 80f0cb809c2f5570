"""Retention: by age (raw chunks, 1-minute and 1-hour rollups separately) and by disk budget.

Run by the writer inside one of its flush transactions (every ``retention_every_s``, and at
every flush while a pass left work behind), so a power cut in the middle leaves either all
or none of one pass.

Raw chunks that age out are not simply deleted: their 1-minute buckets are materialised
first (rollup.store_minutes, a few bytes per minute), so a trend over last year still shows
minute-level minima and maxima after the raw samples are gone.  A pass handles at most
``MAX_CHUNKS_PER_PASS`` raw chunks, so shortening the retention of a large database
spreads the work over several flushes instead of stalling the daemon.

Disk budget: SQLite does not shrink its file when rows are deleted; freed pages go to a
free list and are reused by later inserts.  So the budget is enforced on the pages *in use*
((page_count − freelist_count) × page_size): once it is reached, the file stops growing and
new chunks fill the pages the oldest ones left.  Deletion order, oldest first: raw chunks
(an hour at a time, minutes materialised), then 1-minute rollups (a day at a time), then
1-hour rollups (a day at a time) — rollups are the long memory and go last.  Staging (the
open windows) is never deleted.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace

import numpy as np

from .codec import decode_chunk
from .compact import SeriesKinds
from .rollup import HOUR_NS, MINUTE_NS, bucket_stats, store_minutes

NS = 1_000_000_000
DAY_NS = 86_400 * NS
MAX_CHUNKS_PER_PASS = 20_000


@dataclass(frozen=True)
class RetentionPolicy:
    """Ages in seconds (None: keep forever); ``max_bytes`` the budget (None: no budget)."""

    raw_s: float | None = None
    rollup_1m_s: float | None = None
    rollup_1h_s: float | None = None
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        for name in ("raw_s", "rollup_1m_s", "rollup_1h_s", "max_bytes"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive or None, not {value!r}")


@dataclass(frozen=True)
class RetentionReport:
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows deleted
    used_bytes: int = 0
    backlog: bool = False  # a pass stopped at its limit: run again at the next flush


def used_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of database pages holding data (the file minus its free list)."""
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    return (pages - free) * size


def drop_raw(conn: sqlite3.Connection, kinds: SeriesKinds, before_ns: int,
             limit: int = MAX_CHUNKS_PER_PASS) -> tuple[int, bool]:
    """Delete raw chunks whose samples all lie before ``before_ns``, oldest first, after
    materialising their 1-minute buckets (one rollup row per chunk).  Returns (chunks
    deleted, whether ``limit`` stopped it)."""
    rows = conn.execute(
        "SELECT id, series_id, codec, data FROM chunks WHERE start_ns < ? AND end_ns < ? "
        "ORDER BY start_ns LIMIT ?", (before_ns, before_ns, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return 0, False
    rows.sort(key=lambda r: (r[1], r[0]))
    sid_l, key_l, ts_l, v_l, q_l = [], [], [], [], []
    for chunk_id, sid, codec, data in rows:
        ts, v, q = decode_chunk(int(codec), bytes(data), kinds.kind(int(sid)))
        sid_l.append(np.full(ts.size, sid, np.int64))
        key_l.append(np.full(ts.size, chunk_id, np.int64))
        ts_l.append(ts)
        v_l.append(v.astype(np.float64))
        q_l.append(q)
    sid, key, ts = np.concatenate(sid_l), np.concatenate(key_l), np.concatenate(ts_l)
    order = np.lexsort((ts, key, sid))
    sid, key, ts = sid[order], key[order], ts[order]
    v, q = np.concatenate(v_l)[order], np.concatenate(q_l)[order]
    # Group by chunk (a "series" id per chunk for bucket_stats), then store per chunk.
    buckets = bucket_stats(key, ts, kinds.engineering(sid, v), q, MINUTE_NS)
    series_of = dict(zip(key.tolist(), sid.tolist(), strict=False))
    chunk_key = buckets.series
    buckets = replace(buckets, series=np.array([series_of[k] for k in chunk_key.tolist()],
                                               np.int64))
    store_minutes(conn, buckets, row_key=chunk_key)
    conn.executemany("DELETE FROM chunks WHERE id = ?", [(r[0],) for r in rows])
    return len(rows), more


def _by_age(conn: sqlite3.Connection, policy: RetentionPolicy, now_ns: int,
            kinds: SeriesKinds, deleted: dict[str, int]) -> bool:
    more = False
    if policy.raw_s is not None:
        n, more = drop_raw(conn, kinds, now_ns - int(policy.raw_s * NS))
        deleted["chunks"] = deleted.get("chunks", 0) + n
    for table, sql, age in (
            ("rollup_1m", "DELETE FROM rollup_1m WHERE start_ns < ?1 AND end_ns < ?1",
             policy.rollup_1m_s),
            ("rollup_1h", "DELETE FROM rollup_1h WHERE bucket_ns < ?1", policy.rollup_1h_s)):
        if age is not None:
            cur = conn.execute(sql, (now_ns - int(age * NS),))
            deleted[table] = deleted.get(table, 0) + cur.rowcount
    return more


def _oldest(conn: sqlite3.Connection, table: str, column: str) -> int | None:
    row = conn.execute(f"SELECT min({column}) FROM {table}").fetchone()
    return None if row[0] is None else int(row[0])


def _by_budget(conn: sqlite3.Connection, budget: int, kinds: SeriesKinds,
               deleted: dict[str, int], max_steps: int) -> bool:
    steps = 0
    while used_bytes(conn) > budget and steps < max_steps:
        oldest = _oldest(conn, "chunks", "start_ns")
        if oldest is None:
            break
        n, more = drop_raw(conn, kinds, oldest - oldest % HOUR_NS + HOUR_NS)
        deleted["chunks"] = deleted.get("chunks", 0) + n
        steps += 1
        if more:
            return True
    for table, column in (("rollup_1m", "start_ns"), ("rollup_1h", "bucket_ns")):
        while used_bytes(conn) > budget and steps < max_steps:
            oldest = _oldest(conn, table, column)
            if oldest is None:
                break
            cur = conn.execute(f"DELETE FROM {table} WHERE {column} <= ?", (oldest + DAY_NS,))
            deleted[table] = deleted.get(table, 0) + cur.rowcount
            steps += 1
    return False


def apply(conn: sqlite3.Connection, policy: RetentionPolicy, now_ns: int,
          kinds: SeriesKinds | None = None, *, max_steps: int = 10_000) -> RetentionReport:
    """Delete what the policy says is too old or over budget; the caller owns the
    transaction (the writer runs this inside a flush and passes its series kinds)."""
    kinds = SeriesKinds.load(conn) if kinds is None else kinds
    deleted: dict[str, int] = {}
    backlog = _by_age(conn, policy, now_ns, kinds, deleted)
    if policy.max_bytes is not None and not backlog:
        backlog = _by_budget(conn, int(policy.max_bytes), kinds, deleted, max_steps)
    return RetentionReport(deleted=deleted, used_bytes=used_bytes(conn), backlog=backlog)
