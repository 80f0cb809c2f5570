"""The shared ring: one memory-mapped file of live values and short history per writing
daemon, read by every other process without locks and without torn values.

See docs/ring.md for the file format and why reads are consistent on weakly ordered CPUs.
"""

from daemons.core.ring.carry import Relayout
from daemons.core.ring.directory import DirectorySnapshot, RingDirectory
from daemons.core.ring.layout import (
    LAYOUT_VERSION,
    MAX_TEXT_BYTES,
    RingBusyError,
    RingError,
    SlotSpec,
)
from daemons.core.ring.reader import RingReader, Snapshot
from daemons.core.ring.writer import RingWriter

__all__ = [
    "LAYOUT_VERSION", "MAX_TEXT_BYTES", "DirectorySnapshot", "Relayout", "RingBusyError",
    "RingDirectory", "RingError", "RingReader", "RingWriter", "SlotSpec", "Snapshot",
]
