"""RingDirectory: every ring of a runtime directory merged, as the CLI and webd see it."""

from __future__ import annotations

import numpy as np
import pytest

from daemons.core.quality import Quality
from daemons.core.ring import RingDirectory, RingError, RingWriter, SlotSpec

GOOD = int(Quality.GOOD)


def test_merges_rings_and_finds_each_tag(tmp_path):
    acq = RingWriter.create(tmp_path / "acq.ring",
                            [SlotSpec("W1.THP", units="psi"), SlotSpec("W1.CARD", 3)],
                            tagmap_version=1)
    calc = RingWriter.create(tmp_path / "calc.ring", [SlotSpec("W1.FILLAGE", units="%")],
                             tagmap_version=4, history_depth=3)
    (tmp_path / "history.db").write_bytes(b"not a ring")  # other files are ignored
    acq.write_batch(np.array([0]), np.array([850.0]), 11, GOOD)
    acq.write_array(1, np.array([1.0, 2.0]), 12, GOOD)
    for k in range(1, 5):
        calc.write_batch(np.array([0]), np.array([80.0 + k]), k, GOOD)
    with RingDirectory(tmp_path) as d:
        s = d.snapshot()
        assert s.names == ("W1.THP", "W1.CARD", "W1.FILLAGE")
        assert s.units == ("psi", "", "%")
        assert s.segment == ("acq", "acq", "calc")
        assert s.is_array.tolist() == [False, True, False]
        assert s.get("W1.THP") == (850.0, 11, GOOD)
        assert s.get("W1.FILLAGE") == (84.0, 4, GOOD)
        assert s.segments["calc"].tagmap_version == 4
        assert s.duplicates == () and dict(s.errors) == {}
        assert d.history("W1.FILLAGE")[1].tolist() == [82.0, 83.0, 84.0]
        values, ts, q, seq = d.array("W1.CARD")
        assert values.tolist() == [1.0, 2.0] and (ts, q, seq) == (12, GOOD, 1)
        with pytest.raises(KeyError):
            d.history("W9.NOPE")
        # a ring that appears later (alarmd starting) is picked up
        with RingWriter.create(tmp_path / "alarm.ring", [SlotSpec("W1.THP.HI")],
                               tagmap_version=1):
            assert d.snapshot().segment == ("acq", "acq", "alarm", "calc")
        (tmp_path / "alarm.ring").unlink()
        assert "alarm" not in d.snapshot().segments
    acq.close()
    calc.close()


def test_a_bad_ring_does_not_hide_the_others(tmp_path):
    with RingWriter.create(tmp_path / "acq.ring", [SlotSpec("x")], tagmap_version=1):
        (tmp_path / "calc.ring").write_bytes(b"garbage" * 100)
        with RingDirectory(tmp_path) as d:
            s = d.snapshot()
            assert s.names == ("x",)
            assert "bad magic" in s.errors["calc"]


def test_duplicate_names_across_rings_are_reported(tmp_path):
    with RingWriter.create(tmp_path / "acq.ring", [SlotSpec("x")], tagmap_version=1), \
            RingWriter.create(tmp_path / "calc.ring", [SlotSpec("x")], tagmap_version=1), \
            RingDirectory(tmp_path) as d:
        s = d.snapshot()
        assert s.duplicates == ("x",) and s.index["x"] == 0


def test_nothing_to_read_is_a_clear_error(tmp_path):
    with pytest.raises(RingError, match="does not exist"):
        RingDirectory(tmp_path / "nope").snapshot()
    with pytest.raises(RingError, match="no ring files"):
        RingDirectory(tmp_path).snapshot()
    (tmp_path / "acq.ring").write_bytes(b"")
    with pytest.raises(RingError, match="acq: truncated"):
        RingDirectory(tmp_path).snapshot()
