"""Live values as rows of plain data: the shape of `wellgate tags --json`, which webd's
`/api/tags` and its event stream give too (one function, so the keys cannot drift).

Keys: tag, value (a number, a list for an array tag, or null), units, quality (good,
uncertain, bad), quality_detail, ts (ISO 8601 UTC with milliseconds, or null if never
written).
"""

from __future__ import annotations

import fnmatch
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from daemons.core.quality import detail, severity
from daemons.core.ring.directory import DirectorySnapshot, RingDirectory

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_utc(ts_ns: int) -> str | None:
    """2026-12-04T22:48:49.123Z, or None for a time that was never set (0)."""
    if ts_ns <= 0:
        return None
    # Integer microseconds, not ts_ns / 1e9: a float rounds x.9999996 s up to the next
    # millisecond, and webd's vectorised rows (numpy datetime64) truncate like this.
    return (EPOCH + timedelta(microseconds=ts_ns // 1000)).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def tag_glob(pattern: str) -> str:
    """A case-folded glob; a bare word matches inside names (THP → *thp*)."""
    glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
    return glob.lower()


def tag_row(rings: RingDirectory, snap: DirectorySnapshot, i: int) -> dict[str, Any]:
    """Slot `i` of a directory snapshot as a row."""
    name = snap.names[i]
    q = int(snap.quality[i])
    value: Any
    if snap.is_array[i]:
        values, ts_ns, q, _seq = rings.array(name)
        value = [None if math.isnan(v) else float(v) for v in values]
    else:
        ts_ns = int(snap.ts_ns[i])
        v = float(snap.values[i])
        value = None if math.isnan(v) else v
    return {"tag": name, "value": value, "units": snap.units[i], "quality": severity(q),
            "quality_detail": detail(q), "ts": iso_utc(int(ts_ns))}


def collect(rings: RingDirectory, pattern: str) -> list[dict[str, Any]]:
    """Rows for every tag matching `pattern` (see `tag_glob`)."""
    snap = rings.snapshot()
    glob = tag_glob(pattern)
    return [tag_row(rings, snap, i) for i, name in enumerate(snap.names)
            if fnmatch.fnmatchcase(name.lower(), glob)]
