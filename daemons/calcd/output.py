"""Where results go: calcd's own ring file (`calc.ring`) and history (`calc-history.db`).

The ring is laid out from the engine's output specs (one slot per result tag, array slots
for pump cards) and written once per cycle with only the results set that cycle.  The
historian runs on a thread of its own, as acqd's does: folding a closed window must never
delay a cycle, and SQLite connections belong to the thread that opened them.  The
history reader (`daemons/core/history/reader.py`) already merges `calc-history.db`, so
trends of calculated tags work like those of measured ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from daemons.calcd.batch import Outputs
from daemons.calcd.engine import OutSpec
from daemons.core.config import HistorySection
from daemons.core.history.feed import HistoryFeed
from daemons.core.ring import RingReader, RingWriter, SlotSpec

RING_NAME = "calc.ring"
HISTORY_DB = "calc-history.db"


class CalcRing:
    def __init__(self, path: Path, specs: Sequence[OutSpec], *, tagmap_version: int,
                 history_depth: int) -> None:
        self.ring = RingWriter.create(path, [SlotSpec(s.name, s.length, s.units)
                                             for s in specs],
                                      tagmap_version=tagmap_version,
                                      history_depth=history_depth)
        self.path = path
        self.kept = bool(self.ring.relayout is not None and self.ring.relayout.kept)

    def previous(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Values carried over from the previous file (a reload or restart), if any."""
        if not self.kept:
            return None
        with RingReader(self.path) as r:
            snap = r.snapshot()
        return snap.values, snap.ts_ns, snap.quality

    def publish(self, out: Outputs, is_array: np.ndarray) -> np.ndarray:
        """Write this cycle's results; returns the scalar slots written (for history)."""
        idx = np.flatnonzero(out.dirty & ~is_array)
        if len(idx):
            self.ring.write_batch(idx, out.values[idx], out.ts_ns[idx], out.quality[idx])
        for slot, (values, ts, q) in out.arrays.items():
            self.ring.write_array(slot, values, ts, q)
        return idx

    def close(self) -> None:
        self.ring.close()


class CalcHistory:
    """Every published scalar result into calc-history.db, through the core feed's writer
    thread (daemons/core/history/feed.py): the 1 Hz cycle never waits for the disk."""

    def __init__(self, state_dir: Path, cfg: HistorySection, log: Any) -> None:
        self.feed = HistoryFeed(state_dir / HISTORY_DB, cfg, log, name="calc-history")
        self._series = np.zeros(0, dtype=np.int64)

    @property
    def errors(self) -> int:
        return self.feed.errors

    def map_slots(self, specs: Sequence[OutSpec]) -> None:
        """Series of every scalar result slot (arrays are not kept in history)."""
        wanted = [(s.name, "float", 1.0, 0.0, s.units) for s in specs if s.length == 0]
        ids = iter(self.feed.ensure_series(wanted).tolist() if wanted else [])
        self._series = np.array([0 if s.length else next(ids) for s in specs], dtype=np.int64)

    def submit(self, slots: np.ndarray, out: Outputs) -> None:
        if not len(slots):
            return
        sids = self._series[slots]
        keep = sids > 0
        if keep.any():
            s = slots[keep]
            self.feed.append(sids[keep], out.ts_ns[s].copy(), out.values[s].copy(),
                             out.quality[s].copy())

    def close(self, timeout: float = 3.0) -> None:
        self.feed.close(timeout)
