"""Readers in one process while the writer ingests, flushes and folds in another.

Each query must see a whole prefix of what was written: never a sample twice (staged and
folded at once) and never a hole (folded after the chunk query, deleted before the staging
query) — which is what the per-query read transaction guarantees.
"""

import subprocess
import sys
import textwrap

import numpy as np

from daemons.core.history.reader import HistoryReader

NS = 1_000_000_000
T0 = 1_780_000_000 * NS
N = 4_000

WRITER = textwrap.dedent(f"""
    import sys, time
    import numpy as np
    from daemons.core.history.writer import HistoryWriter
    w = HistoryWriter(sys.argv[1], chunk_s=10, flush_s=0.0, close_grace_s=0.0,
                      fold_blocks_per_flush=1)
    a, b = w.ensure_series([("A", "int", 0.5, 0.0, ""), ("B", "float", 1.0, 0.0, "")])
    print("ready", flush=True)
    for i in range({N}):
        ts = {T0} + i * {NS}
        w.append(np.array([a]), ts, np.array([i]), 0)
        w.append(np.array([b]), ts, np.array([i * 0.25]), 0)
        if i % 7 == 6:
            w.flush()
            time.sleep(0.0005)
    w.flush(fold_all=True)
    w.close()
""")


def test_readers_see_whole_prefixes_while_the_writer_folds(tmp_path):
    db = tmp_path / "history.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        seen = []
        with HistoryReader([db]) as r:
            while True:
                done = proc.poll() is not None
                for tag, scale in (("A", 0.5), ("B", 0.25)):
                    ts, v, q = r.raw(tag, T0, T0 + N * NS)
                    n = ts.size
                    assert np.array_equal(ts, T0 + np.arange(n) * NS), (tag, n)
                    assert np.array_equal(v, np.arange(n) * scale)
                    assert not q.any()
                    latest = r.latest_before(tag, T0 + N * NS)
                    assert latest is None or latest[0] >= T0 + (n - 1) * NS
                seen.append(n)
                if done:
                    break
        assert proc.returncode == 0
        assert seen[-1] == N
        assert seen == sorted(seen)  # never goes back
        assert len(set(seen)) > 5  # the reads really interleaved with the writes
    finally:
        proc.kill()
        proc.wait()
