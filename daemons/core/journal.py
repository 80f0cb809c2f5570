"""The command journal: every write to a device, durably recorded at each step.

It lives in core because its readers (the CLI today; webd and opcuad later) must not
import acqd; acqd alone opens it for writing.

acqd owns commands.db.  A command is recorded as `requested` before anything is sent, then
`sent`, then `confirmed` (read back equal) or `failed` / `rejected`, each step committed
durably (WAL fsynced) before the caller is answered: after a power cut the journal still
says what was asked, by whom, why, and how far it got.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from daemons.core.store import Migration, durable, open_db

DB_NAME = "commands.db"
STATES = ("requested", "sent", "confirmed", "failed", "rejected")

MIGRATIONS = (
    Migration(1, "command journal", """
        CREATE TABLE commands (
            id INTEGER PRIMARY KEY,
            requested_ns INTEGER NOT NULL,
            source TEXT NOT NULL,          -- cli, webd, opcuad, forwardd
            user TEXT NOT NULL,            -- the person or system the caller acts for
            uid INTEGER, pid INTEGER,      -- the calling process (SO_PEERCRED)
            reason TEXT NOT NULL,
            tag TEXT NOT NULL,
            value REAL,
            device TEXT, unit INTEGER, tbl TEXT, address INTEGER,
            registers TEXT,                -- what was written, e.g. "0x0055 0x0000"
            state TEXT NOT NULL,
            error TEXT,
            readback REAL,
            updated_ns INTEGER NOT NULL
        );
        CREATE INDEX commands_tag ON commands(tag, requested_ns);
    """),
)


@dataclass(frozen=True)
class CommandRecord:
    id: int
    requested_ns: int
    source: str
    user: str
    reason: str
    tag: str
    value: float | None
    state: str
    error: str | None
    readback: float | None


class Journal:
    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / DB_NAME
        self.conn = open_db(self.path, migrations=MIGRATIONS)

    def request(self, *, source: str, user: str, uid: int | None, pid: int | None,
                reason: str, tag: str, value: float | None) -> int:
        now = time.time_ns()
        with durable(self.conn) as c:
            cur = c.execute(
                "INSERT INTO commands (requested_ns, source, user, uid, pid, reason, tag, value,"
                " state, updated_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'requested', ?)",
                (now, source, user, uid, pid, reason, tag, value, now))
            return int(cur.lastrowid)

    def update(self, command_id: int, state: str, **fields: object) -> None:
        assert state in STATES
        columns = {"state": state, "updated_ns": time.time_ns(), **fields}
        sets = ", ".join(f"{k} = ?" for k in columns)
        with durable(self.conn) as c:
            # Column names come from this module only (never from a request).
            c.execute(f"UPDATE commands SET {sets} WHERE id = ?",
                      (*columns.values(), command_id))

    def recent(self, limit: int = 20) -> list[CommandRecord]:
        rows = self.conn.execute(
            "SELECT id, requested_ns, source, user, reason, tag, value, state, error, readback"
            " FROM commands ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [CommandRecord(*r) for r in rows]

    def close(self) -> None:
        self.conn.close()


def read_journal(state_dir: Path, limit: int = 20) -> list[CommandRecord]:
    """For the CLI and webd: the last commands, read-only (acqd is the only writer)."""
    path = state_dir / DB_NAME
    if not path.exists():
        return []
    conn = open_db(path, migrations=MIGRATIONS, readonly=True)
    try:
        rows = conn.execute(
            "SELECT id, requested_ns, source, user, reason, tag, value, state, error, readback"
            " FROM commands ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    except sqlite3.Error:
        return []
    finally:
        conn.close()
    return [CommandRecord(*r) for r in rows]
