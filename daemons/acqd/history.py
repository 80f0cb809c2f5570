"""acqd's historian feed: every sample, with its raw register value, into history.db.

The writer runs on a thread of its own: folding a closed window at 100,000 tags can take
a second, and the bus pollers must never wait for the disk.  The event loop hands samples
over through a queue (a copy of a few numpy arrays per flush); the thread appends them and
makes them durable every `flush_interval` seconds, as the historian promises.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from daemons.acqd.health import HEALTH_POINTS
from daemons.core.config import HistorySection
from daemons.core.history import HistoryWriter, RetentionPolicy
from daemons.core.tagmap import TagDef

DB_NAME = "history.db"
DAY_S = 86400.0
INT_TYPES = frozenset({"bool", "bit", "int16", "uint16", "int32", "uint32", "int64", "uint64"})


def series_spec(tag: TagDef) -> tuple[str, str, float, float, str]:
    """(tag, kind, scale, offset, units): integers are stored as the raw register value
    at the tag's resolution (it compresses far better than scaled decimals)."""
    kind = "int" if tag.type in INT_TYPES else "float"
    if tag.type in ("bool", "bit"):
        return (tag.name, kind, 1.0, 0.0, tag.units)
    return (tag.name, kind, tag.scale, tag.offset, tag.units)


def health_specs(prefix: str) -> list[tuple[str, str, float, float, str]]:
    return [(f"{prefix}.{name}", "float", 1.0, 0.0, units) for name, units in HEALTH_POINTS]


def retention(cfg: HistorySection) -> RetentionPolicy:
    def days(v: float) -> float | None:
        return v * DAY_S if v > 0 else None

    return RetentionPolicy(raw_s=days(cfg.raw_days), rollup_1m_s=days(cfg.rollup_1m_days),
                           rollup_1h_s=days(cfg.rollup_1h_days),
                           max_bytes=cfg.disk_budget_mb * 1_000_000 or None)


class HistoryFeed:
    def __init__(self, state_dir: Path, cfg: HistorySection, log: Any) -> None:
        self.log = log
        self.errors = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._series_of_slot = np.zeros(0, dtype=np.int64)
        state_dir.mkdir(parents=True, exist_ok=True)
        opened: Future = Future()
        # SQLite connections belong to the thread that opens them: the writer is built there.
        self._thread = threading.Thread(
            target=self._run, args=(state_dir / DB_NAME, cfg, opened), name="history",
            daemon=True)
        self._thread.start()
        opened.result(timeout=60)  # raises what opening the database raised

    def map_slots(self, specs: Sequence[tuple[str, str, float, float, str] | None],
                  cfg: HistorySection) -> None:
        """Which series each ring slot feeds (None: not kept, e.g. arrays), and the lossy
        filters of `[[history.filter]]`; blocks until both are stored (durable writes on
        the history thread)."""
        wanted = [s for s in specs if s is not None]
        done: Future = Future()
        self._queue.put(("series", wanted, done))
        ids = list(done.result(timeout=60))
        filters = {}
        for spec, sid in zip(wanted, ids, strict=True):
            f = cfg.filter_for(spec[0])
            if f is not None:
                filters[int(sid)] = (f.method, f.tolerance)
        done = Future()
        self._queue.put(("filters", filters, done))
        done.result(timeout=60)
        it = iter(ids)
        self._series_of_slot = np.array([0 if s is None else next(it) for s in specs],
                                        dtype=np.int64)

    def submit(self, slots: np.ndarray, ts: np.ndarray, raw: np.ndarray,
               quality: np.ndarray) -> None:
        sids = self._series_of_slot[slots]
        keep = sids > 0
        if keep.any():
            self._queue.put(("append", sids[keep], ts[keep], raw[keep], quality[keep]))

    def close(self, timeout: float = 3.0) -> None:
        self._queue.put(("stop",))
        self._thread.join(timeout)

    def _run(self, path: Path, cfg: HistorySection, opened: Future) -> None:
        try:
            writer = HistoryWriter(path, chunk_s=cfg.chunk_seconds, flush_s=cfg.flush_interval,
                                   retention=retention(cfg))
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
                    _, sids, ts, raw, q = item
                    writer.append(sids, ts, raw, q)
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
                    writer.flush()
                    writer.close()
                    return
            except Exception as exc:  # one bad batch must not stop history for good
                self.errors += 1
                self.log.error("history write failed", error=repr(exc))
