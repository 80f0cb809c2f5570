"""Live values for Server-Sent Events: what changed in the rings since the last look.

Each stream polls the rings every POLL_S (the issue allows 1 s behind the rings) and sends
only the tags whose timestamp or quality moved, found with numpy over the whole snapshot,
so a quiet site costs one snapshot per tick.  Rows have the keys of `wellgate tags --json`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

import numpy as np

from daemons.core.ring import RingDirectory
from daemons.core.ring.rows import tag_glob, tag_row

POLL_S = 0.25  # at most a quarter of a second added to the rings' own latency
KEEPALIVE_S = 15.0  # a comment line keeps proxies and idle-timeouts from closing the stream
RECHECK_S = 10.0  # how often a stream re-checks that its session is still valid


class ChangeTracker:
    """The rows of readable, matching tags that changed since the previous `changes()`."""

    def __init__(self, rings: RingDirectory, pattern: str,
                 may_read: Callable[[str], bool]) -> None:
        self.rings = rings
        self.glob = tag_glob(pattern)
        self.may_read = may_read
        self.names: tuple[str, ...] = ()
        self.mask = np.zeros(0, bool)
        self.ts = np.zeros(0, np.int64)
        self.quality = np.zeros(0, np.uint32)
        self.seqs: dict[int, int] = {}

    def _select(self, names: tuple[str, ...]) -> None:
        # Re-done only when a ring's layout changes (a new tag map): authorization and the
        # glob are per name, not per tick.
        self.names = names
        self.mask = np.array([fnmatch.fnmatchcase(n.lower(), self.glob) and self.may_read(n)
                              for n in names], bool)
        self.ts = np.full(len(names), -1, np.int64)
        self.quality = np.zeros(len(names), np.uint32)
        self.seqs = {}

    def changes(self) -> list[dict[str, Any]]:
        snap = self.rings.snapshot()
        if snap.names != self.names:
            self._select(snap.names)
        ts = snap.ts_ns.astype(np.int64)
        quality = snap.quality.astype(np.uint32)
        arrays = snap.is_array.astype(bool)
        moved = self.mask & ~arrays & ((ts != self.ts) | (quality != self.quality))
        out = [tag_row(self.rings, snap, int(i)) for i in np.flatnonzero(moved)]
        # An array slot (a dynamometer card) has its own sequence number: send it when
        # a new array was published.
        for i in np.flatnonzero(self.mask & arrays):
            seq = self.rings.array(snap.names[i])[3]
            if self.seqs.get(int(i)) != seq:
                self.seqs[int(i)] = seq
                out.append(tag_row(self.rings, snap, int(i)))
        self.ts, self.quality = ts, quality
        return out
