"""open_db, migrations, read-only readers, busy timeout and durable commits."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from daemons.core.store import Migration, StoreError, durable, open_db, utils_db

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("store_child.py")
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _schema(calls: list[int]) -> list[Migration]:
    def add_wells(conn: sqlite3.Connection) -> None:
        calls.append(3)
        db = utils_db(conn)
        db["wells"].create({"name": str, "type": str}, pk="name")
        db["wells"].insert_all([{"name": "PZ-1", "type": "rod_pump"},
                                {"name": "PZ-2", "type": "esp"}])

    return [
        Migration(1, "events", """
            CREATE TABLE events (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
            INSERT INTO events (text) VALUES ('semicolon; inside a string');
        """),
        Migration(2, "audit trigger", """
            CREATE TABLE audit (n INTEGER);
            CREATE TRIGGER events_audit AFTER INSERT ON events BEGIN
                INSERT INTO audit (n) VALUES (new.id);
                INSERT INTO audit (n) VALUES (-new.id);
            END;
        """),
        Migration(3, "wells", add_wells),
    ]


def test_migrations_apply_in_order_and_only_once(tmp_path):
    calls: list[int] = []
    db = tmp_path / "sub" / "app.db"
    conn = open_db(db, migrations=_schema(calls)[:2])
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("SELECT text FROM events").fetchone()[0] == "semicolon; inside a string"
    conn.close()

    conn = open_db(db, migrations=_schema(calls))  # only 3 is new
    conn.execute("INSERT INTO events (text) VALUES ('x')")
    conn.commit()
    assert calls == [3]
    assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] == 2  # trigger whole
    assert conn.execute("SELECT count(*) FROM wells").fetchone()[0] == 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    conn.close()

    conn = open_db(db, migrations=_schema(calls))
    assert calls == [3] and conn.execute("PRAGMA user_version").fetchone()[0] == 3
    conn.close()


def test_a_failing_migration_leaves_the_previous_version_whole(tmp_path):
    db = tmp_path / "x.db"
    steps = [Migration(1, "a", "CREATE TABLE a (x)"),
             Migration(2, "b", "CREATE TABLE b (x); INSERT INTO nowhere VALUES (1);")]
    with pytest.raises(StoreError) as err:
        open_db(db, migrations=steps)
    assert "migration 2 (b) failed" in str(err.value) and str(db) in str(err.value)
    conn = open_db(db, migrations=steps[:1])
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"a"}
    conn.close()


def test_migration_versions_must_be_consecutive(tmp_path):
    with pytest.raises(ValueError):
        open_db(tmp_path / "x.db", migrations=[Migration(2, "b", "SELECT 1")])


def test_a_newer_database_is_refused_by_owner_and_reader(tmp_path):
    db = tmp_path / "events.db"
    open_db(db, migrations=_schema([])).close()
    older_code = _schema([])[:2]
    for readonly in (False, True):
        with pytest.raises(StoreError) as err:
            open_db(db, migrations=older_code, readonly=readonly)
        text = str(err.value)
        assert str(db) in text and "version 3 is newer" in text and "(2)" in text
        assert "más nueva" in err.value.render("es")


def test_reader_refuses_missing_and_not_yet_migrated_databases(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_db(tmp_path / "none.db", readonly=True)
    assert not (tmp_path / "none.db").exists()
    db = tmp_path / "old.db"
    open_db(db, migrations=_schema([])[:1]).close()
    with pytest.raises(StoreError, match="version 1 is older than expected"):
        open_db(db, migrations=_schema([]), readonly=True)


def test_reader_in_another_process_sees_commits_and_cannot_write(tmp_path):
    db = tmp_path / "history.db"
    owner = open_db(db, migrations=[Migration(1, "rows", "CREATE TABLE rows "
                                              "(id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")])
    reader = subprocess.Popen([sys.executable, str(CHILD), "reader", str(db)], env=ENV,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(line: str = "count") -> str:
        reader.stdin.write(line + "\n")
        reader.stdin.flush()
        return reader.stdout.readline().strip()

    try:
        assert reader.stdout.readline().strip() == "ready"
        assert ask() == "0"
        for n in (1, 50):
            with owner:
                owner.executemany("INSERT INTO rows (payload) VALUES (x'01')",
                                  [()] * (n - int(ask())))
            assert ask() == str(n)
        # The owner is in the middle of a write: the reader is not blocked and sees
        # the last committed state only.
        owner.execute("BEGIN IMMEDIATE")
        owner.execute("INSERT INTO rows (payload) VALUES (x'02')")
        assert ask() == "50"
        owner.execute("COMMIT")
        assert ask() == "51"
        assert "readonly" in ask("write")
        assert ask() == "51"
    finally:
        reader.stdin.close()
        reader.wait(timeout=5)
        owner.close()


def test_busy_timeout_waits_for_the_lock_or_gives_up(tmp_path):
    db = tmp_path / "busy.db"
    steps = [Migration(1, "t", "CREATE TABLE t (who TEXT)")]
    holder = open_db(db, migrations=steps)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES ('holder')")

    impatient = open_db(db, migrations=steps, busy_timeout_ms=50)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        impatient.execute("INSERT INTO t VALUES ('impatient')")
    impatient.rollback()
    impatient.close()

    outcome: list[str] = []

    def patient_writer() -> None:
        patient = open_db(db, migrations=steps, busy_timeout_ms=10_000)
        try:
            with patient:
                patient.execute("INSERT INTO t VALUES ('patient')")  # waits for the COMMIT
            outcome.append("written")
        except sqlite3.Error as exc:
            outcome.append(repr(exc))
        finally:
            patient.close()

    thread = threading.Thread(target=patient_writer)
    thread.start()
    thread.join(timeout=0.3)  # it is blocked on the lock, not failed
    assert thread.is_alive() and outcome == []
    holder.execute("COMMIT")
    thread.join(timeout=10)
    assert outcome == ["written"]
    assert [r[0] for r in holder.execute("SELECT who FROM t ORDER BY rowid")] == \
        ["holder", "patient"]
    holder.close()


def test_durable_commits_rolls_back_and_restores_normal(tmp_path):
    conn = open_db(tmp_path / "outbox.db",
                   migrations=[Migration(1, "o", "CREATE TABLE o (id INTEGER PRIMARY KEY)")])
    with durable(conn):
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        conn.execute("INSERT INTO o VALUES (1)")
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    with pytest.raises(ZeroDivisionError), durable(conn):
        conn.execute("INSERT INTO o VALUES (2)")
        _ = 1 / 0
    assert [r[0] for r in conn.execute("SELECT id FROM o")] == [1]
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    conn.execute("INSERT INTO o VALUES (3)")  # opens an implicit transaction
    with pytest.raises(RuntimeError), durable(conn):
        pass
    conn.rollback()
    with durable(conn):
        utils_db(conn)["o"].insert_all([{"id": 4}, {"id": 5}])
    assert [r[0] for r in conn.execute("SELECT id FROM o")] == [1, 4, 5]
    conn.close()


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_durable_commits_fsync_and_normal_ones_do_not(tmp_path):
    n = 60
    syncs = {}
    for mode in ("durable", "normal"):
        trace = tmp_path / f"{mode}.trace"
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", str(trace),
                        sys.executable, str(CHILD), "commits", str(tmp_path / f"{mode}.db"),
                        mode, str(n)], env=ENV, check=True, capture_output=True, timeout=60)
        syncs[mode] = sum(1 for line in trace.read_text().splitlines()
                          if "sync(" in line and "= 0" in line)
    assert syncs["durable"] >= n
    assert syncs["normal"] < n // 4
