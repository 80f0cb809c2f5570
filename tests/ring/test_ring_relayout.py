"""Re-layout (tag-map change, restart): carry-over, readers following, one writer only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from daemons.core.quality import Quality
from daemons.core.ring import RingError, RingReader, RingWriter, SlotSpec

WAITING = int(Quality.BAD_WAITING_FOR_INITIAL_DATA)
GOOD = int(Quality.GOOD)


def _fill(w: RingWriter, batches: int) -> None:
    """Batch k writes k*1000 + slot to every scalar slot; the card gets [k, k+1, k+2]."""
    scalars = [i for i, n in enumerate(w.names) if n != "card"]
    idx = np.array(scalars, dtype=np.intp)
    for k in range(1, batches + 1):
        w.write_batch(idx, k * 1000.0 + idx, k, GOOD)
        if "card" in w.names:
            w.write_array(w.index_of("card"), np.array([k, k + 1, k + 2.0]), k, GOOD)


def test_kept_tags_carry_value_history_and_arrays(tmp_path):
    path = tmp_path / "acq.ring"
    old_slots = [SlotSpec("a", units="psi"), SlotSpec("b"), SlotSpec("gone"),
                 SlotSpec("card", 3), SlotSpec("kind")]
    with RingWriter.create(path, old_slots, tagmap_version=1, history_depth=4) as w1:
        _fill(w1, 6)
        g1 = w1.generation
        a_hist = RingReader(path).history("a")
    new_slots = [SlotSpec("new"), SlotSpec("b"), SlotSpec("a", units="kPa"),
                 SlotSpec("card", 3), SlotSpec("kind", 2)]
    with RingWriter.create(path, new_slots, tagmap_version=2, history_depth=4) as w2, \
            RingReader(path) as r:
        rep = w2.relayout
        assert rep.kept == ("b", "a", "card")
        assert rep.added == ("new",) and rep.dropped == ("gone",)
        assert rep.changed == ("kind",)  # scalar -> array: starts afresh
        assert rep.previous_tagmap_version == 1 and rep.previous_generation == g1
        s = r.snapshot()
        assert s.tagmap_version == 2 and s.generation > g1  # generations keep growing
        assert s.units[2] == "kPa"  # units follow the new tag map
        assert s.get("a") == (6000.0, 6, GOOD)  # was slot 0 in the old file
        assert s.get("b") == (6001.0, 6, GOOD)
        for name in ("new", "kind"):
            value, ts, q = s.get(name)
            assert np.isnan(value) and ts == 0 and q == WAITING
        for got, want in zip(r.history("a"), a_hist, strict=True):
            np.testing.assert_array_equal(got, want)
        assert r.history("a")[0].tolist() == [3, 4, 5, 6]
        values, ts, q, seq = r.array("card")
        assert values.tolist() == [6.0, 7.0, 8.0] and (ts, q, seq) == (6, GOOD, 6)
        assert r.array("kind")[3] == 0
        # the new writer continues each sequence: history and array numbers go on
        w2.write_batch(w2.indices(["a"]), np.array([7000.0]), 7, GOOD)
        w2.write_array(w2.index_of("card"), np.array([1.0]), 7, GOOD)
        assert r.history("a")[0].tolist() == [4, 5, 6, 7]
        assert r.array("card")[3] == 7


@pytest.mark.parametrize(("depth", "want"), [(3, [6, 7, 8]), (10, [3, 4, 5, 6, 7, 8])])
def test_history_depth_change_keeps_the_newest(tmp_path, depth, want):
    path = tmp_path / "calc.ring"
    slots = [SlotSpec("x"), SlotSpec("y")]
    with RingWriter.create(path, slots, tagmap_version=1, history_depth=6) as w1:
        _fill(w1, 8)
    with RingWriter.create(path, slots[::-1], tagmap_version=2, history_depth=depth) as w2, \
            RingReader(path) as r:
        assert r.history("x")[0].tolist() == want
        assert r.history("y")[1].tolist() == [k * 1000.0 + 1 for k in want]
        _fill(w2, 1)  # next sample goes after the newest carried one
        assert r.history("x")[0].tolist()[-2:] == [8, 1]


def test_reader_follows_relayout_without_reopening(tmp_path):
    path = tmp_path / "acq.ring"
    w1 = RingWriter.create(path, [SlotSpec("a"), SlotSpec("b")], tagmap_version=1)
    _fill(w1, 2)
    r = RingReader(path)
    ino = os.stat(path).st_ino
    assert r.names == ("a", "b") and r.tagmap_version == 1
    w2 = RingWriter.create(path, [SlotSpec("b"), SlotSpec("c")], tagmap_version=2)
    assert os.stat(path).st_ino != ino  # a new file replaced the old one atomically
    w1.close()
    assert r.snapshot().names == ("b", "c")
    assert r.tagmap_version == 2 and r.reopened == 1
    with pytest.raises(KeyError):
        r.history("a")
    _fill(w2, 3)
    assert r.snapshot().get("c") == (3001.0, 3, GOOD)
    r.close()
    w2.close()


def test_reader_follows_on_superseded_flag_alone(tmp_path, monkeypatch):
    """Even if the inode check were fooled (inode reuse), the flag makes readers reopen."""
    path = tmp_path / "acq.ring"
    with RingWriter.create(path, [SlotSpec("a")], tagmap_version=1), RingReader(path) as r:
        real_stat = os.stat
        first = real_stat(path)

        class Same:
            st_dev, st_ino = first.st_dev, first.st_ino
        monkeypatch.setattr(os, "stat", lambda p, *a, **k: Same())
        assert r.tagmap_version == 1
        with RingWriter.create(path, [SlotSpec("a"), SlotSpec("z")], tagmap_version=5):
            assert r.tagmap_version == 5 and r.names == ("a", "z")


def test_superseded_writer_refuses_to_write(tmp_path):
    path = tmp_path / "acq.ring"
    w1 = RingWriter.create(path, [SlotSpec("a")], tagmap_version=1)
    w2 = RingWriter.create(path, [SlotSpec("a")], tagmap_version=2)
    with pytest.raises(RingError, match="replaced by a newer ring file"):
        w1.write_batch(np.array([0]), np.array([1.0]), 1, GOOD)
    w1.close()
    w2.close()


def test_garbage_at_the_path_is_replaced(tmp_path):
    path = tmp_path / "acq.ring"
    path.write_bytes(b"this is not a ring" * 100)
    with RingWriter.create(path, [SlotSpec("a")], tagmap_version=1) as w:
        assert w.relayout.unreadable == "not a wellgate ring file (bad magic)"
        assert w.relayout.added == ("a",)
    assert RingReader(path).names == ("a",)


_OTHER_WRITER = textwrap.dedent("""
    import sys, json, numpy as np
    from pathlib import Path
    from daemons.core.ring import RingWriter, SlotSpec
    w = RingWriter.create(Path(sys.argv[1]), [SlotSpec(f"t{j}") for j in range(50)],
                          tagmap_version=1, history_depth=16)
    idx = np.arange(50)
    k = 0
    while True:
        k += 1
        w.write_batch(idx, k * 1000.0 + idx, k, 0)
        if k == 100:
            print(json.dumps({"pid": __import__("os").getpid()}), flush=True)
""")


def test_one_writer_per_ring_and_a_killed_writer_is_replaced(tmp_path):
    path = tmp_path / "acq.ring"
    proc = subprocess.Popen([sys.executable, "-c", _OTHER_WRITER, str(path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        pid = json.loads(proc.stdout.readline())["pid"]
        with pytest.raises(RingError, match=f"another process \\(pid {pid}\\)"):
            RingWriter.create(path, [SlotSpec("t0")], tagmap_version=2)
        os.kill(pid, signal.SIGKILL)  # dies wherever it is, maybe mid-batch
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with RingWriter.create(path, [SlotSpec(f"t{j}") for j in range(50)], tagmap_version=2,
                           history_depth=16) as w, RingReader(path) as r:
        s = r.snapshot()
        k = int(s.ts_ns[0])
        assert k >= 100 and (s.ts_ns == k).all()  # one whole batch survived
        np.testing.assert_array_equal(s.values, k * 1000.0 + np.arange(50))
        for j in (0, 49):
            ts, values, _ = r.history(f"t{j}")
            assert len(ts) >= 15 and (np.diff(ts) == 1).all()
            np.testing.assert_array_equal(values, ts * 1000.0 + j)
        assert w.relayout.kept == tuple(f"t{j}" for j in range(50))
