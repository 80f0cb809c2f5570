"""A daemon's HistoryWriter on a thread of its own, fed through a queue.

Folding a closed window or compacting an hour at 100,000 tags takes about a second, and a
daemon's loop (acqd's bus pollers, calcd's 1 Hz cycle) must never wait for the disk.  The
loop hands samples over through a queue (arrays it must not reuse afterwards); the thread
appends them and makes them durable every `flush_interval` seconds, as the historian
promises.  Calls that must be answered (series ids, filters) wait for the thread.  SQLite
connections belong to the thread that opens them, so the writer is built there.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from ..config import HistorySection
from .retention import RetentionPolicy
from .writer import HistoryWriter, SeriesSpec

DAY_S = 86_400.0


def retention_policy(cfg: HistorySection) -> RetentionPolicy:
    """The `[history]` section's ages (0 = keep) and disk budget (0 = none)."""
    def days(v: float) -> float | None:
        return v * DAY_S if v > 0 else None

    return RetentionPolicy(raw_s=days(cfg.raw_days), rollup_1m_s=days(cfg.rollup_1m_days),
                           rollup_1h_s=days(cfg.rollup_1h_days),
                           max_bytes=cfg.disk_budget_mb * 1_000_000 or None)


class HistoryFeed:
    """One history database written from a thread; every method is called from the
    daemon's own thread."""

    def __init__(self, path: Path, cfg: HistorySection, log: Any, *,
                 name: str = "history") -> None:
        self.log = log
        self.errors = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        path.parent.mkdir(parents=True, exist_ok=True)
        opened: Future = Future()
        self._thread = threading.Thread(target=self._run, args=(path, cfg, opened),
                                        name=name, daemon=True)
        self._thread.start()
        opened.result(timeout=60)  # raises what opening the database raised

    def ensure_series(self, specs: Sequence[SeriesSpec]) -> np.ndarray:
        """Series ids of these tags (created as needed); waits for the writer thread."""
        return np.asarray(self._ask("series", list(specs)), dtype=np.int64)

    def replace_compression(self, filters: Mapping[int, tuple[str, float]]) -> None:
        """Every series' lossy filter at once (see HistoryWriter.replace_compression)."""
        self._ask("filters", dict(filters))

    def append(self, series_ids: np.ndarray, ts_ns: np.ndarray, values: np.ndarray,
               quality: np.ndarray) -> None:
        """Queue samples; the arrays are handed over (pass copies of reused buffers)."""
        self._queue.put(("append", series_ids, ts_ns, values, quality))

    def close(self, timeout: float = 3.0) -> None:
        """Flush what is pending and stop the thread (open windows stay staged)."""
        self._queue.put(("stop",))
        self._thread.join(timeout)

    def _ask(self, what: str, arg: Any) -> Any:
        done: Future = Future()
        self._queue.put((what, arg, done))
        return done.result(timeout=60)

    def _run(self, path: Path, cfg: HistorySection, opened: Future) -> None:
        try:
            writer = HistoryWriter(path, chunk_s=cfg.chunk_seconds, flush_s=cfg.flush_interval,
                                   retention=retention_policy(cfg))
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
                    writer.append(*item[1:])
                    writer.maybe_flush()
                elif item[0] in ("series", "filters"):
                    _, arg, done = item
                    try:
                        if item[0] == "series":
                            done.set_result(writer.ensure_series(arg) if arg else [])
                        else:
                            done.set_result(writer.replace_compression(arg))
                    except Exception as exc:  # the caller gets it
                        done.set_exception(exc)
                elif item[0] == "stop":
                    writer.close()  # flushes what is pending
                    return
            except Exception as exc:  # one bad batch must not stop history for good
                self.errors += 1
                self.log.error("history write failed", error=repr(exc))
