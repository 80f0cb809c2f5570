"""A child process for the concurrency test and bench/access.py: appends audit entries.

    python audit_appender.py STATE_DIR WRITER N GO_FILE

Opens the audit log, waits until GO_FILE exists (so every writer starts together), appends
N entries as actor WRITER with details {"i": 0..N-1}, then prints "done SECONDS".
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from daemons.core.access.audit import AuditLog


def main() -> None:
    state, writer, n, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    log = AuditLog(state)
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.001)
    t0 = time.perf_counter()
    for i in range(n):
        log.append(writer, "system", "test.append", f"obj-{i}", {"i": i})
    print(f"done {time.perf_counter() - t0:.6f}", flush=True)
    log.close()


if __name__ == "__main__":
    main()
