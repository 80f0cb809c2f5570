"""Child of test_crash.py: ingest deterministic samples until killed, reporting progress.

argv: db_path first_tick tags.  Prints "FLUSHED k" after the flush that made ticks ≤ k
durable returned, and "APPENDED k" after tick k was handed to the writer.
Value of tag i at tick k: (k * 7 + i) % 65536 (so the test can check exactness).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from daemons.core.history.writer import HistoryWriter

NS = 1_000_000_000
T0 = 1_767_225_600 * NS


def main() -> None:
    path, first, tags = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    writer = HistoryWriter(path, chunk_s=10, flush_s=0.05, close_grace_s=0.0,
                           fold_blocks_per_flush=1)
    ids = writer.ensure_series([(f"tag{i}", "int", 0.1, 0.0, "psi") for i in range(tags)])
    offsets = np.arange(tags, dtype=np.int64)
    k = first
    while True:
        quality = 0x80310000 if k % 23 == 0 else 0
        writer.append(ids, T0 + k * NS, (k * 7 + offsets) % 65536, quality)
        print(f"APPENDED {k}", flush=True)
        if writer.maybe_flush():
            print(f"FLUSHED {k}", flush=True)
        k += 1
        time.sleep(0.002)  # a scan loop, not a tight spin: keeps the test small


if __name__ == "__main__":
    main()
