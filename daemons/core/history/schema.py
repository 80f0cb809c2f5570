"""The history database schema (version 2), shared by the writer and the readers.

One writing process owns a history database (acqd: history.db, calcd: calc-history.db,
`wellgate history import`: import-history.db); readers open it read-only with
``open_db(path, migrations=MIGRATIONS, readonly=True)``.

Tables beyond the shared contract (series, chunks, rollup_1m, rollup_1h):
- ``staging``: the durable form of the *open* chunk windows.  Every flush (default 10 s)
  writes what arrived since the last one as a few compressed columnar batches, one per block
  of series ids, instead of re-encoding every open per-tag chunk (100,000 encodes every
  10 s would cost more CPU than the whole ingest budget).  When a window closes, its
  batches are folded into per-tag rows of ``chunks`` and deleted, in one transaction.
  Readers that want the last minutes must read staging too (see `staging.read_staged`).
- ``compression``: the optional lossy filter of a series (deadband or swinging door);
  a series without a row is stored losslessly (the default).
- ``meta``: settings a reader needs to interpret the rest (``chunk_ns``) and the
  writer's compaction frontier (``compact_hour_ns``, ``compact_series``).
"""

from __future__ import annotations

import sqlite3

import numpy as np

from ..store.sqlite import Migration
from .codec import decode_staging, encode_staging
from .rollup import Buckets, store_minutes

# Series ids per staging batch.  A reader of one tag's open windows decodes every batch
# of its block, so blocks are small: 256 tags (with 4,096 a live trend of one tag on a
# large site decoded ten minutes of 4,095 other tags first).
STAGING_BLOCK = 256
# A closing window is folded a group of blocks at a time (4,096 series), so memory stays
# bounded (4096 series x 600 samples x ~28 bytes ≈ 70 MB at most) and 100,000 tags fold
# in 25 flushes.
FOLD_GROUP_BLOCKS = 16
FOLD_GROUP = STAGING_BLOCK * FOLD_GROUP_BLOCKS

SCHEMA_V1 = """
CREATE TABLE series (
  id INTEGER PRIMARY KEY,
  tag TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('int', 'float')),
  scale REAL NOT NULL DEFAULT 1,
  offset REAL NOT NULL DEFAULT 0,
  units TEXT NOT NULL DEFAULT '',
  created_ns INTEGER NOT NULL
);
CREATE TABLE chunks (
  series_id INTEGER NOT NULL REFERENCES series(id),
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  count INTEGER NOT NULL,
  codec INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (series_id, start_ns)
) WITHOUT ROWID;
CREATE INDEX chunks_by_start ON chunks (start_ns);
CREATE TABLE rollup_1m (
  series_id INTEGER NOT NULL, bucket_ns INTEGER NOT NULL,
  min REAL, max REAL, sum REAL, count INTEGER NOT NULL, last REAL, last_ns INTEGER,
  good INTEGER NOT NULL,
  PRIMARY KEY (series_id, bucket_ns)
) WITHOUT ROWID;
CREATE INDEX rollup_1m_by_bucket ON rollup_1m (bucket_ns);
CREATE TABLE rollup_1h (
  series_id INTEGER NOT NULL, bucket_ns INTEGER NOT NULL,
  min REAL, max REAL, sum REAL, count INTEGER NOT NULL, last REAL, last_ns INTEGER,
  good INTEGER NOT NULL,
  PRIMARY KEY (series_id, bucket_ns)
) WITHOUT ROWID;
CREATE INDEX rollup_1h_by_bucket ON rollup_1h (bucket_ns);
CREATE TABLE staging (
  window_ns INTEGER NOT NULL,   -- chunk window (start) of every sample in the batch
  block INTEGER NOT NULL,       -- series_id // STAGING_BLOCK
  seq INTEGER NOT NULL,         -- flush number: batches of a block are in time order by seq
  count INTEGER NOT NULL,
  codec INTEGER NOT NULL,
  data BLOB NOT NULL,           -- codec.decode_staging: series_id, ts, value, quality
  PRIMARY KEY (window_ns, block, seq)
) WITHOUT ROWID;
CREATE TABLE compression (
  series_id INTEGER PRIMARY KEY REFERENCES series(id),
  method TEXT NOT NULL CHECK (method IN ('deadband', 'swinging-door')),
  tolerance REAL NOT NULL CHECK (tolerance >= 0)  -- engineering units
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Version 2 (issue 8, bytes on disk all-in):
# - ``chunks`` becomes a rowid table.  Rows are appended in time order, so SQLite packs its
#   leaf pages full (a WITHOUT ROWID table keyed (series, start) receives every new chunk in
#   the middle of its B-tree and splits pages half-full), and a row may hold a blob up to
#   ~16 KB inline instead of ~4 KB.  Two small indexes find chunks by series and by time.
# - ``rollup_1m`` holds only *materialised* minutes of raw data that aged out, compressed,
#   one row per aged-out chunk (rollup.py); while raw exists minutes are computed from it.
# Chunks folded before version 2 stay as they are and are compacted into hourly chunks by
# the writer like new ones; 1-minute rows whose raw data is gone are re-encoded here.
SCHEMA_V2 = """
CREATE TABLE chunks_v2 (
  id INTEGER PRIMARY KEY,
  series_id INTEGER NOT NULL REFERENCES series(id),
  start_ns INTEGER NOT NULL,    -- a window start: samples lie in [start_ns, the next chunk's start)
  end_ns INTEGER NOT NULL,      -- the last sample's time
  count INTEGER NOT NULL,
  codec INTEGER NOT NULL,
  data BLOB NOT NULL
);
INSERT INTO chunks_v2 (series_id, start_ns, end_ns, count, codec, data)
  SELECT series_id, start_ns, end_ns, count, codec, data FROM chunks ORDER BY start_ns, series_id;
DROP TABLE chunks;
ALTER TABLE chunks_v2 RENAME TO chunks;
CREATE UNIQUE INDEX chunks_by_series ON chunks (series_id, start_ns);
CREATE INDEX chunks_by_start ON chunks (start_ns, series_id);
ALTER TABLE rollup_1m RENAME TO rollup_1m_v1;
CREATE TABLE rollup_1m (
  series_id INTEGER NOT NULL,
  start_ns INTEGER NOT NULL,    -- first bucket
  end_ns INTEGER NOT NULL,      -- last bucket (start)
  count INTEGER NOT NULL,       -- buckets in the blob
  codec INTEGER NOT NULL,
  data BLOB NOT NULL,           -- codec.decode_rollup
  PRIMARY KEY (series_id, start_ns)
) WITHOUT ROWID;
CREATE INDEX rollup_1m_by_start ON rollup_1m (start_ns);
"""


def _migrate_v2(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA_V2.split(";"):
        if statement.strip():
            conn.execute(statement)
    # Version-1 minute rows whose raw data is gone are the only record of those minutes.
    rows = conn.execute(
        "SELECT r.series_id, r.bucket_ns, r.min, r.max, r.sum, r.count, r.good, r.last, "
        "r.last_ns FROM rollup_1m_v1 r WHERE r.bucket_ns < coalesce((SELECT min(start_ns) "
        "FROM chunks c WHERE c.series_id = r.series_id), 1 << 62) "
        "ORDER BY r.series_id, r.bucket_ns").fetchall()
    if rows:
        a = np.array([[np.nan if x is None else x for x in r] for r in rows], np.float64)
        ints = a[:, [0, 1, 5, 6]].astype(np.int64)
        last_ns = np.where(np.isnan(a[:, 8]), a[:, 1], a[:, 8]).astype(np.int64)
        store_minutes(conn, Buckets(series=ints[:, 0], bucket_ns=ints[:, 1], min=a[:, 2],
                                    max=a[:, 3], sum=a[:, 4], count=ints[:, 2],
                                    good=ints[:, 3], last=a[:, 7], last_ns=last_ns))
    conn.execute("DROP TABLE rollup_1m_v1")
    # Version 1 staged batches of 4,096 series; re-cut them into today's smaller blocks.
    rows = conn.execute("SELECT window_ns, seq, codec, data FROM staging").fetchall()
    conn.execute("DELETE FROM staging")
    for window_ns, seq, codec, data in rows:
        sid, ts, values, quality = decode_staging(int(codec), bytes(data))
        block = sid // STAGING_BLOCK
        cut = np.flatnonzero(np.r_[True, block[1:] != block[:-1], True])
        for a, b in zip(cut[:-1].tolist(), cut[1:].tolist(), strict=True):
            c, blob = encode_staging(sid[a:b], ts[a:b], values[a:b], quality[a:b])
            conn.execute("INSERT INTO staging VALUES (?, ?, ?, ?, ?, ?)",
                         (window_ns, int(block[a]), seq, b - a, c, blob))


MIGRATIONS = (Migration(1, "history: series, chunks, rollups, staging", SCHEMA_V1),
              Migration(2, "history: appended chunks, compressed 1-minute rollups",
                        _migrate_v2))
