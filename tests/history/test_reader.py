"""HistoryReader: raw ranges across chunk boundaries, scaling, merging, rollups, latest."""

import sqlite3
import time

import numpy as np
import pytest

from daemons.core.history import retention
from daemons.core.history.reader import HistoryReader
from daemons.core.history.writer import HistoryWriter
from daemons.core.quality import Quality

DAY = 86_400
NS = 1_000_000_000
T0 = 1_780_000_200 * NS  # a 600 s window boundary plus 200 s


def fill(db, tag, ts, values, quality, *, kind, scale=1.0, offset=0.0, units="",
         fold=True):
    """Store samples with the real writer; ``fold=False`` leaves them staged (open window)."""
    with HistoryWriter(db, wall_ns=lambda: int(ts[-1])) as w:
        (sid,) = w.ensure_series([(tag, kind, scale, offset, units)])
        w.append(np.full(len(ts), sid), ts, values, quality)
        if fold:
            w.fold_open()
        else:
            w.flush()


def _ramp(n, step=1):
    ts = T0 + np.arange(n, dtype=np.int64) * step * NS
    return ts, np.arange(n, dtype=np.int64) % 5000, np.zeros(n, np.uint32)


def test_raw_round_trip_across_chunk_boundaries(tmp_path):
    db = tmp_path / "history.db"
    ts, raw, q = _ramp(3_000)
    q[1_000:1_100] = Quality.BAD_NO_COMMUNICATION
    fill(db, "W1.THP", ts, raw, q, kind="int", scale=0.1, offset=-5.0, units="psi")
    with HistoryReader([db]) as r:
        got_ts, got_v, got_q = r.raw("W1.THP", int(ts[0]), int(ts[-1]) + 1)
        assert np.array_equal(got_ts, ts)
        assert np.allclose(got_v, raw * 0.1 - 5.0)
        assert np.array_equal(got_q, q)
        # Half-open range crossing the 600 s chunk windows: exactly the samples inside.
        a, b = int(ts[590]), int(ts[1_810])
        sub_ts, _, _ = r.raw("W1.THP", a, b)
        assert np.array_equal(sub_ts, ts[590:1_810])
        assert r.raw("W1.THP", a, a)[0].size == 0
        assert r.raw("NOPE", a, b)[0].size == 0
        info = r.series()
        assert [(s.tag, s.kind, s.scale, s.units) for s in info] == [
            ("W1.THP", "int", 0.1, "psi")]


def test_gaps_stay_gaps(tmp_path):
    db = tmp_path / "history.db"
    ts, raw, q = _ramp(2_000)
    keep = np.r_[0:700, 1_500:2_000]  # 800 s without samples, spanning a whole window
    fill(db, "T", ts[keep], raw[keep], q[keep], kind="int")
    with HistoryReader([db]) as r:
        got, _, _ = r.raw("T", int(ts[0]), int(ts[-1]) + 1)
    assert np.array_equal(got, ts[keep])


def test_float_series(tmp_path):
    db = tmp_path / "calc-history.db"
    ts = T0 + np.arange(1_000, dtype=np.int64) * NS
    v = np.random.default_rng(1).normal(100, 3, 1_000)
    fill(db, "W1.RATE", ts, v, np.zeros(1_000, np.uint32), kind="float")
    with HistoryReader([db]) as r:
        _, got, _ = r.raw("W1.RATE", int(ts[0]), int(ts[-1]) + 1)
    assert np.array_equal(got, v)  # bit for bit


def test_merges_several_databases_first_wins(tmp_path):
    acq, imp, calc = (tmp_path / n for n in ("history.db", "import-history.db",
                                             "calc-history.db"))
    ts, raw, q = _ramp(1_200)
    fill(acq, "W1.THP", ts[600:], raw[600:], q[600:], kind="int")
    # The import overlaps acqd's record by 100 samples with different values.
    fill(imp, "W1.THP", ts[:700], raw[:700] + 10_000, q[:700], kind="int")
    fill(calc, "W1.RATE", ts, raw.astype(float), q, kind="float")
    missing = tmp_path / "not-yet.db"
    with HistoryReader([acq, imp, calc, missing]) as r:
        assert [s.tag for s in r.series()] == ["W1.RATE", "W1.THP"]
        got_ts, got_v, _ = r.raw("W1.THP", int(ts[0]), int(ts[-1]) + 1)
        assert np.array_equal(got_ts, ts)
        assert np.array_equal(got_v[600:], raw[600:])  # acqd's own record wins
        assert np.array_equal(got_v[:600], raw[:600] + 10_000)
        assert r.raw("W1.RATE", int(ts[0]), int(ts[-1]) + 1)[0].size == 1_200
        last = r.latest_before("W1.THP", int(ts[650]))
        assert last == (int(ts[650]), float(raw[650]), 0)
        # A database that appears later is picked up by the same reader.
        fill(missing, "LATE", ts[:10], raw[:10], q[:10], kind="int")
        assert r.has("LATE")


def test_latest_before(tmp_path):
    db = tmp_path / "history.db"
    ts, raw, q = _ramp(1_300)
    keep = np.r_[0:100, 1_250:1_300]  # the chunk before the gap ends early
    fill(db, "T", ts[keep], raw[keep], q[keep], kind="int", scale=2.0)
    with HistoryReader([db]) as r:
        assert r.latest_before("T", int(ts[0]) - 1) is None
        assert r.latest_before("T", int(ts[0])) == (int(ts[0]), 0.0, 0)
        # Inside the gap: found in an earlier chunk than the one whose window holds ts.
        assert r.latest_before("T", int(ts[1_200])) == (int(ts[99]), 198.0, 0)
        assert r.latest_before("T", int(ts[-1]) + 10 * NS)[0] == int(ts[-1])
        assert r.latest_before("NOPE", int(ts[-1])) is None


def test_decimation_picks_rollups_for_long_ranges(tmp_path):
    db = tmp_path / "history.db"
    n = 3 * DAY
    ts = T0 + np.arange(n, dtype=np.int64) * NS
    raw = (1000 + 500 * np.sin(np.arange(n) / 7200)).astype(np.int64)
    raw[DAY + 4321] = 9_999  # a one-second spike
    q = np.zeros(n, np.uint32)
    fill(db, "T", ts, raw, q, kind="int", scale=0.5)
    start = int(ts[0])
    minute_avg = (raw * 0.5).reshape(-1, 60).mean(axis=1)
    with HistoryReader([db]) as r:
        short = r.decimated("T", start, start + 3600 * NS, 1000)
        assert short.source == "raw"
        # Minutes come from raw samples while they exist: exact, spike included.
        day = r.decimated("T", start, start + 2 * DAY * NS, 1000)
        assert day.source == "raw" and len(day) <= 1000
        assert day.value.max() == 9_999 * 0.5
        long = r.decimated("T", start, start + 3 * DAY * NS, 100)
        assert long.source == "1h" and long.value.max() == 9_999 * 0.5
        # More points asked than minutes in the range: raw data, not rollups.
        assert r.decimated("T", start, start + 600 * NS, 1000).source == "raw"
        with pytest.raises(ValueError):
            r.decimated("T", start, start + 600 * NS, 10, method="average")
    # Raw samples of the first two days age out: their minutes are materialised.
    conn = sqlite3.connect(db)
    with conn:
        retention.apply(conn, retention.RetentionPolicy(raw_s=DAY), T0 + 3 * DAY * NS)
    conn.close()
    with HistoryReader([db]) as r:
        # (raw goes a chunk at a time: the hour holding the limit stays whole)
        assert r.raw("T", start, start + (2 * DAY - 3600) * NS)[0].size == 0
        day = r.decimated("T", start, start + 2 * DAY * NS, 1000)
        assert day.source == "1m" and len(day) <= 1000
        assert day.value.max() == 9_999 * 0.5  # the spike survives in the minute's max
        # LTTB on rollups uses bucket averages: a smooth line, no spike needed.
        smooth = r.decimated("T", start, start + 2 * DAY * NS, 500, method="lttb")
        assert smooth.source == "1m" and len(smooth) == 500
        aged = smooth.ts < start + (2 * DAY - 3600) * NS  # the last half hour is raw
        assert aged.sum() > 250
        minute = (smooth.ts[aged] - 30 * NS - ts[0]) // (60 * NS)
        assert np.array_equal(smooth.ts[aged], ts[0] + minute * 60 * NS + 30 * NS)
        assert np.allclose(smooth.value[aged], minute_avg[minute])
        # A range reaching into the raw day takes minutes, then raw samples.
        both = r.decimated("T", start + DAY * NS, start + 3 * DAY * NS, 4000)
        assert both.source == "1m" and both.ts[-1] > int(ts[-1]) - 180 * NS  # raw to the end


def test_sparse_tag_is_decimated_from_raw(tmp_path):
    db = tmp_path / "history.db"
    ts = T0 + np.arange(0, 2 * DAY, 900, dtype=np.int64) * NS  # one sample per 15 min
    fill(db, "S", ts, np.arange(ts.size), np.zeros(ts.size, np.uint32), kind="int")
    with HistoryReader([db]) as r:
        d = r.decimated("S", int(ts[0]), int(ts[-1]) + 1, 1000)
    assert d.source == "raw" and np.array_equal(d.ts, ts)


def test_query_speed_24h(tmp_path):
    """Figures only (printed): 24 h of a 1 Hz tag raw and decimated to 1,000 points."""
    db = tmp_path / "history.db"
    ts = T0 + np.arange(DAY, dtype=np.int64) * NS
    rng = np.random.default_rng(7)
    raw = (2000 + np.cumsum(rng.integers(-3, 4, DAY))).astype(np.int64)
    fill(db, "T", ts, raw, np.zeros(DAY, np.uint32), kind="int", scale=0.1)
    with HistoryReader([db]) as r:
        figures = {}
        for name, call in (
                ("raw", lambda: r.raw("T", int(ts[0]), int(ts[-1]) + 1)),
                ("minmax", lambda: r.decimated("T", int(ts[0]), int(ts[-1]) + 1, 1000)),
                ("lttb", lambda: r.decimated("T", int(ts[0]), int(ts[-1]) + 1, 1000,
                                             method="lttb"))):
            call()
            t = time.perf_counter()
            out = call()
            figures[name] = (time.perf_counter() - t) * 1e3
            assert len(out[0] if isinstance(out, tuple) else out) > 0
    print("24 h query ms:", {k: round(v, 1) for k, v in figures.items()})


def test_staged_samples_of_open_windows_are_read(tmp_path):
    """The last minutes live in `staging` until their window closes: readers see them."""
    db = tmp_path / "history.db"
    ts, raw, q = _ramp(1_500)
    fill(db, "T", ts[:1_000], raw[:1_000], q[:1_000], kind="int", scale=0.5)
    fill(db, "T", ts[1_000:], raw[1_000:], q[1_000:], kind="int", scale=0.5, fold=False)
    with HistoryReader([db]) as r:
        staged = r._find("T")[0].conn.execute("SELECT count(*) FROM staging").fetchone()[0]
        assert staged > 0  # the test really covers staged data
        got_ts, got_v, _ = r.raw("T", int(ts[0]), int(ts[-1]) + 1)
        assert np.array_equal(got_ts, ts) and np.allclose(got_v, raw * 0.5)
        assert r.latest_before("T", int(ts[-1]) + NS) == (int(ts[-1]), raw[-1] * 0.5, 0)
        assert r.latest_before("T", int(ts[1_200])) == (int(ts[1_200]), raw[1_200] * 0.5, 0)
        d = r.decimated("T", int(ts[0]), int(ts[-1]) + 1, 100)
        assert d.ts[-1] >= ts[1_450]


def test_database_without_schema_yet_is_skipped_then_read(tmp_path):
    """The owner may have created the file but not migrated it when a reader looks."""
    import sqlite3

    db = tmp_path / "history.db"
    sqlite3.connect(db).close()  # an empty file, user_version 0
    with HistoryReader([db]) as r:
        assert r.series() == []
        ts, raw, q = _ramp(10)
        fill(db, "T", ts, raw, q, kind="int")
        assert r.raw("T", int(ts[0]), int(ts[-1]) + 1)[0].size == 10
