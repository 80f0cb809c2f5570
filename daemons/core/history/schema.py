"""The history database schema (version 1), shared by the writer and the readers.

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
- ``meta``: settings a reader needs to interpret the rest (``chunk_ns``).
"""

from __future__ import annotations

from ..store.sqlite import Migration

# Series ids per staging block: a closing window is folded one block at a time so memory
# stays bounded (4096 series x 600 samples x ~28 bytes ≈ 70 MB at most).
STAGING_BLOCK = 4096

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

MIGRATIONS = (Migration(1, "history: series, chunks, rollups, staging", SCHEMA_V1),)
