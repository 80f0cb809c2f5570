"""SQLite databases with one writer: open, migrate, read-only access, durable commits.

The rules of DESIGN.md, in one place:
- Each database has exactly one owning daemon.  The owner opens it with `open_db`, which
  creates it, puts it in WAL mode (readers never block the writer nor the writer them)
  and brings its schema up to date; everyone else opens it with ``readonly=True``, a
  ``mode=ro`` URI that SQLite itself enforces.
- The schema version lives in ``PRAGMA user_version``.  Each `Migration` runs in its own
  transaction together with the version bump, so a crash mid-migration leaves the old
  version and the migration runs again, whole, next time.
- ``synchronous=NORMAL`` is the default: in WAL mode a power cut can lose the last
  commits but never corrupts the file (https://sqlite.org/pragma.html#pragma_synchronous).
  Records that are acknowledged to someone (outbox, alarm journal, audit, commands) are
  written inside `durable`, which commits with ``synchronous=FULL`` so the WAL is fsynced
  before the commit returns (https://sqlite.org/wal.html#durability).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..problems import Problem, ValidationError

if TYPE_CHECKING:
    import sqlite_utils

Apply = str | Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Migration:
    """One step of a schema: SQL text (several statements allowed) or a function.

    A function gets the connection inside the migration's transaction and must not
    commit (sqlite-utils respects an open transaction, so `utils_db` may be used).
    """

    version: int
    description: str
    apply: Apply


class StoreError(ValidationError):
    """A database that cannot be used as it is; the one `Problem` names the file."""

    def __init__(self, path: Path | str, en: str, es: str) -> None:
        self.path = Path(path)
        super().__init__([Problem(str(path), 0, 0, en=en, es=es)])


def _check_migrations(migrations: Sequence[Migration]) -> int:
    """The latest version; versions must be 1, 2, 3, … in order (a programming error)."""
    for expected, m in enumerate(migrations, start=1):
        if m.version != expected:
            raise ValueError(f"migration versions must be 1..N in order; got {m.version} "
                             f"where {expected} was expected ({m.description!r})")
    return len(migrations)


def _statements(sql: str) -> Iterator[str]:
    """Split SQL text into statements, respecting quotes and trigger bodies.

    executescript() would do this, but it COMMITs any open transaction first, which
    would break a migration's atomicity; sqlite3.complete_statement uses SQLite's own
    tokenizer, so ';' inside strings or CREATE TRIGGER … BEGIN … END is handled.
    """
    buffer = ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \t\r\n;"):
                yield buffer
            buffer = ""
    if buffer.strip(" \t\r\n;"):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {buffer!r}")


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _migrate(conn: sqlite3.Connection, path: Path, migrations: Sequence[Migration],
             latest: int) -> None:
    for m in migrations:
        # IMMEDIATE takes the write lock before reading the version: two processes
        # opening as owner by mistake still cannot both apply the same migration.
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = _user_version(conn)
            if current >= m.version:
                conn.execute("ROLLBACK")
                continue
            if isinstance(m.apply, str):
                for statement in _statements(m.apply):
                    conn.execute(statement)
            else:
                m.apply(conn)
            if not conn.in_transaction:
                raise RuntimeError("the migration committed on its own; it must not")
            conn.execute(f"PRAGMA user_version = {int(m.version)}")
            conn.execute("COMMIT")
        except Exception as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(
                path,
                en=f"schema migration {m.version} ({m.description}) failed: {exc}",
                es=f"falló la migración de esquema {m.version} ({m.description}): {exc}",
            ) from exc
    if _user_version(conn) != latest:  # pragma: no cover - would be a bug above
        raise RuntimeError("migrations did not reach the latest version")


def _refuse_newer(path: Path, found: int, latest: int) -> StoreError:
    return StoreError(
        path,
        en=(f"database schema version {found} is newer than this program knows ({latest}); "
            "it was written by a newer wellgate — refusing to open it so no data is damaged"),
        es=(f"la versión de esquema {found} de la base de datos es más nueva que la que "
            f"conoce este programa ({latest}); la escribió un wellgate más reciente — no se "
            "abre para no dañar los datos"),
    )


def open_db(path: Path, *, migrations: Sequence[Migration] = (), readonly: bool = False,
            busy_timeout_ms: int = 5000) -> sqlite3.Connection:
    """Open a wellgate database as its owner (default) or as a read-only reader.

    The connection keeps Python's default transaction handling (``with conn:`` commits),
    autocommits nothing on its own, and has foreign keys on.
    """
    path = Path(path)
    latest = _check_migrations(migrations)
    if readonly:
        return _open_reader(path, migrations, latest, busy_timeout_ms)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(path, en=f"cannot open the database: {exc}",
                         es=f"no se puede abrir la base de datos: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(path, en=f"cannot use WAL mode here (got {mode!r})",
                             es=f"no se puede usar el modo WAL aquí (se obtuvo {mode!r})")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        found = _user_version(conn)
        if found > latest and migrations:
            raise _refuse_newer(path, found, latest)
        if found < latest:
            _migrate(conn, path, migrations, latest)
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(path, en=f"cannot prepare the database: {exc}",
                         es=f"no se puede preparar la base de datos: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _open_reader(path: Path, migrations: Sequence[Migration], latest: int,
                 busy_timeout_ms: int) -> sqlite3.Connection:
    if not path.is_file():
        raise StoreError(path, en="the database does not exist (has its owner daemon run?)",
                         es="la base de datos no existe (¿se ha ejecutado su daemon dueño?)")
    uri = f"file:{quote(str(path.absolute()))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout_ms / 1000)
    except sqlite3.Error as exc:
        raise StoreError(path, en=f"cannot open the database read-only: {exc}",
                         es=f"no se puede abrir la base de datos en solo lectura: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        found = _user_version(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(path, en=f"cannot read the database: {exc}",
                         es=f"no se puede leer la base de datos: {exc}") from exc
    if migrations and found > latest:
        conn.close()
        raise _refuse_newer(path, found, latest)
    if migrations and found < latest:
        conn.close()
        raise StoreError(
            path,
            en=(f"database schema version {found} is older than expected ({latest}); "
                "its owner daemon has not upgraded it yet"),
            es=(f"la versión de esquema {found} de la base de datos es más antigua que la "
                f"esperada ({latest}); su daemon dueño aún no la ha actualizado"))
    return conn


@contextmanager
def durable(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that is on disk (WAL fsynced) when the ``with`` block ends.

    Acknowledge to the sender only after the block: a power cut after that cannot lose
    the record.  On an exception the transaction is rolled back.
    """
    if conn.in_transaction:
        raise RuntimeError("durable() needs its own transaction; commit the open one first")
    previous = int(conn.execute("PRAGMA synchronous").fetchone()[0])
    # Set outside the transaction: the pager reads its sync flags when it starts one.
    conn.execute("PRAGMA synchronous = FULL")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # Also when COMMIT itself fails (disk full, I/O error): never leave it open.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute(f"PRAGMA synchronous = {previous}")


def utils_db(conn: sqlite3.Connection) -> sqlite_utils.Database:
    """sqlite-utils on the same connection (table creation, bulk inserts, upserts)."""
    # Imported here, not at the top: sqlite-utils pulls in click and pluggy, 3.4 MB of
    # RSS in every daemon that opens a database, and no daemon calls this today.
    import sqlite_utils

    return sqlite_utils.Database(conn)
