"""Retention: by age (raw chunks, 1-minute and 1-hour rollups separately) and by disk budget.

Run by the writer inside one of its flush transactions (every ``retention_every_s``), so a
power cut in the middle leaves either all or none of one pass.

Disk budget: SQLite does not shrink its file when rows are deleted; freed pages go to a
free list and are reused by later inserts.  So the budget is enforced on the pages *in use*
((page_count − freelist_count) × page_size): once it is reached, the file stops growing and
new chunks fill the pages the oldest ones left.  Deletion order, oldest first: raw chunk
windows, then 1-minute rollups (an hour at a time), then 1-hour rollups (a day at a time) —
rollups are the long memory and go last.  Staging (the open windows) is never deleted.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

NS = 1_000_000_000
DAY_NS = 86_400 * NS


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


def used_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of database pages holding data (the file minus its free list)."""
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    return (pages - free) * size


def _by_age(conn: sqlite3.Connection, policy: RetentionPolicy, now_ns: int,
            deleted: dict[str, int]) -> None:
    for table, column, age in (("chunks", "end_ns", policy.raw_s),
                               ("rollup_1m", "bucket_ns", policy.rollup_1m_s),
                               ("rollup_1h", "bucket_ns", policy.rollup_1h_s)):
        if age is None:
            continue
        cur = conn.execute(f"DELETE FROM {table} WHERE {column} < ?",
                           (now_ns - int(age * NS),))
        deleted[table] = deleted.get(table, 0) + cur.rowcount


def _oldest(conn: sqlite3.Connection, table: str, column: str) -> int | None:
    row = conn.execute(f"SELECT min({column}) FROM {table}").fetchone()
    return None if row[0] is None else int(row[0])


def _by_budget(conn: sqlite3.Connection, budget: int, deleted: dict[str, int],
               max_steps: int) -> None:
    steps = 0
    for table, column, span in (("chunks", "start_ns", 0),
                                ("rollup_1m", "bucket_ns", 3600 * NS),
                                ("rollup_1h", "bucket_ns", DAY_NS)):
        while used_bytes(conn) > budget and steps < max_steps:
            oldest = _oldest(conn, table, column)
            if oldest is None:
                break
            # Raw: one window (every series' chunk starting then); rollups: a span.
            cur = conn.execute(f"DELETE FROM {table} WHERE {column} <= ?", (oldest + span,))
            deleted[table] = deleted.get(table, 0) + cur.rowcount
            steps += 1


def apply(conn: sqlite3.Connection, policy: RetentionPolicy, now_ns: int, *,
          max_steps: int = 10_000) -> RetentionReport:
    """Delete what the policy says is too old or over budget; the caller owns the
    transaction (the writer runs this inside a flush)."""
    deleted: dict[str, int] = {}
    _by_age(conn, policy, now_ns, deleted)
    if policy.max_bytes is not None:
        _by_budget(conn, int(policy.max_bytes), deleted, max_steps)
    return RetentionReport(deleted=deleted, used_bytes=used_bytes(conn))
