"""Retention by age (raw, 1 m, 1 h separately) and by disk budget (oldest first)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from daemons.core.history import retention as ret
from daemons.core.history.writer import HistoryWriter

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
HOUR = 3600 * NS


def _fill(db, hours: int, tags: int = 20, step_s: int = 10, **kw) -> HistoryWriter:
    """``hours`` of samples every ``step_s`` for ``tags`` noisy series, all folded."""
    w = HistoryWriter(db, chunk_s=600, close_grace_s=0, **kw)
    ids = w.ensure_series([(f"t{i}", "int", 1, 0, "") for i in range(tags)])
    rng = np.random.default_rng(0)
    for k in range(0, hours * 3600, step_s):
        w.append(ids, T0 + k * NS, rng.integers(0, 60_000, tags), 0)
        if k % 600 == 0:
            w.flush()
    w.fold_open()
    return w


def _span(conn, table, column):
    return conn.execute(f"SELECT min({column}), max({column}), count(*) FROM {table}").fetchone()


def test_age_limits_apply_to_each_table_separately(tmp_path):
    w = _fill(tmp_path / "h.db", hours=6)
    w.close()
    conn = sqlite3.connect(tmp_path / "h.db")
    now = T0 + 6 * HOUR
    policy = ret.RetentionPolicy(raw_s=2 * 3600, rollup_1m_s=4 * 3600, rollup_1h_s=5 * 3600)
    with conn:
        report = ret.apply(conn, policy, now)
    assert _span(conn, "chunks", "end_ns")[0] >= now - 2 * HOUR
    assert _span(conn, "rollup_1m", "bucket_ns")[0] >= now - 4 * HOUR
    assert _span(conn, "rollup_1h", "bucket_ns")[0] >= now - 5 * HOUR
    # Only what was too old went: the newest rows of every table are still there.
    assert _span(conn, "rollup_1m", "bucket_ns")[1] == now - 60 * NS
    assert report.deleted["rollup_1h"] == 20  # hour 0 of each series: bucket < now - 5 h
    conn.close()


def test_disk_budget_deletes_oldest_raw_first_then_rollups(tmp_path):
    w = _fill(tmp_path / "h.db", hours=4, tags=50, step_s=1)
    w.close()
    conn = sqlite3.connect(tmp_path / "h.db")
    full = ret.used_bytes(conn)
    newest_chunk = _span(conn, "chunks", "start_ns")[1]
    rollups_before = _span(conn, "rollup_1m", "bucket_ns")
    with conn:
        report = ret.apply(conn, ret.RetentionPolicy(max_bytes=full // 2), T0)
    assert report.used_bytes <= full // 2
    lo, hi, _ = _span(conn, "chunks", "start_ns")
    assert hi == newest_chunk and lo > T0  # oldest windows went, the newest stayed
    assert _span(conn, "rollup_1m", "bucket_ns") == rollups_before  # rollups untouched
    with conn:  # a budget below what the rollups take removes all raw data, then rollups
        ret.apply(conn, ret.RetentionPolicy(max_bytes=1), T0)
    assert _span(conn, "chunks", "start_ns")[2] == 0
    assert _span(conn, "rollup_1m", "bucket_ns")[2] == 0
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
    for k in range(0, 5 * 3600, 2):  # five hours, wall clock == data clock
        now[0] = float(k)
        w.append(ids, T0 + k * NS, rng.integers(0, 60_000, 20), 0)
        w.maybe_flush()
    w.close()
    conn = sqlite3.connect(db)
    lo = _span(conn, "chunks", "end_ns")[0]
    assert lo >= T0 + 5 * HOUR - HOUR - 120 * NS  # within a retention period of the limit
    assert _span(conn, "rollup_1m", "bucket_ns")[0] == T0  # rollups outlive raw data
    # At most an hour plus one retention period of raw windows is left, per series.
    assert _span(conn, "chunks", "start_ns")[2] <= 20 * 8
    conn.close()


def test_policy_values_must_be_positive():
    with pytest.raises(ValueError):
        ret.RetentionPolicy(raw_s=0)
