"""Historian: compressed per-tag history in SQLite (storage format in docs/history.md).

Writing: `HistoryWriter` (one process per database).  Reading: `reader.HistoryReader`.
"""

from .codec import CHUNK_V1, STAGING_V1, CodecError, decode_chunk, decode_staging, encode_chunk
from .retention import RetentionPolicy, RetentionReport
from .schema import MIGRATIONS, STAGING_BLOCK
from .writer import HistoryWriter

__all__ = [
    "CHUNK_V1",
    "MIGRATIONS",
    "STAGING_BLOCK",
    "STAGING_V1",
    "CodecError",
    "HistoryWriter",
    "RetentionPolicy",
    "RetentionReport",
    "decode_chunk",
    "decode_staging",
    "encode_chunk",
]
