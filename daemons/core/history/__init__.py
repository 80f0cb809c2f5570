"""Historian: compressed per-tag history in SQLite (storage format in docs/history.md).

Writing: `writer.HistoryWriter` (one process per database).  Reading: `reader.HistoryReader`.
Import the module you need: this package imports none of them, so a daemon that only
reads history (opcuad, webd) does not load the writer, retention and compaction code.
"""
