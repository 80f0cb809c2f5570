"""HistoryWriter: exact round trips through the database, windows, staging, rollups."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from daemons.core.history.codec import decode_chunk, decode_staging
from daemons.core.history.compact import MAX_CHUNK_BYTES
from daemons.core.history.writer import HistoryWriter
from daemons.core.quality import Quality
from daemons.core.store.sqlite import StoreError

NS = 1_000_000_000
T0 = 1_767_225_600 * NS  # 2026-01-01T00:00:00Z, on a window boundary


def _read(path: Path, sid: int, kind: str = "int") -> tuple[np.ndarray, ...]:
    """All samples of a series from chunks and staging, via a read-only connection."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    parts = [decode_chunk(c, d, kind) for c, d in conn.execute(
        "SELECT codec, data FROM chunks WHERE series_id = ? ORDER BY start_ns", (sid,))]
    for c, d in conn.execute("SELECT codec, data FROM staging ORDER BY window_ns, seq"):
        s, ts, v, q = decode_staging(c, d)
        m = s == sid
        # Staging keeps what was appended; int series come back as their raw integers.
        parts.append((ts[m], v[m].astype(np.int64 if kind == "int" else np.float64), q[m]))
    conn.close()
    ts = np.concatenate([p[0] for p in parts])
    order = np.argsort(ts, kind="stable")
    return tuple(np.concatenate([p[i] for p in parts])[order] for i in range(3))


@pytest.fixture
def writer(tmp_path):
    w = HistoryWriter(tmp_path / "history.db", chunk_s=60, flush_s=10, close_grace_s=0)
    yield w
    w.close()


def test_round_trip_is_exact_across_windows_gaps_and_quality(writer, tmp_path):
    ids = writer.ensure_series([("p", "int", 0.01, 0, "psi"), ("t", "float", 1, 0, "degF")])
    rng = np.random.default_rng(5)
    ticks = np.concatenate([np.arange(0, 100), np.arange(130, 250)])  # a 30 s gap
    raw = 20_000 + rng.integers(-2, 3, len(ticks))
    temp = rng.normal(150, 0.2, len(ticks))
    quality = np.where((ticks >= 40) & (ticks < 45), Quality.BAD_NO_COMMUNICATION, 0)
    for i, k in enumerate(ticks):
        writer.append(ids, T0 + int(k) * NS, np.array([raw[i], temp[i]]),
                      np.array([quality[i], 0], np.uint32))
        if i % 37 == 0:
            writer.flush()
    writer.flush(fold_all=True)
    db = tmp_path / "history.db"
    ts, v, q = _read(db, int(ids[0]))
    assert np.array_equal(ts, T0 + ticks * NS)
    assert np.array_equal(v, raw) and v.dtype == np.int64
    assert np.array_equal(q, quality)
    ts, v, q = _read(db, int(ids[1]), "float")
    assert np.array_equal(v, temp)
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT start_ns, end_ns, count FROM chunks WHERE series_id = ? "
                        "ORDER BY start_ns", (int(ids[0]),)).fetchall()
    conn.close()
    # Windows 0-59, 60-119, 120-179, 180-239 closed (newest tick 249, grace 0); 240- open.
    assert [r[0] for r in rows] == [T0 + w * 60 * NS for w in range(4)]
    for start, end, count in rows:
        inside = (ticks * NS + T0 >= start) & (ticks * NS + T0 < start + 60 * NS)
        assert count == inside.sum() and end == T0 + ticks[inside][-1] * NS


def test_staging_holds_open_windows_until_they_close(writer, tmp_path):
    (sid,) = writer.ensure_series([("a", "int", 1, 0, "")])
    for k in range(50):
        writer.append(np.array([sid]), T0 + k * NS, np.array([k]), 0)
    writer.flush()
    conn = sqlite3.connect(tmp_path / "history.db")
    assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] == 0
    assert conn.execute("SELECT sum(count) FROM staging").fetchone()[0] == 50
    for k in range(50, 61):  # tick 60 opens the next window: window 0 closes
        writer.append(np.array([sid]), T0 + k * NS, np.array([k]), 0)
    writer.flush()
    assert conn.execute("SELECT count, end_ns FROM chunks").fetchall() == [(60, T0 + 59 * NS)]
    assert conn.execute("SELECT sum(count) FROM staging").fetchone()[0] == 1
    conn.close()


def test_a_late_sample_is_merged_into_its_folded_chunk(writer, tmp_path):
    (sid,) = writer.ensure_series([("a", "int", 1, 0, "")])
    for k in [*range(0, 10), *range(11, 70)]:
        writer.append(np.array([sid]), T0 + k * NS, np.array([k]), 0)
    writer.flush()
    writer.append(np.array([sid]), T0 + 10 * NS, np.array([10]), 0)  # arrives late
    writer.append(np.array([sid]), T0 + 3 * NS, np.array([-3]), 0)  # a correction
    writer.flush(fold_all=True)
    ts, v, _ = _read(tmp_path / "history.db", int(sid))
    assert np.array_equal(ts, T0 + np.arange(70) * NS)
    expected = np.arange(70)
    expected[3] = -3  # of two samples with one timestamp the later append wins
    assert np.array_equal(v, expected)


def test_hour_rollup_holds_engineering_values_of_good_samples(writer, tmp_path):
    (sid,) = writer.ensure_series([("p", "int", 0.5, 10.0, "psi")])
    raw = np.arange(180) % 37
    quality = np.where(np.arange(180) % 10 == 0, Quality.BAD_SENSOR_FAILURE, 0)
    quality[60:120] = Quality.BAD_NO_COMMUNICATION  # a whole minute without Good data
    for k in range(180):
        writer.append(np.array([sid]), T0 + k * NS, np.array([raw[k]]), quality[k])
    writer.flush(fold_all=True)
    conn = sqlite3.connect(tmp_path / "history.db")
    assert conn.execute("SELECT count(*) FROM rollup_1h").fetchone()[0] == 0  # hour open
    writer.append(np.array([sid]), T0 + 3600 * NS, np.array([0]), 0)  # the hour closes
    writer.flush(fold_all=True)
    hour = conn.execute("SELECT bucket_ns, count, good, min, max, sum, last, last_ns "
                        "FROM rollup_1h").fetchall()
    # No 1-minute rows while raw data exists: readers compute minutes from raw.
    assert conn.execute("SELECT count(*) FROM rollup_1m").fetchone()[0] == 0
    conn.close()
    eng = raw * 0.5 + 10.0
    good = quality == 0
    last = int(np.flatnonzero(good)[-1])
    assert hour == [(T0, 180, int(good.sum()), eng[good].min(), eng[good].max(),
                     pytest.approx(eng[good].sum()), eng[last], T0 + last * NS)]


def test_a_resent_sample_is_not_counted_twice(tmp_path):
    db = tmp_path / "history.db"
    w = HistoryWriter(db, chunk_s=60, flush_s=10, close_grace_s=0)
    (sid,) = w.ensure_series([("p", "int", 1, 0, "psi")])
    n = 3600 + 120
    w.append(np.full(n, sid), T0 + np.arange(n) * NS, np.arange(n) % 100, 0)
    w.flush(fold_all=True)  # hour 0 is closed: folded and compacted
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count, max FROM rollup_1h").fetchall() == [(3600, 99.0)]
    w.append(np.array([sid, sid]), np.array([T0 + 5 * NS, T0 + 7 * NS]),
             np.array([500, 7]), 0)  # re-sent: one corrected value, one unchanged
    w.flush(fold_all=True)
    assert conn.execute("SELECT count, max FROM rollup_1h").fetchall() == [(3600, 500.0)]
    conn.close()
    ts, v, _ = _read(db, int(sid))
    expected = np.arange(n) % 100
    expected[5] = 500
    assert np.array_equal(ts, T0 + np.arange(n) * NS) and np.array_equal(v, expected)


def test_closed_hours_become_one_chunk_per_series(tmp_path):
    db = tmp_path / "history.db"
    w = HistoryWriter(db, chunk_s=600, flush_s=10, close_grace_s=30)
    ids = w.ensure_series([("noisy", "int", 1, 0, ""), ("state", "int", 1, 0, ""),
                           ("f", "float", 1, 0, "")])
    rng = np.random.default_rng(2)
    hours = 3
    for k in range(hours * 3600 + 60):
        w.append(ids, T0 + k * NS, np.array([rng.integers(0, 30), k // 5000,
                                             np.float32(rng.normal())]), 0)
        if k % 10 == 0:
            w.maybe_flush(now=float(k))
    w.flush(fold_all=True)
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT series_id, start_ns, end_ns, length(data) FROM chunks "
                        "WHERE start_ns < ? ORDER BY series_id, start_ns",
                        (T0 + hours * 3600 * NS,)).fetchall()
    conn.close()
    by = {int(s): [(r[1], r[2], r[3]) for r in rows if r[0] == s] for s in ids}
    # A noisy tag: one chunk per hour.
    assert [r[0] for r in by[int(ids[0])]] == [T0 + h * 3600 * NS for h in range(hours)]
    # A state word: its small hours join the chunk of the day.
    assert len(by[int(ids[1])]) == 1 and by[int(ids[1])][0][1] == T0 + (hours * 3600 - 1) * NS
    # Float noise does not fit one row: cut at window edges, every row under the limit.
    assert all(size <= MAX_CHUNK_BYTES for *_, size in by[int(ids[2])])
    assert all((start - T0) % (600 * NS) == 0 for start, *_ in by[int(ids[2])])
    for i, sid in enumerate(ids):
        ts, _v, _ = _read(db, int(sid), "float" if i == 2 else "int")
        assert np.array_equal(ts, T0 + np.arange(hours * 3600 + 60) * NS)


def test_reopen_keeps_series_and_staged_windows(tmp_path):
    db = tmp_path / "history.db"
    w = HistoryWriter(db, chunk_s=60, close_grace_s=0)
    ids = w.ensure_series([("a", "int", 1, 0, ""), ("b", "float", 1, 0, "")])
    w.append(ids, T0, np.array([1.0, 2.5]), 0)
    w.close()
    w = HistoryWriter(db, chunk_s=60, close_grace_s=0)
    again = w.ensure_series([("b", "float", 1, 0, ""), ("c", "int", 1, 0, "")])
    assert again[0] == ids[1] and again[1] not in ids
    w.append(ids, T0 + 61 * NS, np.array([3.0, 4.5]), 0)
    w.flush(fold_all=True)
    w.close()
    assert np.array_equal(_read(db, int(ids[0]))[1], [1, 3])
    assert np.array_equal(_read(db, int(ids[1]), "float")[1], [2.5, 4.5])
    with pytest.raises(StoreError):  # chunk length is a property of the database
        HistoryWriter(db, chunk_s=600)


def test_append_is_vectorised_and_validated(writer):
    ids = writer.ensure_series([(f"t{i}", "int", 1, 0, "") for i in range(1000)])
    values = np.arange(1000)
    writer.append(ids, T0, values, 0)
    values[:] = -1  # the writer copied the caller's buffer
    writer.flush(fold_all=True)
    with pytest.raises(ValueError):
        writer.append(np.array([99_999]), T0, np.array([1]), 0)
    with pytest.raises(ValueError):
        writer.append(ids[:2], T0, np.array([1]), 0)
    with pytest.raises(ValueError):
        writer.ensure_series([("x", "text", 1, 0, "")])


def test_maybe_flush_follows_the_flush_interval(tmp_path):
    now = [100.0]
    w = HistoryWriter(tmp_path / "h.db", flush_s=10, clock=lambda: now[0])
    (sid,) = w.ensure_series([("a", "int", 1, 0, "")])
    w.append(np.array([sid]), T0, np.array([1]), 0)
    now[0] = 109.9
    assert not w.maybe_flush()
    now[0] = 110.0
    assert w.maybe_flush()
    assert not w.maybe_flush()
    w.close()


def test_fast_fold_chunks_get_their_final_encoding_at_compaction(tmp_path):
    db = tmp_path / "history.db"
    w = HistoryWriter(db, chunk_s=3600, close_grace_s=0)  # one window per hour
    (sid,) = w.ensure_series([("p", "int", 1, 0, "")])
    rng = np.random.default_rng(9)
    values = np.cumsum(rng.integers(-50, 51, 3601))  # a trend pcodec codes better
    w.append(np.full(3601, sid), T0 + np.arange(3601) * NS, values, 0)
    w.flush()  # folds hour 0 (fast), nothing compacted yet
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT codec FROM chunks").fetchall() == [(4,)]
    w.flush()  # nothing to fold: compacts the closed hour
    assert conn.execute("SELECT codec FROM chunks WHERE start_ns = ?", (T0,)).fetchall() \
        == [(1,)]
    conn.close()
    w.close()
    assert np.array_equal(_read(db, int(sid))[1], values)
