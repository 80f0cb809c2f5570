"""Sample rows as PostgreSQL's binary COPY format, built with struct in one pass.

The layout (PostgreSQL docs, "COPY … Binary Format"): a signature and two int32 (flags,
header extension), then per row an int16 field count and, per field, an int32 length
(-1 for NULL) and the value in network byte order; an int16 -1 ends the data.
timestamptz travels as int64 microseconds since 2000-01-01 UTC, so a sample's
millisecond timestamp needs one subtraction and one multiplication, not a datetime.
Columns: time, value, metric_id, quality, is_historical, value_text — the order of both
the samples tables and the staging table (daemons/hostd/store.py).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from daemons.hostd.model import Sample

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
PG_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z in Unix milliseconds
COLUMNS = "(time, value, metric_id, quality, is_historical, value_text)"
# The common row: a number, no text.
_NUMBER = struct.Struct(">hiqidiiiii?i")
_TIME = struct.Struct(">hiq")
_VALUE = struct.Struct(">id")
_NULL = struct.pack(">i", -1)
_TAIL = struct.Struct(">iiiii?")
_LEN = struct.Struct(">i")


def encode(rows: Iterable[Sample], skipped: list[tuple[str, str, int]],
           schema: str) -> tuple[bytes, int]:
    """(COPY data, rows encoded); rows whose metric has no id go to `skipped`."""
    parts = [HEADER]
    append = parts.append
    number = _NUMBER.pack
    n = 0
    for ts, value, ref, quality, hist, text in rows:
        metric_id = ref.db_id
        if metric_id is None:  # its birth was refused: never block the round
            skipped.append((schema, ref.node, ts))
            continue
        t_us = (ts - PG_EPOCH_MS) * 1000
        if text is None and value is not None:
            append(number(6, 8, t_us, 8, value, 4, metric_id, 4, quality, 1, hist, -1))
        else:
            append(_TIME.pack(6, 8, t_us))
            append(_NULL if value is None else _VALUE.pack(8, value))
            append(_TAIL.pack(4, metric_id, 4, quality, 1, hist))
            if text is None:
                append(_NULL)
            else:
                raw = text.encode("utf-8")
                append(_LEN.pack(len(raw)))
                append(raw)
        n += 1
    append(TRAILER)
    return b"".join(parts), n
