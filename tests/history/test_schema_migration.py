"""A version-1 history database (10-minute chunks in a WITHOUT ROWID table, a row per
minute) is migrated in place: every sample stays, minutes whose raw data is gone survive
as compressed rows, and the writer then compacts the old chunks like new ones."""

from __future__ import annotations

import sqlite3

import numpy as np

from daemons.core.history.codec import decode_rollup, encode_chunk, encode_staging
from daemons.core.history.reader import HistoryReader
from daemons.core.history.schema import MIGRATIONS
from daemons.core.history.writer import HistoryWriter
from daemons.core.store.sqlite import open_db

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
MIN = 60 * NS


def _v1_database(path):
    conn = open_db(path, migrations=MIGRATIONS[:1])
    conn.execute("INSERT INTO meta VALUES ('chunk_ns', ?)", (str(600 * NS),))
    conn.execute("INSERT INTO series VALUES (1, 'W1.THP', 'int', 0.1, 0, 'psi', 0)")
    ts = T0 + 7200 * NS + np.arange(7200, dtype=np.int64) * NS  # hours 2 and 3 raw
    raw = np.random.default_rng(4).integers(0, 30, 7200)  # ~2 KB an hour: its own chunk
    for w in range(12):
        sl = slice(w * 600, (w + 1) * 600)
        codec, blob = encode_chunk(ts[sl], raw[sl], np.zeros(600, np.uint32), "int")
        conn.execute("INSERT INTO chunks VALUES (1, ?, ?, 600, ?, ?)",
                     (int(ts[sl][0]), int(ts[sl][-1]), codec, blob))
    # Minutes of hours 0-3: those of hours 0-1 are all that is left of their raw data.
    rows = [(1, T0 + m * MIN, float(m), float(m + 5), 60.0 * m, 60, float(m + 1),
             T0 + m * MIN + 59 * NS, 60) for m in range(240)]
    conn.executemany("INSERT INTO rollup_1m VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    # An open window staged by version 1: one batch for series 1 and 300 (one 4,096 block).
    conn.execute("INSERT INTO series VALUES (300, 'W1.FLOW', 'float', 1, 0, 'bbl/d', 0)")
    staged_ts = T0 + 4 * 3600 * NS + np.arange(3, dtype=np.int64) * NS
    codec, blob = encode_staging(np.array([1, 1, 1, 300, 300, 300]),
                                 np.r_[staged_ts, staged_ts],
                                 np.array([5.0, 6.0, 7.0, 1.5, 2.5, 3.5]),
                                 np.zeros(6, np.uint32))
    conn.execute("INSERT INTO staging VALUES (?, 0, 1, 6, ?, ?)",
                 (T0 + 4 * 3600 * NS, codec, blob))
    conn.commit()
    conn.close()
    return ts, raw


def test_version_1_database_is_migrated_and_compacted(tmp_path):
    db = tmp_path / "history.db"
    ts, raw = _v1_database(db)
    w = HistoryWriter(db, chunk_s=600, close_grace_s=0)
    (sid,) = w.ensure_series([("W1.THP", "int", 0.1, 0, "psi")])
    assert sid == 1
    with HistoryReader([db]) as r:  # the open window, re-cut into version 2's blocks
        assert np.array_equal(r.raw("W1.FLOW", T0, T0 + 5 * 3600 * NS)[1], [1.5, 2.5, 3.5])
    w.append(np.array([sid]), T0 + 5 * 3600 * NS, np.array([5]), 0)  # closes hours 2-3
    w.flush(fold_all=True)
    w.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    starts = [r[0] for r in conn.execute(
        "SELECT start_ns FROM chunks WHERE start_ns < ? ORDER BY start_ns",
        (T0 + 4 * 3600 * NS,))]
    assert starts == [T0 + 7200 * NS, T0 + 3 * 3600 * NS]  # compacted to an hour each
    hours = conn.execute("SELECT bucket_ns, count FROM rollup_1h ORDER BY bucket_ns "
                         "LIMIT 2").fetchall()
    assert hours == [(T0 + 7200 * NS, 3600), (T0 + 3 * 3600 * NS, 3600)]
    (codec, blob), = conn.execute("SELECT codec, data FROM rollup_1m").fetchall()
    conn.close()
    minutes = decode_rollup(codec, blob)
    assert np.array_equal(minutes["bucket_ns"], T0 + np.arange(120) * MIN)
    assert np.array_equal(minutes["max"], np.arange(120) + 5.0)
    with HistoryReader([db]) as r:
        # The staged batch was re-cut into version 2's blocks and folded like any other.
        flow_ts, flow, _ = r.raw("W1.FLOW", T0, T0 + 5 * 3600 * NS)
        assert np.array_equal(flow, [1.5, 2.5, 3.5])
        assert np.array_equal(flow_ts, T0 + 4 * 3600 * NS + np.arange(3) * NS)
        got_ts, got_v, _ = r.raw("W1.THP", T0, T0 + 4 * 3600 * NS)
        assert np.array_equal(got_ts, ts) and np.allclose(got_v, raw * 0.1)
        d = r.decimated("W1.THP", T0, T0 + 4 * 3600 * NS, 200)
        assert d.source == "1m" and d.ts[0] == T0 and d.value.max() == 124.0  # a minute's max
