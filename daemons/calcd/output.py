"""Where results go: calcd's own ring file (`calc.ring`) and history (`calc-history.db`).

The ring is laid out from the engine's output specs (one slot per result tag, array slots
for pump cards) and written once per cycle with only the results set that cycle.  The
historian runs on a thread of its own, as acqd's does: folding a closed window must never
delay a cycle, and SQLite connections belong to the thread that opened them.  The
history reader (`daemons/core/history/reader.py`) already merges `calc-history.db`, so
trends of calculated tags work like those of measured ones.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from daemons.calcd.batch import Outputs
from daemons.calcd.engine import OutSpec
from daemons.core.config import HistorySection
from daemons.core.history import HistoryWriter, RetentionPolicy
from daemons.core.ring import RingReader, RingWriter, SlotSpec

RING_NAME = "calc.ring"
HISTORY_DB = "calc-history.db"
DAY_S = 86400.0


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


def _retention(cfg: HistorySection) -> RetentionPolicy:
    def days(v: float) -> float | None:
        return v * DAY_S if v > 0 else None

    return RetentionPolicy(raw_s=days(cfg.raw_days), rollup_1m_s=days(cfg.rollup_1m_days),
                           rollup_1h_s=days(cfg.rollup_1h_days),
                           max_bytes=cfg.disk_budget_mb * 1_000_000 or None)


class CalcHistory:
    """Every published scalar result into calc-history.db, from a writer thread."""

    def __init__(self, state_dir: Path, cfg: HistorySection, log: Any) -> None:
        self.log = log
        self.errors = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._series = np.zeros(0, dtype=np.int64)
        state_dir.mkdir(parents=True, exist_ok=True)
        opened: Future = Future()
        self._thread = threading.Thread(target=self._run,
                                        args=(state_dir / HISTORY_DB, cfg, opened),
                                        name="calc-history", daemon=True)
        self._thread.start()
        opened.result(timeout=60)

    def map_slots(self, specs: Sequence[OutSpec]) -> None:
        """Series of every scalar result slot (arrays are not kept in history)."""
        wanted = [(s.name, "float", 1.0, 0.0, s.units) for s in specs if s.length == 0]
        done: Future = Future()
        self._queue.put(("series", wanted, done))
        ids = iter(list(done.result(timeout=60)))
        self._series = np.array([0 if s.length else next(ids) for s in specs], dtype=np.int64)

    def submit(self, slots: np.ndarray, out: Outputs) -> None:
        if not len(slots):
            return
        sids = self._series[slots]
        keep = sids > 0
        if keep.any():
            s = slots[keep]
            self._queue.put(("append", sids[keep], out.ts_ns[s].copy(), out.values[s].copy(),
                             out.quality[s].copy()))

    def close(self, timeout: float = 3.0) -> None:
        self._queue.put(("stop",))
        self._thread.join(timeout)

    def _run(self, path: Path, cfg: HistorySection, opened: Future) -> None:
        try:
            writer = HistoryWriter(path, chunk_s=cfg.chunk_seconds, flush_s=cfg.flush_interval,
                                   retention=_retention(cfg))
        except Exception as exc:
            opened.set_exception(exc)
            return
        opened.set_result(None)
        while True:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                item = None
            try:
                if item is None:
                    writer.maybe_flush()
                elif item[0] == "append":
                    _, sids, ts, values, q = item
                    writer.append(sids, ts, values, q)
                    writer.maybe_flush()
                elif item[0] == "series":
                    _, wanted, done = item
                    try:
                        done.set_result(writer.ensure_series(wanted) if wanted else [])
                    except Exception as exc:
                        done.set_exception(exc)
                elif item[0] == "stop":
                    writer.close()  # flushes what is pending
                    return
            except Exception as exc:  # one bad batch must not stop history for good
                self.errors += 1
                self.log.error("calc history write failed", error=repr(exc))
