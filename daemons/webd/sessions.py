"""webd's own small database: browser sessions and the users' page preferences (the
language), <state_dir>/webd.db.

A session survives a webd restart (an operator's panel PC should not log out because
the daemon was updated), so it lives in SQLite rather than in memory.  Only the SHA-256
of the session token is stored: a copy of webd.db does not hand out live sessions.  Each
session carries its CSRF token (double-submit: the page sends it back in a header) and
ends after `idle_s` without a request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from daemons.core.store import Migration, open_db

DB_NAME = "webd.db"
IDLE_TIMEOUT_S = 30 * 60.0  # an unattended control-room screen logs itself out
# Updating last_ns on every request would make each GET a write; a minute's precision
# on a 30-minute idle timeout is plenty.
TOUCH_EVERY_NS = 60_000_000_000

MIGRATIONS = (
    Migration(1, "sessions", """
        CREATE TABLE session (
            token_hash TEXT PRIMARY KEY,   -- sha256 of the cookie's token
            user TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_ns INTEGER NOT NULL,
            last_ns INTEGER NOT NULL
        );
        CREATE INDEX session_user ON session(user);
    """),
    Migration(2, "preferences", """
        CREATE TABLE preference (
            user TEXT NOT NULL,
            key TEXT NOT NULL,             -- 'language'
            value TEXT NOT NULL,
            changed_ns INTEGER NOT NULL,
            PRIMARY KEY (user, key)
        );
    """),
)


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # only known when just created (the cookie's value)
    user: str
    csrf: str
    created_ns: int
    last_ns: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


class SessionStore:
    """Sessions in webd.db; use from one thread (webd's worker thread)."""

    def __init__(self, state_dir: Path, *, idle_s: float = IDLE_TIMEOUT_S,
                 clock: Callable[[], int] = time.time_ns) -> None:
        Path(state_dir).mkdir(parents=True, exist_ok=True)
        self.conn: sqlite3.Connection = open_db(Path(state_dir) / DB_NAME,
                                                migrations=MIGRATIONS)
        self.idle_ns = int(idle_s * 1e9)
        self.clock = clock

    def create(self, user: str) -> Session:
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), self.clock()
        with self.conn:
            self.conn.execute("INSERT INTO session VALUES (?, ?, ?, ?, ?)",
                              (_digest(token), user, csrf, now, now))
        return Session(token, user, csrf, now, now)

    def get(self, token: str) -> Session | None:
        """The live session of `token` (its idle clock restarted), else None."""
        now = self.clock()
        row = self.conn.execute("SELECT user, csrf, created_ns, last_ns FROM session "
                                "WHERE token_hash = ?", (_digest(token),)).fetchone()
        if row is None:
            return None
        if now - row[3] > self.idle_ns:
            self.delete(token)
            return None
        if now - row[3] > TOUCH_EVERY_NS:
            with self.conn:
                self.conn.execute("UPDATE session SET last_ns = ? WHERE token_hash = ?",
                                  (now, _digest(token)))
        return Session("", row[0], row[1], row[2], now)

    def delete(self, token: str) -> None:
        with self.conn:
            self.conn.execute("DELETE FROM session WHERE token_hash = ?", (_digest(token),))

    def prune(self) -> int:
        with self.conn:
            cur = self.conn.execute("DELETE FROM session WHERE last_ns < ?",
                                    (self.clock() - self.idle_ns,))
        return cur.rowcount

    # --- preferences (the pages' language per user) ---------------------------------------

    def preference(self, user: str, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM preference WHERE user = ? AND key = ?",
                                (user, key)).fetchone()
        return None if row is None else str(row[0])

    def set_preference(self, user: str, key: str, value: str) -> None:
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO preference VALUES (?, ?, ?, ?)",
                              (user, key, value, self.clock()))

    def close(self) -> None:
        self.conn.close()
