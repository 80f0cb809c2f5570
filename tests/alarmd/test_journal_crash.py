"""The alarm journal under kill -9: every transition whose record() returned (what alarmd
publishes and acknowledges afterwards) is there after the crash, whole, and restore()
gives each alarm the state of its last one."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from daemons.alarmd.journal import AlarmJournal, db_path

CHILD = Path(__file__).with_name("journal_child.py")
ALARMS = 20


def _run_and_kill(state: Path, first: int, rng: random.Random) -> int:
    """Start the child, let it journal a while, SIGKILL it; the last batch it reported."""
    proc = subprocess.Popen([sys.executable, str(CHILD), str(state), str(first)],
                            stdout=subprocess.PIPE, text=True)
    last = first - 1
    deadline = time.monotonic() + 30
    wanted = rng.randint(20, 60)
    assert proc.stdout is not None
    while last < first + wanted and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("RECORDED "):
            last = int(line.split()[1])
    time.sleep(rng.random() * 0.02)  # land the kill anywhere in the next batch
    proc.kill()
    proc.wait()
    for line in proc.stdout:  # reports written before the kill count too
        if line.startswith("RECORDED "):
            last = int(line.split()[1])
    return last


def test_kill_9_loses_no_recorded_transition(tmp_path):
    rng = random.Random(7)
    first = 0
    for _ in range(3):
        last = _run_and_kill(tmp_path, first, rng)
        assert last >= first
        conn = sqlite3.connect(db_path(tmp_path))
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT at, count(*) FROM transitions GROUP BY at "
                            "ORDER BY at").fetchall()
        conn.close()
        batches = {int(at): n for at, n in rows}
        # Every reported batch is there, whole; at most the batch in flight beyond it,
        # and that one whole or not at all (one transaction).
        assert all(batches.get(k) == ALARMS for k in range(0, last + 1))
        assert set(batches) <= set(range(0, last + 2))
        assert all(n == ALARMS for n in batches.values())
        journal = AlarmJournal(tmp_path)
        try:
            saved = journal.restore()
        finally:
            journal.close()
        newest = max(batches)
        for i in range(ALARMS):
            state = saved[f"W{i}.P:hi"]
            assert state.since == float(newest) and state.acked == ((newest + i) % 2 == 0)
        first = newest + 1
