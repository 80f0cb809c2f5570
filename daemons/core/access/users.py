"""Local gateway users: <state_dir>/users.db (written by the CLI and, later, webd).

A user has a name, display name, language, roles, a field/well scope, an enabled flag,
an argon2id password hash (never the password), an optional API key (its SHA-256 only),
failure and lockout counters, and created/changed times.  Every change and every login
is recorded in the audit log by the caller-facing `Accounts` (accounts.py); this module
only stores.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from daemons.core.access.dbfile import open_shared
from daemons.core.access.model import Scope, User
from daemons.core.store import Migration, durable, open_db

DB_NAME = "users.db"

MIGRATIONS = (
    Migration(1, "gateway users", """
        CREATE TABLE users (
            name TEXT PRIMARY KEY,
            display_name TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT 'es',
            roles TEXT NOT NULL,             -- role ids separated by spaces
            scope TEXT NOT NULL DEFAULT '',  -- FIELD or FIELD/WELL items, by spaces; '' = all
            enabled INTEGER NOT NULL DEFAULT 1,
            password_hash TEXT,              -- argon2id PHC string; NULL = no password login
            must_change INTEGER NOT NULL DEFAULT 0,  -- a one-time password was set
            failures INTEGER NOT NULL DEFAULT 0,     -- consecutive failed logins
            locked_until_ns INTEGER NOT NULL DEFAULT 0,
            api_key_id TEXT UNIQUE,
            api_key_hash TEXT,
            created_ns INTEGER NOT NULL,
            changed_ns INTEGER NOT NULL,
            last_login_ns INTEGER
        );
    """),
)
_FIELDS = ("name, display_name, language, roles, scope, enabled, password_hash, must_change,"
           " failures, locked_until_ns, api_key_id, api_key_hash, created_ns, changed_ns,"
           " last_login_ns")


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A stored user, credentials included (never leaves the access package's callers)."""

    name: str
    display_name: str
    language: str
    roles: tuple[str, ...]
    scope: tuple[str, ...]
    enabled: bool
    password_hash: str | None
    must_change: bool
    failures: int
    locked_until_ns: int
    api_key_id: str | None
    api_key_hash: str | None
    created_ns: int
    changed_ns: int
    last_login_ns: int | None

    def user(self) -> User:
        return User(self.name, frozenset(self.roles), Scope.parse(self.scope), self.enabled,
                    self.display_name, self.language)


def _record(row: tuple) -> UserRecord:
    (name, display, lang, roles, scope, enabled, pw, must, failures, locked, key_id,
     key_hash, created, changed, last) = row
    return UserRecord(name, display, lang, tuple(roles.split()), tuple(scope.split()),
                      bool(enabled), pw, bool(must), failures, locked, key_id, key_hash,
                      created, changed, last)


class UserStore:
    """users.db, opened for writing (`readonly=False`) or only to look users up."""

    def __init__(self, state_dir: Path, *, readonly: bool = False) -> None:
        self.path = Path(state_dir) / DB_NAME
        if readonly:
            self.conn = open_db(self.path, migrations=MIGRATIONS, readonly=True)
        else:
            Path(state_dir).mkdir(parents=True, exist_ok=True)
            self.conn = open_shared(self.path, MIGRATIONS)

    def get(self, name: str) -> UserRecord | None:
        row = self.conn.execute(f"SELECT {_FIELDS} FROM users WHERE name = ?", (name,)
                                ).fetchone()
        return _record(row) if row else None

    def by_api_key(self, key_id: str) -> UserRecord | None:
        row = self.conn.execute(f"SELECT {_FIELDS} FROM users WHERE api_key_id = ?",
                                (key_id,)).fetchone()
        return _record(row) if row else None

    def all(self) -> list[UserRecord]:
        return [_record(r) for r in
                self.conn.execute(f"SELECT {_FIELDS} FROM users ORDER BY name")]

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM users").fetchone()[0])

    def insert(self, rec: UserRecord) -> bool:
        """False if the name is taken."""
        try:
            with durable(self.conn) as c:
                c.execute(f"INSERT INTO users ({_FIELDS}) VALUES "
                          "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          (rec.name, rec.display_name, rec.language, " ".join(rec.roles),
                           " ".join(rec.scope), int(rec.enabled), rec.password_hash,
                           int(rec.must_change), rec.failures, rec.locked_until_ns,
                           rec.api_key_id, rec.api_key_hash, rec.created_ns, rec.changed_ns,
                           rec.last_login_ns))
        except sqlite3.IntegrityError:
            return False
        return True

    def update(self, name: str, now_ns: int, *, touch: bool = True, **fields: object
               ) -> None:
        """Set columns of one user (names from this package only, never from input)."""
        values = dict(fields)
        for key in ("roles", "scope"):
            if key in values:
                values[key] = " ".join(values[key])  # type: ignore[arg-type]
        if touch:
            values["changed_ns"] = now_ns
        sets = ", ".join(f"{k} = ?" for k in values)
        with durable(self.conn) as c:
            c.execute(f"UPDATE users SET {sets} WHERE name = ?", (*values.values(), name))

    def close(self) -> None:
        self.conn.close()
