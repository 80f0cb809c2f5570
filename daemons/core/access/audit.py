"""The gateway's one audit log: hash-chained, append-only, several writer processes.

<state_dir>/audit.db is the one wellgate database with several writers (the CLI, acqd,
and later webd, opcuad, forwardd).  An append reads the head and inserts the next entry
inside one BEGIN IMMEDIATE transaction, so appends from any number of processes are
serialised by SQLite's write lock and the chain stays linear; the transaction commits
with synchronous=FULL (`durable`), so the entry is on disk before `append` returns and
before the action it records is reported done.  Triggers refuse UPDATE and DELETE, except
DELETE inside a retention prune.  Each entry also goes to the log (structlog JSON, event
"audit") with the same fields, for SIEMs that read the journal.

Retention: entries older than the retention age are removed from the front; the prune is
itself an entry (recording the last removed seq and hash), and the removed prefix is
replaced by one anchor row carrying that hash, so the rest of the chain still verifies.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import astuple
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemons.core.access.chain import (
    ANCHOR,
    GENESIS,
    PRUNE,
    Entry,
    Head,
    Verdict,
    canonical,
    check_head,
    entry_hash,
    verify_entries,
)
from daemons.core.access.dbfile import open_lock_file, open_shared
from daemons.core.access.model import SOURCES
from daemons.core.store import Migration, durable, open_db

DB_NAME = "audit.db"
MONTH_NS = 30_436_875 * 86_400_000  # 1/12 of a Gregorian year (30.436875 days), in ns
_COLUMNS = "seq, ts_ns, actor, source, action, object, details, prev_hash, hash"

MIGRATIONS = (
    Migration(1, "audit chain", """
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,       -- 1, 2, 3 … (an anchor keeps the last pruned seq)
            ts_ns INTEGER NOT NULL,        -- UTC
            actor TEXT NOT NULL,           -- gateway user, or the system account's name
            source TEXT NOT NULL,          -- cli, web, opcua, sparkplug, system
            action TEXT NOT NULL,          -- e.g. login.failed, tag.write, user.role
            object TEXT NOT NULL,          -- what it was done to (a user, a tag, a file)
            details TEXT NOT NULL,         -- canonical JSON, hashed as stored
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX audit_ts ON audit(ts_ns);
        CREATE TABLE pruning (active INTEGER NOT NULL);
        CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
            WHEN (SELECT count(*) FROM pruning) = 0
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """),
)


def _entry(row: tuple) -> Entry:
    return Entry(*row)


def iso(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9, UTC).isoformat(timespec="milliseconds")


def entry_json(e: Entry) -> dict[str, Any]:
    """The fields of an entry as `audit list --json` and the log lines give them."""
    return {"seq": e.seq, "ts": iso(e.ts_ns), "actor": e.actor, "source": e.source,
            "action": e.action, "object": e.object, "details": e.details_dict(),
            "prev_hash": e.prev_hash, "hash": e.hash}


class AuditLog:
    """An appender (any process may hold one) that can also read and verify."""

    def __init__(self, state_dir: Path, *, log: Any = None,
                 clock: Callable[[], int] = time.time_ns) -> None:
        Path(state_dir).mkdir(parents=True, exist_ok=True)
        self.path = Path(state_dir) / DB_NAME
        self.conn = open_shared(self.path, MIGRATIONS)
        self.log = log
        self.clock = clock
        self.lock_fd = open_lock_file(self.path.with_name(DB_NAME + ".lock"))

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """Wait for this process's turn to append.

        BEGIN IMMEDIATE alone keeps the chain linear, but SQLite's busy handler makes a
        waiting writer sleep 1, 2, 5, 10 … ms between tries, while the writer that just
        committed takes the lock again at once: under load one process appends hundreds of
        entries while another starves towards its busy timeout.  An flock on a lock file
        queues the appenders in the kernel instead, which wakes a waiter the moment the
        lock is free.  (Without the lock file — a read-only directory — BEGIN IMMEDIATE
        still serialises, only less fairly.)
        """
        if self.lock_fd is None:
            yield
            return
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)

    def append(self, actor: str, source: str, action: str, obj: str = "",
               details: dict[str, Any] | None = None) -> Entry:
        """Chain one entry; it is durable when this returns."""
        if source not in SOURCES:
            raise ValueError(f"audit source must be one of {SOURCES}, not {source!r}")
        text = canonical(details)
        with self._turn(), durable(self.conn) as c:
            entry = self._chain(c, actor, source, action, obj, text)
        self._emit(entry)
        return entry

    def _chain(self, c: sqlite3.Connection, actor: str, source: str, action: str, obj: str,
               text: str) -> Entry:
        # Inside BEGIN IMMEDIATE: nobody else can append between this read and the insert.
        row = c.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
        ts = self.clock()
        digest = entry_hash(seq, ts, actor, source, action, obj, text, prev)
        entry = Entry(seq, ts, actor, source, action, obj, text, prev, digest)
        c.execute(f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  astuple(entry))
        return entry

    def _emit(self, entry: Entry) -> None:
        if self.log is not None:
            fields = entry_json(entry)
            fields.pop("ts")  # the log line has its own ts: keep the entry's as ts_entry
            self.log.info("audit", ts_entry=iso(entry.ts_ns), **fields)

    def prune(self, older_than_ns: int, actor: str = "system") -> int:
        """Remove entries older than `older_than_ns` (UTC); returns how many were removed.

        One transaction: the prune record is appended, the prefix deleted, and an anchor
        with the last removed entry's seq and hash put in its place.  The head is never
        removed (the prune record is newer than any entry it removes).
        """
        with self._turn(), durable(self.conn) as c:
            row = c.execute("SELECT seq, hash, ts_ns FROM audit WHERE ts_ns < ? AND action != ?"
                            " ORDER BY seq DESC LIMIT 1", (older_than_ns, ANCHOR)).fetchone()
            if row is None:
                return 0
            through, through_hash, through_ts = row
            removed = c.execute("SELECT count(*) FROM audit WHERE seq <= ? AND action != ?",
                                (through, ANCHOR)).fetchone()[0]
            entry = self._chain(c, actor, "system", PRUNE, DB_NAME, canonical({
                "through_seq": through, "through_hash": through_hash, "removed": removed,
                "older_than": iso(older_than_ns)}))
            c.execute("INSERT INTO pruning VALUES (1)")
            c.execute("DELETE FROM audit WHERE seq <= ?", (through,))
            c.execute("DELETE FROM pruning")
            c.execute(f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, 'system', 'system', ?, '',"
                      " ?, '', ?)", (through, through_ts, ANCHOR,
                                     canonical({"pruned_through": through}), through_hash))
        self._emit(entry)
        return int(removed)

    def prune_months(self, months: int, actor: str = "system") -> int:
        """Retention by age: 0 months keeps everything."""
        if months <= 0:
            return 0
        return self.prune(self.clock() - months * MONTH_NS, actor)

    def close(self) -> None:
        self.conn.close()
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


class AuditReader:
    """Read-only access for `wellgate audit` (verify, head, list)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / DB_NAME
        self.conn = open_db(self.path, migrations=MIGRATIONS, readonly=True)

    def head(self) -> Entry | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY seq DESC LIMIT 1"
                                ).fetchone()
        return _entry(row) if row else None

    def get(self, seq: int) -> Entry | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM audit WHERE seq = ?", (seq,)
                                ).fetchone()
        return _entry(row) if row else None

    def entries(self, *, since_ns: int | None = None, actor: str | None = None,
                action: str | None = None, limit: int | None = None) -> list[Entry]:
        """Newest last; `limit` keeps the newest."""
        where, args = ["action != ?"], [ANCHOR]
        if since_ns is not None:
            where.append("ts_ns >= ?")
            args.append(since_ns)
        if actor:
            where.append("actor = ?")
            args.append(actor)
        if action:
            where.append("(action = ? OR action LIKE ?)")
            args += [action, f"{action}.%"]
        sql = f"SELECT {_COLUMNS} FROM audit WHERE {' AND '.join(where)} ORDER BY seq DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_entry(r) for r in reversed(self.conn.execute(sql, args).fetchall())]

    def _all(self) -> Iterator[Entry]:
        for row in self.conn.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY seq"):
            yield _entry(row)

    def verify(self, exported: Head | None = None) -> Verdict:
        """The whole chain in one read transaction (a consistent snapshot under WAL)."""
        self.conn.execute("BEGIN")
        try:
            last = self.conn.execute("SELECT max(seq) FROM audit").fetchone()[0] or 0
            verdict = verify_entries(self._all(), last)
            if verdict.ok and exported is not None:
                problem = check_head(exported, self.get, verdict)
                if problem is not None:
                    verdict = Verdict(verdict.count, verdict.head, verdict.anchor, problem)
            return verdict
        finally:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()
