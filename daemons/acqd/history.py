"""acqd's historian feed: every sample, with its raw register value, into history.db.

The writer runs on a thread of its own (daemons/core/history/feed.py): the bus pollers
must never wait for the disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from daemons.acqd.health import HEALTH_POINTS
from daemons.core.config import HistorySection
from daemons.core.history.feed import HistoryFeed
from daemons.core.tagmap import TagDef

DB_NAME = "history.db"
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


class AcqdHistory:
    """Ring slots → series of history.db, through the core feed's writer thread."""

    def __init__(self, state_dir: Path, cfg: HistorySection, log: Any) -> None:
        self.feed = HistoryFeed(state_dir / DB_NAME, cfg, log, name="history")
        self._series_of_slot = np.zeros(0, dtype=np.int64)

    @property
    def errors(self) -> int:
        return self.feed.errors

    def map_slots(self, specs: Sequence[tuple[str, str, float, float, str] | None],
                  cfg: HistorySection) -> None:
        """Which series each ring slot feeds (None: not kept, e.g. arrays), and the lossy
        filters of `[[history.filter]]`; blocks until both are stored (durable writes on
        the history thread)."""
        wanted = [s for s in specs if s is not None]
        ids = self.feed.ensure_series(wanted).tolist() if wanted else []
        filters = {}
        for spec, sid in zip(wanted, ids, strict=True):
            f = cfg.filter_for(spec[0])
            if f is not None:
                filters[int(sid)] = (f.method, f.tolerance)
        self.feed.replace_compression(filters)
        it = iter(ids)
        self._series_of_slot = np.array([0 if s is None else next(it) for s in specs],
                                        dtype=np.int64)

    def submit(self, slots: np.ndarray, ts: np.ndarray, raw: np.ndarray,
               quality: np.ndarray) -> None:
        sids = self._series_of_slot[slots]
        keep = sids > 0
        if keep.any():  # fancy indexing copies: the output may reuse its buffers
            self.feed.append(sids[keep], ts[keep], raw[keep], quality[keep])

    def close(self, timeout: float = 3.0) -> None:
        self.feed.close(timeout)
