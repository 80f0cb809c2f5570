"""forwardd's durable outbox (``<state_dir>/outbox.db``): the store of store-and-forward.

One row per sample that could not be sent live (broker or primary host unreachable, or
sent but not yet proven delivered when the link died).  Rows are committed with
``synchronous=FULL`` (`daemons.core.store.sqlite.durable`) before forwardd counts them as
kept, and deleted only after their replay survived a whole rolling window on a live
connection.  SQLite in WAL mode never corrupts on a power cut (unlike Kura's H2 store,
PITFALLS): a kill -9 mid-write leaves each batch whole or absent (tests/forwardd).

Lanes order the replay: 0 alarms, 1 calculation results and cards, 2 trends.  The disk
budget drops the oldest rows of the lowest-priority lane first.

The ``held`` table keeps the cards (arrays) that ``[mqtt] batch_seconds`` holds back
for the next batch: the rings keep only a card's latest value, so unlike scalars a held
card could not be taken back from them after a kill -9.  They are released once sent live
(the rolling window answers for them from then on) and moved into ``sample`` for replay
when forwardd starts again.

The ``state`` table keeps the counters that must survive a restart: ``bdseq`` (written
durably before each connect: spec issue #425), the catch-up ``watermark`` (ns) and the
month's uplink bytes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

from daemons.core.store.sqlite import Migration, durable, open_db

DB_NAME = "outbox.db"
LANES = ("alarms", "calc", "trends")
LANE_ALARMS, LANE_CALC, LANE_TRENDS = 0, 1, 2

MIGRATIONS = (
    Migration(1, "samples and state", """
        CREATE TABLE sample (
            id INTEGER PRIMARY KEY,
            lane INTEGER NOT NULL,
            tag TEXT NOT NULL,
            ts_ms INTEGER NOT NULL,
            value BLOB,              -- msgpack of the value (NULL: a null value)
            quality INTEGER NOT NULL -- OPC UA StatusCode
        );
        CREATE INDEX sample_lane ON sample(lane, id);
        CREATE TABLE state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    """),
    Migration(2, "cards held for a batch", """
        CREATE TABLE held (
            lane INTEGER NOT NULL,
            tag TEXT NOT NULL,
            ts_ms INTEGER NOT NULL,
            value BLOB,
            quality INTEGER NOT NULL
        );
    """),
)


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    lane: int
    tag: str
    ts_ms: int
    value: Any
    quality: int


Sample = tuple[int, str, int, Any, int]  # lane, tag, ts_ms, value, quality


def db_path(state_dir: Path) -> Path:
    return Path(state_dir) / DB_NAME


class Outbox:
    def __init__(self, state_dir: Path, budget_bytes: int) -> None:
        self.path = db_path(state_dir)
        self.conn = open_db(self.path, migrations=MIGRATIONS)
        self.budget_bytes = budget_bytes
        self.dropped = 0  # rows removed by the disk budget since start
        self._count = int(self.conn.execute("SELECT count(*) FROM sample").fetchone()[0])

    def close(self) -> None:
        self.conn.close()

    # -- samples --------------------------------------------------------------------------
    def append(self, samples: Sequence[Sample]) -> None:
        """Keep *samples* durably (whole batch or nothing)."""
        if not samples:
            return
        rows = [(lane, tag, ts, None if v is None else msgpack.packb(v), q)
                for lane, tag, ts, v, q in samples]
        with durable(self.conn):
            self.conn.executemany(
                "INSERT INTO sample(lane, tag, ts_ms, value, quality) VALUES (?,?,?,?,?)",
                rows)
        self._count += len(rows)
        self.enforce_budget()

    def take(self, limit: int, exclude: set[int] | frozenset[int] = frozenset(),
             lanes: Iterable[int] = (0, 1, 2),
             after: dict[int, int] | None = None) -> list[Row]:
        """The next rows to replay: highest-priority lane first, oldest first, skipping
        rows already in flight (*exclude*).  *after* (lane → last id taken) is a cursor:
        rows at or below it are not read again, so a long backlog costs O(rows) to send
        and not O(rows²); the caller resets it when rows must be sent again."""
        out: list[Row] = []
        for lane in lanes:
            last = after.get(lane, 0) if after is not None else 0
            while len(out) < limit:
                batch = self.conn.execute(
                    "SELECT id, lane, tag, ts_ms, value, quality FROM sample "
                    "WHERE lane = ? AND id > ? ORDER BY id LIMIT ?",
                    (lane, last, limit - len(out))).fetchall()
                if not batch:
                    break
                for rid, ln, tag, ts, blob, q in batch:
                    last = rid
                    if rid in exclude:
                        continue
                    out.append(Row(rid, ln, tag, ts, None if blob is None
                                   else msgpack.unpackb(blob), q))
            if after is not None:
                after[lane] = last
            if len(out) >= limit:
                break
        return out

    def delete(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        with durable(self.conn):
            self.conn.executemany("DELETE FROM sample WHERE id = ?", ((i,) for i in ids))
        self._count = max(0, self._count - len(ids))

    # -- cards held for a batch ----------------------------------------------------------
    def hold(self, samples: Sequence[Sample]) -> None:
        """Keep held *samples* durably until they are sent (`release_held`)."""
        if not samples:
            return
        with durable(self.conn):
            self.conn.executemany(
                "INSERT INTO held(lane, tag, ts_ms, value, quality) VALUES (?,?,?,?,?)",
                [(lane, tag, ts, None if v is None else msgpack.packb(v), q)
                 for lane, tag, ts, v, q in samples])

    def release_held(self) -> None:
        """The held samples went out live (or into the outbox by `append`)."""
        with durable(self.conn):
            self.conn.execute("DELETE FROM held")

    def requeue_held(self) -> int:
        """After a restart: samples held when forwardd stopped go to the outbox (one
        transaction: each is in one table or the other)."""
        with durable(self.conn):
            n = self.conn.execute(
                "INSERT INTO sample(lane, tag, ts_ms, value, quality) "
                "SELECT lane, tag, ts_ms, value, quality FROM held ORDER BY rowid").rowcount
            self.conn.execute("DELETE FROM held")
        self._count += max(0, n)
        return max(0, n)

    @property
    def depth(self) -> int:
        return self._count

    def oldest_ts_ms(self) -> int | None:
        row = self.conn.execute("SELECT min(ts_ms) FROM sample").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def lane_depths(self) -> dict[str, int]:
        counts = dict(self.conn.execute("SELECT lane, count(*) FROM sample GROUP BY lane"))
        return {name: int(counts.get(i, 0)) for i, name in enumerate(LANES)}

    # -- disk budget ----------------------------------------------------------------------
    def used_bytes(self) -> int:
        """Bytes the live pages hold (the file minus its free list)."""
        page = self.conn.execute("PRAGMA page_size").fetchone()[0]
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        free = self.conn.execute("PRAGMA freelist_count").fetchone()[0]
        return int((pages - free) * page)

    def enforce_budget(self) -> int:
        """Drop the oldest rows of the lowest-priority lanes until under the budget."""
        dropped = 0
        while self._count and self.used_bytes() > self.budget_bytes:
            per_row = max(1, self.used_bytes() // max(1, self._count))
            excess = max(100, (self.used_bytes() - self.budget_bytes) // per_row + 1)
            for lane in (LANE_TRENDS, LANE_CALC, LANE_ALARMS):
                ids = [r[0] for r in self.conn.execute(
                    "SELECT id FROM sample WHERE lane = ? ORDER BY id LIMIT ?",
                    (lane, excess))]
                if ids:
                    break
            if not ids:
                break
            self.delete(ids)
            dropped += len(ids)
        self.dropped += dropped
        return dropped

    # -- persistent counters --------------------------------------------------------------
    def get_state(self, key: str, default: int = 0) -> int:
        row = self.conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return default if row is None else int(row[0])

    def set_state(self, key: str, value: int, *, sync: bool = False) -> None:
        sql = "INSERT INTO state(key, value) VALUES (?, ?) " \
              "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        if sync:
            with durable(self.conn):
                self.conn.execute(sql, (key, int(value)))
        else:
            with self.conn:
                self.conn.execute(sql, (key, int(value)))

    def next_bdseq(self) -> int:
        """The bdSeq of the next connect (0–255, wrapping), persisted durably first so a
        restart never reuses the one its Will announced."""
        value = (self.get_state("bdseq", -1) + 1) % 256
        self.set_state("bdseq", value, sync=True)
        return value

    def integrity(self) -> str:
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])


def open_readonly(state_dir: Path) -> sqlite3.Connection:
    return open_db(db_path(state_dir), migrations=MIGRATIONS, readonly=True)
