"""Ring basics: create, write, read back; history; arrays; argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from daemons.core.quality import Quality
from daemons.core.ring import RingReader, RingWriter, SlotSpec

WAITING = int(Quality.BAD_WAITING_FOR_INITIAL_DATA)
GOOD = int(Quality.GOOD)


@pytest.fixture
def ring(tmp_path):
    slots = [SlotSpec("W101.THP", units="psi"), SlotSpec("W101.CHP", units="psi"),
             SlotSpec("W101.presión_línea", units="kPa"),
             SlotSpec("W101.CARD_POS", length=200, units="in"), SlotSpec("W101.SPM")]
    path = tmp_path / "acq.ring"
    with RingWriter.create(path, slots, tagmap_version=7, history_depth=5) as w, \
            RingReader(path) as r:
        yield w, r


def test_new_ring_holds_names_units_and_waits_for_data(ring):
    w, r = ring
    s = r.snapshot()
    assert s.names == ("W101.THP", "W101.CHP", "W101.presión_línea", "W101.CARD_POS",
                       "W101.SPM")
    assert s.units == ("psi", "psi", "kPa", "in", "")
    assert s.tagmap_version == 7 == r.tagmap_version
    assert s.is_array.tolist() == [False, False, False, True, False]
    assert np.isnan(s.values).all()
    assert (s.ts_ns == 0).all()
    assert (s.quality == WAITING).all()
    assert w.names == s.names


def test_batch_is_read_back_with_ts_and_quality(ring):
    w, r = ring
    before = r.snapshot().generation
    idx = w.indices(["W101.SPM", "W101.THP"])
    w.write_batch(idx, np.array([7.5, 1234.5]), 1_700_000_000_000_000_000,
                  np.array([GOOD, int(Quality.UNCERTAIN_LAST_USABLE)], dtype=np.uint32))
    s = r.snapshot()
    assert s.generation == before + 1
    assert s.get("W101.THP") == (1234.5, 1_700_000_000_000_000_000,
                                 int(Quality.UNCERTAIN_LAST_USABLE))
    assert s.get("W101.SPM") == (7.5, 1_700_000_000_000_000_000, GOOD)
    value, ts, q = s.get("W101.CHP")
    assert np.isnan(value) and ts == 0 and q == WAITING


def test_each_tag_may_carry_its_own_timestamp(ring):
    w, r = ring
    idx = w.indices(["W101.THP", "W101.CHP"])
    w.write_batch(idx, np.array([1.0, 2.0]), np.array([10, 20]), GOOD)
    s = r.snapshot()
    assert s.ts_ns[idx].tolist() == [10, 20]


def test_partial_batches_keep_every_other_value(tmp_path):
    """Random batches of random subsets (small ones and ones big enough to copy the whole
    block) against a plain model: exercises the double buffer's catch-up of the slots the
    previous batch changed."""
    n = 64
    rng = np.random.default_rng(42)
    model_v = np.full(n, np.nan)
    model_ts = np.zeros(n, dtype=np.int64)
    model_q = np.full(n, WAITING, dtype=np.uint32)
    hist: list[list[tuple[int, float, int]]] = [[] for _ in range(n)]
    path = tmp_path / "calc.ring"
    with RingWriter.create(path, [SlotSpec(f"c{i}") for i in range(n)], tagmap_version=1,
                           history_depth=8) as w, RingReader(path) as r:
        for k in range(1, 300):
            size = int(rng.choice([1, 2, 5, 20, 40, n]))
            idx = rng.choice(n, size=size, replace=False)
            values = rng.normal(size=size)
            q = rng.choice([GOOD, int(Quality.BAD_NO_COMMUNICATION)], size=size)
            w.write_batch(idx, values, k, q)
            model_v[idx], model_ts[idx], model_q[idx] = values, k, q
            for i, v, qq in zip(idx, values, q, strict=True):
                hist[i].append((k, v, qq))
            s = r.snapshot()
            np.testing.assert_array_equal(s.values, model_v)
            np.testing.assert_array_equal(s.ts_ns, model_ts)
            np.testing.assert_array_equal(s.quality, model_q)
        for i in range(n):
            ts, values, quality = r.history(f"c{i}")
            want = hist[i][-8:]
            assert ts.tolist() == [h[0] for h in want]
            assert values.tolist() == [h[1] for h in want]
            assert quality.tolist() == [h[2] for h in want]


def test_history_is_oldest_first_and_wraps(ring):
    w, r = ring
    i = w.index_of("W101.THP")
    for k in range(1, 13):
        w.write_batch(np.array([i]), np.array([100.0 + k]), k, GOOD if k % 2 else 0x80310000)
    ts, values, quality = r.history("W101.THP")
    assert ts.tolist() == [8, 9, 10, 11, 12]  # depth 5: the last five, in order
    assert values.tolist() == [108.0, 109.0, 110.0, 111.0, 112.0]
    assert quality.tolist() == [0x80310000, GOOD, 0x80310000, GOOD, 0x80310000]
    ts, values, _ = r.history("W101.THP", 2)
    assert ts.tolist() == [11, 12] and values.tolist() == [111.0, 112.0]
    assert r.history("W101.CHP")[0].size == 0  # never written
    assert r.history("W101.THP", 0)[0].size == 0


def test_history_before_the_ring_wraps(ring):
    w, r = ring
    i = w.index_of("W101.SPM")
    for k in range(1, 4):
        w.write_batch(np.array([i]), np.array([float(k)]), k, GOOD)
    assert r.history("W101.SPM")[1].tolist() == [1.0, 2.0, 3.0]


def test_array_slot_latest_value(ring):
    w, r = ring
    i = w.index_of("W101.CARD_POS")
    values, ts, q, seq = r.array("W101.CARD_POS")
    assert values.size == 0 and ts == 0 and q == WAITING and seq == 0
    card = np.linspace(0, 144, 200)
    w.write_array(i, card, 1000, GOOD)
    values, ts, q, seq = r.array("W101.CARD_POS")
    np.testing.assert_array_equal(values, card)
    assert (ts, q, seq) == (1000, GOOD, 1)
    w.write_array(i, card[:150] + 1, 2000, int(Quality.UNCERTAIN_SUBNORMAL))
    values, ts, q, seq = r.array("W101.CARD_POS")
    np.testing.assert_array_equal(values, card[:150] + 1)  # a shorter card: count 150
    assert (ts, q, seq) == (2000, int(Quality.UNCERTAIN_SUBNORMAL), 2)
    s = r.snapshot()  # the live block shows when the card last changed
    value, ts, q = s.get("W101.CARD_POS")
    assert np.isnan(value) and ts == 2000 and q == int(Quality.UNCERTAIN_SUBNORMAL)


def test_kinds_are_enforced(ring):
    w, r = ring
    card, thp = w.index_of("W101.CARD_POS"), w.index_of("W101.THP")
    with pytest.raises(ValueError, match="array slot"):
        w.write_batch(np.array([thp, card]), np.array([1.0, 2.0]), 1, GOOD)
    with pytest.raises(ValueError, match="scalar slot"):
        w.write_array(thp, np.zeros(3), 1, GOOD)
    with pytest.raises(ValueError, match="holds 200 values"):
        w.write_array(card, np.zeros(201), 1, GOOD)
    with pytest.raises(ValueError, match="arrays keep their latest"):
        r.history("W101.CARD_POS")
    with pytest.raises(ValueError, match="scalar slot"):
        r.array("W101.THP")


def test_bad_batches_are_refused_and_change_nothing(ring):
    w, r = ring
    before = r.snapshot().generation
    with pytest.raises(ValueError, match="twice"):
        w.write_batch(np.array([0, 1, 0]), np.array([1.0, 2.0, 3.0]), 1, GOOD)
    with pytest.raises(IndexError):
        w.write_batch(np.array([0, 99]), np.array([1.0, 2.0]), 1, GOOD)
    with pytest.raises(ValueError, match="shape"):
        w.write_batch(np.array([0, 1]), np.array([1.0]), 1, GOOD)
    with pytest.raises(ValueError, match="shape"):
        w.write_batch(np.array([0, 1]), np.array([1.0, 2.0]), np.array([1, 2, 3]), GOOD)
    s = r.snapshot()
    assert s.generation == before and np.isnan(s.values).all()
    assert r.history("W101.THP")[0].size == 0


def test_unknown_tags_raise_key_error(ring):
    w, r = ring
    with pytest.raises(KeyError):
        w.index_of("W999.THP")
    with pytest.raises(KeyError):
        w.indices(["W101.THP", "W999.THP"])
    with pytest.raises(KeyError):
        r.history("W999.THP")
    with pytest.raises(KeyError):
        r.snapshot().get("W999.THP")


def test_slot_specs_are_checked(tmp_path):
    for slots, match in (([SlotSpec("a"), SlotSpec("a")], "twice"),
                         ([SlotSpec("")], "non-empty"),
                         ([SlotSpec("a", length=-1)], "length")):
        with pytest.raises(ValueError, match=match):
            RingWriter.create(tmp_path / "x.ring", slots, tagmap_version=1)
    assert not list(tmp_path.iterdir())  # nothing left behind


def test_snapshot_is_a_copy(ring):
    w, r = ring
    w.write_batch(np.array([0]), np.array([1.0]), 1, GOOD)
    s = r.snapshot()
    w.write_batch(np.array([0]), np.array([2.0]), 2, GOOD)
    assert s.values[0] == 1.0 and r.snapshot().values[0] == 2.0


def test_empty_batch_publishes_nothing(ring):
    w, r = ring
    g = r.snapshot().generation
    w.write_batch(np.array([], dtype=np.intp), np.array([]), 1, GOOD)
    assert r.snapshot().generation == g


def test_closed_writer_and_reader_refuse(ring, tmp_path):
    w, r = ring
    w.close()
    w.close()  # idempotent
    with pytest.raises(Exception, match="closed"):
        w.write_batch(np.array([0]), np.array([1.0]), 1, GOOD)
    assert r.snapshot().names[0] == "W101.THP"  # the file outlives its writer
    r.close()
    with pytest.raises(Exception, match="closed"):
        r.snapshot()
