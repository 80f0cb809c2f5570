"""Live flood detection: more than 10 activations in 10 minutes."""

from daemons.alarmd.flood import FloodDetector
from daemons.alarmd.states import NORMAL, RTN_UNACK, UNACK, Transition


def t(at, new=UNACK, old=NORMAL):
    return Transition("A:hi", at, old, new, 1.0, True, False, 0.0, False)


def test_flood_starts_above_ten_in_ten_minutes_and_ends():
    f = FloodDetector()
    assert f.feed(0, [t(i) for i in range(10)]) is None  # 10 is not a flood
    assert f.feed(10, [t(10, RTN_UNACK, UNACK)]) is None  # not an activation
    assert f.feed(59, [t(59)]) is True and f.flooding and f.rate == 11
    assert f.feed(100, []) is None
    assert f.feed(600, []) is False  # the activation at 0 left the window
    assert f.rate == 10
