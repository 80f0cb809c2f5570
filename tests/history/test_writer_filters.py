"""The lossy options: off by default, deadband and swinging door keep their promise."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from daemons.core.history.codec import decode_chunk
from daemons.core.history.filters import deadband_keep, swinging_door_keep
from daemons.core.history.writer import HistoryWriter
from daemons.core.quality import Quality

NS = 1_000_000_000
T0 = 1_767_225_600 * NS


def _drift(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1000 + np.cumsum(rng.normal(0, 0.5, n))


def test_deadband_keeps_every_sample_within_tolerance_of_the_last_stored():
    v = _drift(600, 1)
    q = np.zeros(600, np.uint32)
    q[300:310] = Quality.BAD_NO_COMMUNICATION
    keep = deadband_keep(v, q, 2.0)
    assert keep[0] and keep[-1] and keep[299] and keep[300] and keep[310]
    assert 10 < keep.sum() < 300
    last = None
    for i in range(600):
        if keep[i]:
            last = v[i]
        else:
            assert abs(v[i] - last) <= 2.0


def test_swinging_door_interpolation_stays_within_tolerance():
    ts = T0 + np.arange(600, dtype=np.int64) * NS
    ts[200:] += 30 * NS
    v = _drift(600, 2)
    q = np.zeros(600, np.uint32)
    keep = swinging_door_keep(ts, v, q, 1.5)
    assert keep[0] and keep[-1] and keep.sum() < 200
    rebuilt = np.interp(ts.astype(float), ts[keep].astype(float), v[keep])
    assert np.max(np.abs(rebuilt - v)) <= 1.5 + 1e-9


def _stored(db, sid):
    conn = sqlite3.connect(db)
    parts = [decode_chunk(c, d, "int") for c, d in conn.execute(
        "SELECT codec, data FROM chunks WHERE series_id = ?", (sid,))]
    conn.close()
    return np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])


@pytest.mark.parametrize("method", ["deadband", "swinging-door"])
def test_writer_filters_only_the_series_that_asked(tmp_path, method):
    db = tmp_path / "h.db"
    w = HistoryWriter(db, chunk_s=600, close_grace_s=0)
    a, b = w.ensure_series([("a", "int", 0.1, 0, "psi"), ("b", "int", 0.1, 0, "psi")])
    w.set_compression(int(b), method, 0.5)  # engineering units: 5 raw counts
    raw = np.rint(_drift(600, 3) * 10).astype(np.int64)
    q = np.zeros(600, np.uint32)
    q[100] = Quality.UNCERTAIN_LAST_USABLE
    for k in range(600):
        w.append(np.array([a, b]), T0 + k * NS, np.array([raw[k], raw[k]]), q[k])
    w.append(np.array([a]), T0 + 3630 * NS, np.array([0]), 0)  # the hour closes
    w.flush()
    va, qa = _stored(db, int(a))
    assert len(_stored(db, int(b))[0]) == 600  # folded windows stay lossless ...
    w.flush()  # ... until the closed hour is compacted
    w.close()
    va, qa = _stored(db, int(a))
    vb, qb = _stored(db, int(b))
    assert np.array_equal(va[:600], raw) and np.array_equal(qa[:600], q)  # lossless default
    assert len(vb) < 300 and Quality.UNCERTAIN_LAST_USABLE in qb
    conn = sqlite3.connect(db)
    # Rollups are computed from every sample, before the filter.
    counts = conn.execute("SELECT series_id, count FROM rollup_1h ORDER BY series_id").fetchall()
    conn.close()
    assert counts == [(int(a), 600), (int(b), 600)]


def test_unknown_method_is_refused(tmp_path):
    w = HistoryWriter(tmp_path / "h.db")
    (a,) = w.ensure_series([("a", "int", 1, 0, "")])
    with pytest.raises(ValueError):
        w.set_compression(int(a), "lossy-magic", 1.0)
    w.close()


def test_replace_compression_sets_all_filters_and_clears_the_rest(tmp_path):
    db = tmp_path / "h.db"
    w = HistoryWriter(db, chunk_s=600, close_grace_s=0)
    a, b = w.ensure_series([("a", "int", 0.1, 0, "psi"), ("b", "int", 0.1, 0, "psi")])
    w.set_compression(int(a), "deadband", 0.5)
    w.replace_compression({int(b): ("swinging-door", 0.5)})  # a becomes lossless again
    raw = np.rint(_drift(600, 4) * 10).astype(np.int64)
    for k in range(600):
        w.append(np.array([a, b]), T0 + k * NS, np.array([raw[k], raw[k]]), 0)
    w.append(np.array([a]), T0 + 3630 * NS, np.array([0]), 0)
    w.flush(fold_all=True)  # folds and compacts the closed hour: the filter runs there
    with pytest.raises(ValueError):
        w.replace_compression({int(a): ("zip", 1.0)})
    w.close()
    va, _ = _stored(db, int(a))
    vb, _ = _stored(db, int(b))
    assert np.array_equal(va[:600], raw) and len(vb) < 300
