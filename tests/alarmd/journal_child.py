"""Child of test_journal_crash.py: journal transitions until killed, reporting progress.

argv: state_dir first_batch.  Batch k holds one transition for each of 20 alarms, all
stamped at time k (alarm i acknowledged when (k + i) is even).  Prints "RECORDED k" once
record() returned for batch k, i.e. once alarmd would publish it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from daemons.alarmd.journal import AlarmJournal
from daemons.alarmd.states import NORMAL, UNACK, Transition

ALARMS = 20


def batch(k: int) -> list[Transition]:
    return [Transition(f"W{i}.P:hi", float(k), NORMAL, UNACK, float(k), True,
                       (k + i) % 2 == 0, 0.0, False, action="ack", user=f"op{k}",
                       comment="x" * (k % 50)) for i in range(ALARMS)]


def main() -> None:
    journal = AlarmJournal(Path(sys.argv[1]))
    k = int(sys.argv[2])
    while True:
        journal.record(batch(k))
        print(f"RECORDED {k}", flush=True)
        k += 1


if __name__ == "__main__":
    main()
