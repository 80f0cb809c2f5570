"""CardMemory against hand-made ring reads: the interleavings of a look with acqd's two
array writes that a test with real rings meets only by chance."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from daemons.webd.wellviews.cards import CardMemory

S = 10**9
TAGS = ("W.POS", "W.LOAD", "W.PUMP_POS", "W.PUMP_LOAD")


class FakeRings:
    """What `RingDirectory.array` answers, set tag by tag."""

    def __init__(self) -> None:
        self.arrays: dict[str, tuple[np.ndarray, int, int, int]] = {}

    def put(self, tag: str, values: list[float], ts_ns: int) -> None:
        seq = self.arrays[tag][3] + 1 if tag in self.arrays else 1
        self.arrays[tag] = (np.array(values, dtype=float), ts_ns, 0, seq)

    def array(self, tag: str) -> tuple[np.ndarray, int, int, int]:
        return self.arrays[tag]


POS = [0.0, 1.0, 2.0]  # the same stroke length every stroke: only the load changes


def memory() -> CardMemory:
    return CardMemory(Path("/nonexistent"), lambda: {"W": TAGS})


def test_a_look_between_the_writes_of_a_new_stroke_keeps_the_old_strokes_time():
    """The position array of the next stroke equals the last one's; a look after its
    write and before the load's must not date the old stroke to the new stroke's time, or
    the new stroke's downhole card is given to no one."""
    rings, mem = FakeRings(), memory()
    t0, t1 = 100 * S, 110 * S
    rings.put("W.POS", POS, t0)
    rings.put("W.LOAD", [5.0, 6.0, 7.0], t0)
    rings.put("W.PUMP_POS", POS, t0)
    rings.put("W.PUMP_LOAD", [1.0, 2.0, 3.0], t0)
    mem.poll(rings)
    rings.put("W.POS", POS, t1)  # acqd wrote the position array of the new stroke...
    mem.poll(rings)  # ...and we looked before it wrote the load
    rings.put("W.LOAD", [8.0, 9.0, 9.5], t1)
    mem.poll(rings)
    rings.put("W.PUMP_POS", POS, t1)
    rings.put("W.PUMP_LOAD", [4.0, 4.0, 4.0], t1)
    mem.poll(rings)
    cards = list(mem.cards["W"])
    assert [c["first_ns"] for c in cards] == [t1, t0]
    assert cards[0]["downhole"]["load"] == [4.0, 4.0, 4.0]
    assert cards[1]["downhole"]["load"] == [1.0, 2.0, 3.0]


def test_a_republished_card_is_one_stroke_and_its_last_sight_moves_on():
    rings, mem = FakeRings(), memory()
    rings.put("W.POS", POS, 100 * S)
    rings.put("W.LOAD", [5.0, 6.0, 7.0], 100 * S)
    mem.poll(rings)
    rings.put("W.POS", POS, 103 * S)
    rings.put("W.LOAD", [5.0, 6.0, 7.0], 103 * S)
    mem.poll(rings)
    (card,) = mem.cards["W"]
    assert card["first_ns"] == 100 * S and card["last_ns"] == 103 * S
    assert card["downhole"] is None  # calcd has not written one
