"""The alarm journal: every transition, committed durably before it is published.

alarmd's own SQLite database `events.db` in the state directory (one writer: alarmd;
webd, opcuad, forwardd and the CLI open it read-only).  Each row carries the alarm's
whole persistent state after the change, so restoring after a restart or a kill -9 is
"the last row of every alarm".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from daemons.alarmd.states import SavedState, Transition
from daemons.core.store.sqlite import Migration, durable, open_db

DB_NAME = "events.db"
MIGRATIONS = (
    Migration(1, "alarm transitions", """
        CREATE TABLE transitions (
            seq INTEGER PRIMARY KEY,
            at REAL NOT NULL,                -- UTC seconds
            alarm_id TEXT NOT NULL,
            old TEXT NOT NULL,
            new TEXT NOT NULL,
            value REAL,
            active INTEGER NOT NULL,
            acked INTEGER NOT NULL,
            shelved_until REAL NOT NULL,
            out_of_service INTEGER NOT NULL,
            action TEXT NOT NULL,
            user TEXT NOT NULL,
            comment TEXT NOT NULL,
            first_out INTEGER NOT NULL
        );
        CREATE INDEX transitions_alarm ON transitions (alarm_id, seq);
        CREATE INDEX transitions_at ON transitions (at);
    """),
    Migration(2, "notification outbox", """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            created REAL NOT NULL,
            channel TEXT NOT NULL,           -- webhook | email
            payload TEXT NOT NULL,           -- JSON of one alarm
            attempts INTEGER NOT NULL DEFAULT 0,
            next_try REAL NOT NULL,
            sent REAL                        -- NULL until delivered
        );
        CREATE INDEX outbox_pending ON outbox (channel, sent, id);
    """),
    Migration(3, "planned downtime per well", """
        CREATE TABLE downtime (
            well TEXT PRIMARY KEY,
            until REAL NOT NULL,             -- UTC seconds; the past = ended
            user TEXT NOT NULL,
            comment TEXT NOT NULL,
            at REAL NOT NULL                 -- when it was set
        );
    """),
)
_COLUMNS = ("at", "alarm_id", "old", "new", "value", "active", "acked", "shelved_until",
            "out_of_service", "action", "user", "comment", "first_out")


def db_path(state_dir: Path) -> Path:
    return Path(state_dir) / DB_NAME


def _row(t: Transition) -> tuple:
    value = None if t.value != t.value else t.value  # NaN is stored as NULL
    return (t.at, t.alarm_id, t.old_name, t.new_name, value, int(t.active), int(t.acked),
            t.shelved_until, int(t.out_of_service), t.action, t.user, t.comment,
            int(t.first_out))


class AlarmJournal:
    """alarmd's writer side of events.db."""

    def __init__(self, state_dir: Path) -> None:
        self.conn = open_db(db_path(state_dir), migrations=MIGRATIONS)

    def record(self, transitions: Iterable[Transition]) -> int:
        """Append transitions in one durable transaction; on disk when this returns."""
        rows = [_row(t) for t in transitions]
        if not rows:
            return 0
        marks = ", ".join("?" * len(_COLUMNS))
        with durable(self.conn) as c:
            c.executemany(f"INSERT INTO transitions ({', '.join(_COLUMNS)}) VALUES ({marks})",
                          rows)
        return len(rows)

    def restore(self) -> dict[str, SavedState]:
        """Every alarm's state after its last journalled transition."""
        rows = self.conn.execute(
            "SELECT alarm_id, active, acked, shelved_until, out_of_service, at, new, "
            "(SELECT user FROM transitions a WHERE a.alarm_id = t.alarm_id "
            " AND a.action = 'ack' ORDER BY a.seq DESC LIMIT 1) "
            "FROM transitions t WHERE seq IN (SELECT max(seq) FROM transitions "
            "GROUP BY alarm_id)").fetchall()
        return {r[0]: SavedState(bool(r[1]), bool(r[2]), float(r[3]), bool(r[4]), float(r[5]),
                                 (r[7] or "") if r[2] else "", r[6] == "suppressed")
                for r in rows}

    def set_downtime(self, well: str, until: float, user: str, comment: str,
                     at: float) -> None:
        """A well's planned downtime (until in the past: ended), durably."""
        with durable(self.conn) as c:
            c.execute("INSERT OR REPLACE INTO downtime VALUES (?, ?, ?, ?, ?)",
                      (well, until, user, comment, at))

    def downtimes(self) -> dict[str, float]:
        """Every well's planned-downtime end (UTC seconds)."""
        return {w: float(u) for w, u in self.conn.execute("SELECT well, until FROM downtime")}

    def close(self) -> None:
        self.conn.close()


def history(state_dir: Path, since: float = 0.0, limit: int = 10_000) -> list[dict]:
    """Transitions since `since` (UTC seconds), oldest first, read-only (CLI, webd)."""
    conn = open_db(db_path(state_dir), migrations=MIGRATIONS, readonly=True)
    try:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(f"SELECT seq, {', '.join(_COLUMNS)} FROM transitions WHERE at >= ? "
                            "ORDER BY seq LIMIT ?", (since, limit)).fetchall()
        return [dict(r) for r in rows]
    finally:
        conn.close()
