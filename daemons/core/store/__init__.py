"""SQLite stores: one writer per database, WAL, versioned migrations, durable commits."""

from .sqlite import Migration, StoreError, durable, open_db, utils_db

__all__ = ["Migration", "StoreError", "durable", "open_db", "utils_db"]
