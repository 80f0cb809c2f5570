"""Child of test_outbox_powercut: appends numbered batches to the outbox until killed."""

import sys
from pathlib import Path

from daemons.forwardd.outbox import Outbox

BATCH = 200

if __name__ == "__main__":
    box = Outbox(Path(sys.argv[1]), 1 << 30)
    k = 0
    while True:
        tag = f"{sys.argv[2]}-batch{k}"
        box.append([(k % 3, tag, k * 1000 + i, float(i), 0) for i in range(BATCH)])
        box.set_state("batches", k + 1)
        print(k, flush=True)
        k += 1
