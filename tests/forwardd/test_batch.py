"""LiveBatch: what `[mqtt] batch_seconds` holds back, what it lets through, and in which
order it releases it (the publisher's use of it is tested against a real broker in
hil-tests/test_forwardd_batch.py)."""

from __future__ import annotations

import numpy as np

from daemons.forwardd import batch as batch_mod
from daemons.forwardd.batch import LiveBatch

URGENT = np.array([False, False, True, False])  # metric 2 is an alarm state


def fast(*rows):
    idx = np.array([r[0] for r in rows], dtype=np.intp)
    return idx, np.array([r[1] for r in rows], dtype=np.int64), \
        np.array([float(r[2]) for r in rows])


def typed(index, value):
    return f"{index}:{value}"


def test_samples_are_held_until_the_oldest_has_waited_the_batch_length():
    b = LiveBatch(10.0, typed)
    now, out = b.hold([], fast((0, 1000, 1.0), (1, 1000, 2.0)), URGENT, 100.0)
    assert now == [] and len(out[0]) == 0 and len(b) == 2
    now, out = b.hold([], fast((0, 2000, 3.0)), URGENT, 109.9)
    assert len(out[0]) == 0 and len(b) == 3
    assert b.oldest_ts_ms() == 1000
    now, out = b.hold([], fast((1, 3000, 4.0)), URGENT, 110.0)
    assert out[0].tolist() == [0, 1, 0, 1] and out[1].tolist() == [1000, 1000, 2000, 3000]
    assert len(b) == 0 and b.oldest_ts_ms() is None
    # the next batch starts with the next sample, not at the last release
    b.hold([], fast((0, 4000, 5.0)), URGENT, 115.0)
    assert len(b.hold([], fast(), URGENT, 124.9)[1][0]) == 0
    assert len(b.hold([], fast(), URGENT, 125.0)[1][0]) == 1


def test_urgent_metrics_are_never_held():
    b = LiveBatch(60.0, typed)
    now, out = b.hold([(2, 1000, True, 0), (3, 1000, 7, 0)],
                      fast((2, 1000, 1.0), (0, 1000, 2.0)), URGENT, 0.0)
    assert now == [(2, 1000, True, 0)]
    assert out[0].tolist() == [2]
    assert len(b) == 2  # metric 3's plain sample and metric 0's fast one


def test_held_plain_and_fast_samples_are_released_in_time_order():
    # A metric Good (fast path) at 1 s and Bad (plain sample) at 2 s: the payload puts
    # plain samples first, so they are merged into one time-ordered list.
    b = LiveBatch(1.0, typed)
    b.hold([], fast((0, 1000, 1.0)), URGENT, 0.0)
    b.hold([(0, 2000, None, 3)], fast((1, 2000, 5.0)), URGENT, 0.5)
    now, out = b.hold([], fast(), URGENT, 1.0)
    assert len(out[0]) == 0
    assert [(s[0], s[1]) for s in now] == [(0, 1000), (0, 2000), (1, 2000)]
    assert now[0] == (0, 1000, "0:1.0", 0)  # the fast value in its metric's datatype


def test_drain_for_the_outbox_gives_every_held_sample():
    b = LiveBatch(60.0, typed)
    b.hold([(3, 500, 9, 1)], fast((0, 1000, 1.0), (1, 1000, 2.0)), URGENT, 0.0)
    kept = b.drain_as_samples()
    assert sorted(kept) == sorted([(3, 500, 9, 1), (0, 1000, 1.0, 0), (1, 1000, 2.0, 0)])
    assert len(b) == 0 and b.drain_as_samples() == []


def test_a_full_batch_goes_early(monkeypatch):
    monkeypatch.setattr(batch_mod, "MAX_HELD", 3)
    b = LiveBatch(600.0, typed)
    b.hold([], fast((0, 1, 1.0), (1, 1, 1.0)), URGENT, 0.0)
    _, out = b.hold([], fast((0, 2, 1.0)), URGENT, 1.0)
    assert len(out[0]) == 3 and len(b) == 0
