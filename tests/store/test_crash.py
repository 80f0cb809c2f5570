"""kill -9 in the middle of a stream of durable commits loses nothing acknowledged."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from daemons.core.store import open_db

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("store_child.py")
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _run_and_kill(db: Path, start: int, kill_after: int) -> list[int]:
    """Start a writer, SIGKILL it after `kill_after` acknowledgements; every id it acked."""
    proc = subprocess.Popen([sys.executable, str(CHILD), "writer", str(db), str(start)],
                            stdout=subprocess.PIPE, text=True, env=ENV)
    acked: list[int] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            acked.append(int(line))
            if len(acked) >= kill_after:
                # Killed while it is already writing the next rows.
                proc.send_signal(signal.SIGKILL)
                break
        # Acknowledgements already in the pipe were sent after their commit: they count.
        acked.extend(int(x) for x in proc.stdout.read().split())
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return acked


def test_kill_9_loses_no_acknowledged_row_and_keeps_integrity(tmp_path):
    db = tmp_path / "outbox.db"
    rnd = random.Random(20240611)
    all_acked: list[int] = []
    start = 0
    for _ in range(6):
        acked = _run_and_kill(db, start, rnd.randint(150, 600))
        assert acked, "the writer never acknowledged anything"
        all_acked += acked
        conn = open_db(db, readonly=True)
        present = {r[0] for r in conn.execute("SELECT id FROM rows")}
        conn.close()
        missing = set(all_acked) - present
        assert not missing, f"acknowledged rows lost: {sorted(missing)[:10]}"
        # Unacknowledged work may or may not be there, but nothing beyond one in flight.
        assert max(present) <= max(all_acked) + 1
        start = max(present) + 1

    conn = open_db(db)  # the owner: recovers the WAL the killed writer left behind
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM rows").fetchone()[0] >= len(all_acked)
    conn.close()
