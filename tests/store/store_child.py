"""Child processes for the store tests: a durable writer and a read-only reader.

    python store_child.py writer DB [START]  insert rows START, START+1, … each in its own
                                             durable transaction; print the id once the
                                             commit returned (the acknowledgement)
    python store_child.py reader DB          for each line on stdin print the row count
                                             seen through a read-only connection; "write"
                                             tries an INSERT and prints the error class
    python store_child.py commits DB MODE N  N commits, durable or normal (for strace)
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from daemons.core.store import Migration, durable, open_db

MIGRATIONS = (
    Migration(1, "rows", "CREATE TABLE rows (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)"),
)


def writer(db: Path, start: int) -> None:
    conn = open_db(db, migrations=MIGRATIONS)
    i = start
    while True:
        with durable(conn):
            # ~4 kB rows: the WAL reaches its 1000-page auto-checkpoint every few hundred
            # commits, so kills also land during checkpoints.
            conn.execute("INSERT INTO rows (id, payload) VALUES (?, randomblob(4000))", (i,))
        sys.stdout.write(f"{i}\n")
        sys.stdout.flush()
        i += 1


def reader(db: Path) -> None:
    conn = open_db(db, migrations=MIGRATIONS, readonly=True)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "write":
            try:
                conn.execute("INSERT INTO rows (id, payload) VALUES (-1, x'00')")
                conn.commit()
                print("wrote", flush=True)
            except sqlite3.Error as exc:
                print(f"{type(exc).__name__}: {exc}", flush=True)
            continue
        print(conn.execute("SELECT count(*) FROM rows").fetchone()[0], flush=True)


def commits(db: Path, mode: str, n: int) -> None:
    conn = open_db(db, migrations=MIGRATIONS)
    for _ in range(n):
        if mode == "durable":
            with durable(conn):
                conn.execute("INSERT INTO rows (payload) VALUES (randomblob(100))")
        else:
            with conn:
                conn.execute("INSERT INTO rows (payload) VALUES (randomblob(100))")
    print(f"done {n}", flush=True)


if __name__ == "__main__":
    what, path = sys.argv[1], Path(sys.argv[2])
    if what == "writer":
        writer(path, int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    elif what == "reader":
        reader(path)
    else:
        commits(path, sys.argv[3], int(sys.argv[4]))
