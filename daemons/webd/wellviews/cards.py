"""The last dynamometer cards of the rod-pump wells, kept in webd's memory.

The rings hold only the latest array of a tag and the historian stores scalars, so no
file has a rod-pump well's previous cards.  A small thread looks at the card slots once
a second (a new card comes every few seconds at most) and keeps the last `KEEP` per
well: the surface card from acqd's ring and calcd's downhole card for the same stroke
(same timestamp, calcd stamps its results with the card's tick).  It starts with the
first rod-pump view and stops after `IDLE_S` without one, so an idle webd reads nothing.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemons.core.ring import RingDirectory, RingError
from daemons.core.ring.rows import iso_utc
from daemons.webd.wellviews.source import numbers

KEEP = 10
POLL_S = 1.0
IDLE_S = 600.0

# (surface position, surface load, pump position, pump load) tag names of one well
CardTags = tuple[str, str, str, str]


def _read(rings: RingDirectory, tag: str) -> tuple[list[float | None], int, int] | None:
    try:
        values, ts_ns, _q, seq = rings.array(tag)
    except (KeyError, RingError):
        return None
    if seq == 0 or ts_ns <= 0:
        return None  # never written
    return numbers(values), int(ts_ns), int(seq)


class CardMemory:
    """Per well, the last cards seen: newest first, surface and (when calcd has it) pump."""

    def __init__(self, runtime_dir: Path, wells: Callable[[], dict[str, CardTags]]) -> None:
        self.runtime_dir = runtime_dir
        self.wells = wells  # asked on every poll: a new tag map changes the names
        self.lock = threading.Lock()
        self.cards: dict[str, deque[dict[str, Any]]] = {}
        self.last_seen: dict[str, int] = {}  # well -> surface load seq
        self.last_used = time.monotonic()
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()

    def recent(self, well: str, rings: RingDirectory | None = None) -> list[dict[str, Any]]:
        """The well's kept cards, newest first; starts (or keeps alive) the collector.
        When it starts, the current cards are taken at once (with the caller's `rings`),
        so the first view already lists the card on screen."""
        self.last_used = time.monotonic()
        with self.lock:
            starting = self.thread is None or not self.thread.is_alive()
            if starting:
                self.stopping.clear()
                self.thread = threading.Thread(target=self._run, name="webd-cards",
                                               daemon=True)
                self.thread.start()
        if starting and rings is not None:
            try:
                self.poll(rings)
            except (RingError, OSError):
                pass  # no ring yet: the collector keeps looking
        with self.lock:
            return list(self.cards.get(well, ()))

    def poll(self, rings: RingDirectory) -> None:
        """Look once at every rod-pump well's card slots."""
        for well, (spos, sload, ppos, pload) in self.wells().items():
            load = _read(rings, sload)
            if load is None:
                continue
            pos = _read(rings, spos)
            pump_pos, pump_load = _read(rings, ppos), _read(rings, pload)
            pump = None
            if pump_pos and pump_load and pump_pos[1] == load[1] == pump_load[1]:
                pump = {"position": pump_pos[0], "load": pump_load[0]}
            with self.lock:
                kept = self.cards.setdefault(well, deque(maxlen=KEEP))
                if self.last_seen.get(well) == load[2]:
                    # the same stroke: calcd's pump card may have arrived since
                    if kept and kept[0]["downhole"] is None and pump is not None:
                        kept[0]["downhole"] = pump
                    continue
                self.last_seen[well] = load[2]
                if pos is None:
                    continue
                kept.appendleft({"ts": iso_utc(load[1]),
                                 "surface": {"position": pos[0], "load": load[0]},
                                 "downhole": pump})

    def _run(self) -> None:
        rings = RingDirectory(self.runtime_dir)
        try:
            while not self.stopping.is_set():
                if time.monotonic() - self.last_used > IDLE_S:
                    return
                try:
                    self.poll(rings)
                except (RingError, OSError):
                    pass  # no ring yet, or a ring being replaced: look again next second
                self.stopping.wait(POLL_S)
        finally:
            rings.close()

    def close(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
