"""Retention by age (raw, 1 m, 1 h separately) and by disk budget (oldest first)."""

from __future__ import annotations

import sqlite3
import warnings

import numpy as np
import pytest

from daemons.core.history import retention as ret
from daemons.core.history.codec import decode_rollup
from daemons.core.history.writer import HistoryWriter
from daemons.core.quality import Quality

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
HOUR = 3600 * NS


def _fill(db, hours: int, tags: int = 20, step_s: int = 10, **kw) -> HistoryWriter:
    """``hours`` of samples every ``step_s`` for ``tags`` noisy series, all folded."""
    w = HistoryWriter(db, chunk_s=600, close_grace_s=0, **kw)
    ids = w.ensure_series([(f"t{i}", "int", 1, 0, "") for i in range(tags)])
    rng = np.random.default_rng(0)
    for k in range(0, hours * 3600, step_s):
        w.append(ids, T0 + k * NS, rng.integers(0, 4_000, tags), 0)
        if k % 600 == 0:
            w.flush()
    w.fold_open()
    return w


def _span(conn, table, column):
    return conn.execute(f"SELECT min({column}), max({column}), count(*) FROM {table}").fetchone()


def test_age_limits_apply_to_each_table_separately(tmp_path):
    w = _fill(tmp_path / "h.db", hours=6, step_s=2)  # ~2.7 KB an hour: a chunk each
    w.close()
    conn = sqlite3.connect(tmp_path / "h.db")
    now = T0 + 6 * HOUR
    policy = ret.RetentionPolicy(raw_s=2 * 3600, rollup_1m_s=4 * 3600, rollup_1h_s=5 * 3600)
    assert _span(conn, "rollup_1m", "start_ns")[2] == 0  # minutes come from raw while it lives
    with conn:
        report = ret.apply(conn, policy, now)
    assert _span(conn, "chunks", "end_ns")[0] >= now - 2 * HOUR
    # Raw hours 0-3 aged out; their minutes were materialised, then hours 0-1 of those
    # were older than the 1-minute limit: minutes of hours 2 and 3 remain.
    assert _span(conn, "rollup_1m", "start_ns")[0] == T0 + 2 * HOUR
    assert _span(conn, "rollup_1m", "end_ns")[1] == T0 + 4 * HOUR - 60 * NS
    assert _span(conn, "rollup_1h", "bucket_ns")[0] >= now - 5 * HOUR
    assert report.deleted["rollup_1h"] == 20  # hour 0 of each series: bucket < now - 5 h
    assert report.deleted["chunks"] == 4 * 20  # compacted: one chunk per series and hour
    conn.close()


def test_aged_out_minutes_keep_the_statistics_of_the_raw_samples(tmp_path):
    db = tmp_path / "h.db"
    w = HistoryWriter(db, chunk_s=600, close_grace_s=0)
    (sid,) = w.ensure_series([("p", "int", 0.5, 10.0, "psi")])
    n = 2 * 3600
    raw = np.random.default_rng(3).integers(0, 1000, n)
    quality = np.where(np.arange(n) % 10 == 0, Quality.BAD_SENSOR_FAILURE, 0).astype(np.uint32)
    quality[60:120] = Quality.BAD_NO_COMMUNICATION  # a whole minute without Good data
    w.append(np.full(n, sid), T0 + np.arange(n) * NS, raw, quality)
    w.fold_open()
    w.close()
    conn = sqlite3.connect(db)
    with conn:
        ret.apply(conn, ret.RetentionPolicy(raw_s=1), T0 + 10 * HOUR)
    assert _span(conn, "chunks", "start_ns")[2] == 0
    cols = [decode_rollup(c, d) for c, d in conn.execute(
        "SELECT codec, data FROM rollup_1m ORDER BY start_ns")]
    conn.close()
    got = {k: np.concatenate([c[k] for c in cols]) for k in cols[0]}
    eng = (raw * 0.5 + 10.0).reshape(-1, 60)
    good = (quality == 0).reshape(-1, 60)
    assert np.array_equal(got["bucket_ns"], T0 + np.arange(n // 60) * 60 * NS)
    assert np.array_equal(got["count"], np.full(n // 60, 60))
    assert np.array_equal(got["good"], good.sum(axis=1))
    masked = np.where(good, eng, np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.array_equal(got["min"], np.nanmin(masked, axis=1), equal_nan=True)
        assert np.array_equal(got["max"], np.nanmax(masked, axis=1), equal_nan=True)
    assert np.isnan(got["min"][1]) and got["good"][1] == 0  # the minute without Good data
    assert np.allclose(got["sum"][good.any(axis=1)], np.nansum(masked, axis=1)[good.any(axis=1)])
    last_idx = 59 - np.argmax(good[:, ::-1], axis=1)
    assert np.array_equal(got["last"][0], eng[0, last_idx[0]])
    assert got["last_offset_ns"][0] == last_idx[0] * NS


def test_disk_budget_deletes_oldest_raw_first_then_rollups(tmp_path):
    w = _fill(tmp_path / "h.db", hours=4, tags=50, step_s=1)
    w.close()
    conn = sqlite3.connect(tmp_path / "h.db")
    full = ret.used_bytes(conn)
    newest_chunk = _span(conn, "chunks", "start_ns")[1]
    hours_before = _span(conn, "rollup_1h", "bucket_ns")
    with conn:
        report = ret.apply(conn, ret.RetentionPolicy(max_bytes=full // 2), T0)
    assert report.used_bytes <= full // 2
    lo, hi, _ = _span(conn, "chunks", "start_ns")
    assert hi == newest_chunk and lo > T0  # oldest hours went, the newest stayed
    assert _span(conn, "rollup_1m", "start_ns")[0] == T0  # ... their minutes stayed
    assert _span(conn, "rollup_1h", "bucket_ns") == hours_before  # hours untouched
    with conn:  # a budget below what the rollups take removes all raw data, then rollups
        ret.apply(conn, ret.RetentionPolicy(max_bytes=1), T0)
    assert _span(conn, "chunks", "start_ns")[2] == 0
    assert _span(conn, "rollup_1m", "start_ns")[2] == 0
    assert _span(conn, "rollup_1h", "bucket_ns")[2] == 0
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_writer_runs_retention_periodically_and_file_stops_growing(tmp_path):
    now = [0.0]
    db = tmp_path / "h.db"
    policy = ret.RetentionPolicy(raw_s=3600)
    w = HistoryWriter(db, chunk_s=600, close_grace_s=0, retention=policy,
                      retention_every_s=60, clock=lambda: now[0],
                      wall_ns=lambda: T0 + int(now[0] * NS))
    ids = w.ensure_series([(f"t{i}", "int", 1, 0, "") for i in range(20)])
    rng = np.random.default_rng(1)
    sizes = []
    for k in range(0, 5 * 3600, 2):  # five hours, wall clock == data clock
        now[0] = float(k)
        w.append(ids, T0 + k * NS, rng.integers(0, 60_000, 20), 0)
        w.maybe_flush()
        if k % 3600 == 0:  # the database's logical size, free pages included
            with sqlite3.connect(db) as reader:
                sizes.append(reader.execute("PRAGMA page_count").fetchone()[0])
    w.close()
    conn = sqlite3.connect(db)
    lo = _span(conn, "chunks", "end_ns")[0]
    assert lo >= T0 + 5 * HOUR - HOUR - 120 * NS  # within a retention period of the limit
    assert _span(conn, "rollup_1m", "start_ns")[0] == T0  # minutes outlive raw data
    # At most an hour plus one retention period of raw windows is left, per series.
    assert _span(conn, "chunks", "start_ns")[2] <= 20 * 8
    conn.close()
    # Raw data of about an hour is all that is kept: freed pages are reused, so the file
    # grows no more than the minutes it materialises (a few bytes per minute) after hour 2.
    assert sizes[-1] - sizes[2] < 0.25 * sizes[2], sizes


def test_policy_values_must_be_positive():
    with pytest.raises(ValueError):
        ret.RetentionPolicy(raw_s=0)
