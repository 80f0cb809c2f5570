"""Opening the access databases, which several programs write (CLI as root, daemons as
the service user): a file root creates must stay writable by the service user."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from daemons.core.store import Migration, open_db


def open_shared(path: Path, migrations: Sequence[Migration]) -> sqlite3.Connection:
    """`open_db` as a writer; a file root had to create goes to the state directory's
    owner and group (the service user on a gateway), mode 0660.

    SQLite itself gives the -wal and -shm files the owner of the database file when it
    runs as root, so only the main file needs it here.
    """
    path = Path(path)
    created = not path.exists()
    conn = open_db(path, migrations=migrations)
    if created:
        _share(path)
    return conn


def open_lock_file(path: Path) -> int | None:
    """A lock file next to a database, shared like it; None if it cannot be opened."""
    created = not path.exists()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
    except OSError:
        return None
    if created:
        _share(path)
    return fd


def _share(path: Path) -> None:
    try:
        os.chmod(path, 0o660)
        if os.geteuid() == 0:
            parent = path.parent.stat()
            if parent.st_uid != 0 or parent.st_gid != 0:
                for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                    if p.exists():
                        os.chown(p, parent.st_uid, parent.st_gid)
    except OSError:
        pass  # someone else's file: their permissions stand
