"""The last dynamometer cards of the rod-pump wells, kept in webd's memory.

The rings hold only the latest array of a tag and the historian stores scalars, so no
file has a rod-pump well's previous cards.  A small thread looks at the card slots once
a second (a new card comes every few seconds at most) and keeps the last `KEEP` per
well, each with calcd's downhole card of the same stroke.  It starts with the first
rod-pump view and stops after `IDLE_S` without one, so an idle webd reads nothing.

A stroke is a change of the surface card's content once both arrays are in: acqd
publishes the card arrays again on every scan of their class (a new sequence number and
timestamp, the same card), one array after the other, and the controller's card counter
changes before the new arrays are read.  Two identical strokes in a row count as one.
calcd stamps its downhole card with the time of the first read of the arrays after the
counter changed (daemons/calcd/calcs/rodpump.py), so a downhole card belongs to the
newest kept card whose predecessor was last seen before that time; calcd may skip a
stroke, which then has no downhole card.
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
# The first read of a card may come before we first see it (we look once a second); a
# downhole card up to this much older than our first sight is still this card's.
FIRST_SLACK_NS = 5 * 1_000_000_000

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


def _attach(kept: deque[dict[str, Any]], ts_ns: int, pump: dict[str, Any]) -> None:
    """Give calcd's downhole card (stamped `ts_ns`) to the stroke it was computed from."""
    cards = list(kept)
    for k, card in enumerate(cards):
        older = cards[k + 1] if k + 1 < len(cards) else None
        if older is None or ts_ns > older["last_ns"]:
            if card["downhole"] is None and ts_ns >= card["first_ns"] - FIRST_SLACK_NS:
                card["downhole"] = pump
            return


class CardMemory:
    """Per well, the last cards seen: newest first, surface and (when calcd has it) pump."""

    def __init__(self, runtime_dir: Path, wells: Callable[[], dict[str, CardTags]]) -> None:
        self.runtime_dir = runtime_dir
        self.wells = wells  # asked on every poll: a new tag map changes the names
        self.lock = threading.Lock()
        self.cards: dict[str, deque[dict[str, Any]]] = {}
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
            return [{"ts": c["ts"], "surface": c["surface"], "downhole": c["downhole"]}
                    for c in self.cards.get(well, ())]

    def poll(self, rings: RingDirectory) -> None:
        """Look once at every rod-pump well's card slots."""
        for well, (spos, sload, ppos, pload) in self.wells().items():
            load, pos = _read(rings, sload), _read(rings, spos)
            if load is None or pos is None:
                continue
            pump_pos, pump_load = _read(rings, ppos), _read(rings, pload)
            ts_ns = max(pos[1], load[1])  # as calcd stamps the card
            with self.lock:
                kept = self.cards.setdefault(well, deque(maxlen=KEEP))
                newest = kept[0] if kept else None
                new_load = newest is None or newest["surface"]["load"] != load[0]
                new_pos = newest is None or newest["surface"]["position"] != pos[0]
                if newest is not None and ts_ns < newest["last_ns"]:
                    pass  # read before another look (thread or view) kept a newer card
                elif not (new_load or new_pos):
                    # re-published.  Only the older stamp is proven: a look between the
                    # two writes of a new stroke whose positions match the last stroke's
                    # sees a new stamp on an unchanged array and the old load.
                    newest["last_ns"] = max(newest["last_ns"], min(pos[1], load[1]))
                elif pos[1] == load[1] or (new_load and new_pos):
                    # both arrays of the new stroke are in (acqd publishes them one after
                    # the other: a half-new card is left for the next look)
                    kept.appendleft({"ts": iso_utc(ts_ns), "first_ns": ts_ns,
                                     "last_ns": ts_ns,
                                     "surface": {"position": pos[0], "load": load[0]},
                                     "downhole": None})
                if pump_pos and pump_load and pump_pos[1] == pump_load[1]:
                    _attach(kept, pump_pos[1], {"position": pump_pos[0],
                                                "load": pump_load[0]})

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
