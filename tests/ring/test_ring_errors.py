"""Damaged, foreign and half-written files: clear errors, or the last whole value."""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest

from daemons.core.quality import Quality
from daemons.core.ring import RingBusyError, RingError, RingReader, RingWriter, SlotSpec
from daemons.core.ring.layout import (
    ARRAY_HEAD,
    LIVE_HEAD,
    array_buffer_size,
    read_info,
)

GOOD = int(Quality.GOOD)


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "alarm.ring"
    with RingWriter.create(p, [SlotSpec("a"), SlotSpec("b"), SlotSpec("card", 4)],
                           tagmap_version=3, history_depth=4) as w:
        for k in range(1, 7):
            w.write_batch(np.array([0, 1]), np.array([k, -k], dtype=float), k, GOOD)
        w.write_array(2, np.array([1.0, 2, 3, 4]), 100, GOOD)
        w.write_array(2, np.array([5.0, 6, 7, 8]), 200, GOOD)
    return p


def _info(path):
    data = path.read_bytes()
    return read_info(data, len(data), path)


def _poke(path, offset: int, raw: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(raw)


def _open_error(path) -> str:
    with pytest.raises(RingError) as err:
        RingReader(path)
    assert str(path) in str(err.value)
    return err.value.what


def test_missing_file(tmp_path):
    assert "no such ring file" in _open_error(tmp_path / "acq.ring")


def test_empty_and_short_files(tmp_path):
    p = tmp_path / "acq.ring"
    p.write_bytes(b"")
    assert _open_error(p) == "truncated: empty file"
    p.write_bytes(b"WGRING\x00\x01" + bytes(20))
    assert "truncated" in _open_error(p)


def test_foreign_file(tmp_path):
    p = tmp_path / "acq.ring"
    p.write_bytes(b"SQLite format 3\x00" + bytes(4096))
    assert "bad magic" in _open_error(p)


def test_other_layout_version(path):
    _poke(path, 8, struct.pack("<I", 99))
    assert "unsupported layout version 99" in _open_error(path)


def test_cut_file(path):
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    assert f"truncated: {size // 2} bytes, the header says {size}" == _open_error(path)


def test_damaged_name_table(path):
    info = _info(path)
    _poke(path, info.layout.text_off, b"X")
    assert "damaged" in _open_error(path)


def test_writer_dead_mid_batch_leaves_the_previous_batch(path):
    """A writer killed while filling the inactive buffer: it may have stored the new
    generation and part of the values but not the CRC.  Readers get the last whole batch."""
    lay = _info(path).layout
    heads = []
    with open(path, "rb") as f:
        for k in (0, 1):
            f.seek(lay.live_at(k))
            heads.append(struct.unpack("<QQ", f.read(16)))
    newest = max((0, 1), key=lambda k: heads[k][0])
    stale = 1 - newest
    _poke(path, lay.live_at(stale), struct.pack("<Q", heads[newest][0] + 1))
    _poke(path, lay.live_at(stale) + LIVE_HEAD, struct.pack("<d", 99.0))
    with RingReader(path) as r:
        s = r.snapshot()
        assert s.generation == heads[newest][0]
        assert s.get("a") == (6.0, 6, GOOD) and s.get("b") == (-6.0, 6, GOOD)
        assert r.rejected == 1


def test_no_whole_copy_raises_busy_in_bounded_time(path):
    lay = _info(path).layout
    with RingReader(path, busy_timeout=0.05) as r:
        r.snapshot()
        for k in (0, 1):
            _poke(path, lay.live_at(k) + LIVE_HEAD, struct.pack("<d", 42.0))
        t0 = time.monotonic()
        with pytest.raises(RingBusyError, match="no consistent copy"):
            r.snapshot()
        assert time.monotonic() - t0 < 5


def test_reader_never_goes_back_to_an_older_generation(path):
    """Whole but older (another core's stores seen out of order) is not accepted."""
    lay = _info(path).layout
    with RingReader(path, busy_timeout=0.05) as r:
        g = r.snapshot().generation
        heads = []
        with open(path, "rb") as f:
            for k in (0, 1):
                f.seek(lay.live_at(k))
                heads.append(struct.unpack("<QQ", f.read(16))[0])
        newest = heads.index(g)
        _poke(path, lay.live_at(newest) + LIVE_HEAD, struct.pack("<d", 42.0))
        with pytest.raises(RingBusyError):
            r.snapshot()  # the other buffer is whole, but generation g - 1
    with RingReader(path) as fresh:
        assert fresh.snapshot().generation == g - 1  # a new reader may start there


def test_torn_history_record_is_dropped_without_a_gap(path):
    info = _info(path)
    lay = info.layout
    # slot "a" (column 0) holds samples 3..6 at rows (s-1) % 4 = 2, 3, 0, 1; tear sample 4
    row = (4 - 1) % 4
    _poke(path, lay.hist_at(0) + 8 * (row * lay.n_slots + 0), struct.pack("<d", 1e9))
    with RingReader(path) as r:
        ts, values, _ = r.history("a")
        assert ts.tolist() == [5, 6] and values.tolist() == [5.0, 6.0]
        assert r.history("b")[0].tolist() == [3, 4, 5, 6]


def test_torn_array_buffer_falls_back_to_the_previous_card(path):
    info = _info(path)
    off = int(info.array_offs[2])
    size = array_buffer_size(4)
    # the second card (seq 2) lives in buffer 2 % 2 = 0
    _poke(path, off + ARRAY_HEAD, struct.pack("<d", -1.0))
    with RingReader(path) as r:
        values, ts, q, seq = r.array("card")
        assert values.tolist() == [1.0, 2.0, 3.0, 4.0] and (ts, q, seq) == (100, GOOD, 1)
    _poke(path, off + size + ARRAY_HEAD, struct.pack("<d", -1.0))
    with RingReader(path, busy_timeout=0.05) as r, pytest.raises(RingBusyError):
        r.array("card")


def test_writer_in_a_missing_directory(tmp_path):
    with pytest.raises(RingError, match="cannot create the ring file: No such file"):
        RingWriter.create(tmp_path / "run" / "acq.ring", [SlotSpec("a")], tagmap_version=1)
