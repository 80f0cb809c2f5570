"""Reading history: raw samples, decimated trends and the value at a time, over several DBs.

Used by webd (trends), opcuad (history read) and the CLI.  Each history database has one
writer (acqd, calcd, `wellgate history import`); a reader opens them all read-only and
merges: a tag is found in whichever databases hold its series, and when two hold samples
with the same timestamp the first database given wins (acqd's own record beats an import).

Speed comes from touching only what a query needs: the chunk row holding ``start`` is found
with one index seek on (series_id, start_ns), and only chunks overlapping the range are
decoded.  Each query runs in one read transaction, so the writer folding a closed window
from ``staging`` into ``chunks`` meanwhile can neither hide nor duplicate samples.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..quality import Quality
from ..store.sqlite import StoreError, open_db
from . import decimate as dec
from .codec import decode_chunk, decode_rollup, decode_staging
from .rollup import MINUTE_NS, bucket_stats
from .schema import MIGRATIONS, STAGING_BLOCK

NS = 1_000_000_000
# The history databases of a gateway under its state directory, in merge priority order:
# acqd's own record first, then calcd's, then what was imported from other systems.
HISTORY_FILES = ("history.db", "calc-history.db", "import-history.db")
# Rollup tables by bucket width, coarsest first.
ROLLUPS = ((3600 * NS, "rollup_1h", "1h"), (60 * NS, "rollup_1m", "1m"))
# Use a rollup only when the raw samples outnumber the requested points this many times:
# below that, decoding raw chunks is cheap and keeps exact sample times.
ROLLUP_FACTOR = 4

Samples = tuple[np.ndarray, np.ndarray, np.ndarray]  # ts int64 ns, value float64, quality u32


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """A stored tag: how its values are kept, and in which database (the first holding it)."""

    tag: str
    kind: str  # 'int' (raw integers: eng = raw * scale + offset) or 'float'
    scale: float
    offset: float
    units: str
    database: Path


@dataclass(frozen=True, slots=True)
class _Series:
    conn: sqlite3.Connection
    id: int
    kind: str
    scale: float
    offset: float


def default_paths(state_dir: Path) -> list[Path]:
    """The history databases a reader of this gateway merges (missing ones are skipped)."""
    return [Path(state_dir) / name for name in HISTORY_FILES]


def read_staged(conn: sqlite3.Connection, series_id: int, start_ns: int | None,
                end_ns: int) -> Samples:
    """Samples of one series still in ``staging`` (open windows) with start <= ts < end.

    Values are as stored (raw integers or floats); the caller converts them.
    """
    row = conn.execute("SELECT value FROM meta WHERE key = 'chunk_ns'").fetchone()
    chunk_ns = int(row[0]) if row else 600 * NS
    lo = -(1 << 62) if start_ns is None else start_ns - chunk_ns
    ts_l, val_l, q_l = [], [], []
    for codec, blob in conn.execute(
            "SELECT codec, data FROM staging WHERE block = ? AND window_ns > ? AND "
            "window_ns < ? ORDER BY window_ns, seq",
            (series_id // STAGING_BLOCK, lo, end_ns)):
        sid, ts, val, q = decode_staging(int(codec), bytes(blob))
        # Sorted by (series, time): the series' rows are one contiguous slice.
        a, b = np.searchsorted(sid, [series_id, series_id + 1])
        if b > a:
            ts_l.append(ts[a:b])
            val_l.append(val[a:b].astype(np.float64))
            q_l.append(q[a:b])
    if not ts_l:
        return _empty()
    ts, val, q = np.concatenate(ts_l), np.concatenate(val_l), np.concatenate(q_l)
    inside = (ts < end_ns) if start_ns is None else (ts >= start_ns) & (ts < end_ns)
    return ts[inside], val[inside], q[inside]


def _empty() -> Samples:
    return np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.uint32)


def _merge(parts: list[Samples]) -> Samples:
    """Concatenate, sort by time, and keep the first of equal timestamps (database order)."""
    parts = [p for p in parts if p[0].size]
    if not parts:
        return _empty()
    if len(parts) == 1:
        return parts[0]
    ts = np.concatenate([p[0] for p in parts])
    val = np.concatenate([p[1] for p in parts])
    q = np.concatenate([p[2] for p in parts])
    order = np.argsort(ts, kind="stable")
    ts, val, q = ts[order], val[order], q[order]
    keep = np.r_[True, ts[1:] != ts[:-1]]
    return ts[keep], val[keep], q[keep]


class HistoryReader:
    """Read-only view over one or more history databases (missing files are skipped
    until they appear, so webd can start before acqd has written anything)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._paths = [Path(p) for p in paths]
        self._conns: dict[Path, sqlite3.Connection] = {}

    # -- connections -------------------------------------------------------------------
    def _connections(self) -> list[tuple[Path, sqlite3.Connection]]:
        out = []
        for path in self._paths:
            conn = self._conns.get(path)
            if conn is None and path.is_file():
                try:
                    conn = open_db(path, migrations=MIGRATIONS, readonly=True)
                except StoreError as exc:
                    # An owner that has not created its schema yet reads as "older";
                    # anything else (newer schema, unreadable file) must be seen.
                    if "older" not in str(exc):
                        raise
                    continue
                self._conns[path] = conn
            if conn is not None:
                out.append((path, conn))
        return out

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def __enter__(self) -> HistoryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    @contextmanager
    def _snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        # One read transaction = one consistent WAL snapshot for all the queries inside.
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def _find(self, tag: str) -> list[_Series]:
        found = []
        for _path, conn in self._connections():
            row = conn.execute("SELECT id, kind, scale, offset FROM series WHERE tag = ?",
                               (tag,)).fetchone()
            if row is not None:
                found.append(_Series(conn, int(row[0]), row[1], float(row[2]), float(row[3])))
        return found

    # -- public API ----------------------------------------------------------------------
    def series(self) -> list[SeriesInfo]:
        """Every tag stored in any of the databases, sorted by name."""
        seen: dict[str, SeriesInfo] = {}
        for path, conn in self._connections():
            for tag, kind, scale, offset, units in conn.execute(
                    "SELECT tag, kind, scale, offset, units FROM series"):
                seen.setdefault(tag, SeriesInfo(tag, kind, float(scale), float(offset),
                                                units, path))
        return [seen[t] for t in sorted(seen)]

    def has(self, tag: str) -> bool:
        return bool(self._find(tag))

    def raw(self, tag: str, start_ns: int, end_ns: int) -> Samples:
        """Every stored sample with start_ns <= ts < end_ns, engineering values.

        Returns (ts int64 ns, value float64, quality uint32), time-ordered; empty arrays
        for an unknown tag or an empty range.
        """
        parts = []
        for s in self._find(tag):
            with self._snapshot(s.conn):
                parts.append(self._raw_one(s, start_ns, end_ns))
        return _merge(parts)

    def _raw_one(self, s: _Series, start_ns: int, end_ns: int) -> Samples:
        conn = s.conn
        # The chunk holding `start` began at or before it: one index seek finds it.
        row = conn.execute("SELECT max(start_ns) FROM chunks WHERE series_id = ? AND "
                           "start_ns <= ?", (s.id, start_ns)).fetchone()
        lo = start_ns if row[0] is None else int(row[0])
        ts_l, val_l, q_l = [], [], []
        for codec, blob in conn.execute(
                "SELECT codec, data FROM chunks WHERE series_id = ? AND start_ns >= ? "
                "AND start_ns < ? AND end_ns >= ? ORDER BY start_ns",
                (s.id, lo, end_ns, start_ns)):
            ts, val, q = decode_chunk(int(codec), bytes(blob), s.kind)
            ts_l.append(ts)
            val_l.append(val)
            q_l.append(q)
        staged = read_staged(conn, s.id, start_ns, end_ns)
        if staged is not None and staged[0].size:
            ts_l.append(staged[0])
            val_l.append(staged[1])
            q_l.append(staged[2])
        if not ts_l:
            return _empty()
        ts = np.concatenate(ts_l).astype(np.int64, copy=False)
        val = np.concatenate(val_l)
        q = np.concatenate(q_l).astype(np.uint32, copy=False)
        inside = (ts >= start_ns) & (ts < end_ns)
        ts, val, q = ts[inside], val[inside], q[inside]
        if ts.size > 1 and np.any(ts[1:] < ts[:-1]):
            order = np.argsort(ts, kind="stable")
            ts, val, q = ts[order], val[order], q[order]
        return ts, self._engineering(s, val), q

    @staticmethod
    def _engineering(s: _Series, val: np.ndarray) -> np.ndarray:
        out = val.astype(np.float64)
        if s.kind == "int" and (s.scale != 1.0 or s.offset != 0.0):
            out = out * s.scale + s.offset
        return out

    def latest_before(self, tag: str, ts_ns: int) -> tuple[int, float, int] | None:
        """The last sample at or before ``ts_ns`` as (ts, value, quality), or None."""
        best: tuple[int, float, int] | None = None
        for s in self._find(tag):
            with self._snapshot(s.conn):
                found = self._latest_one(s, ts_ns)
            if found is not None and (best is None or found[0] > best[0]):
                best = found
        return best

    def _latest_one(self, s: _Series, ts_ns: int) -> tuple[int, float, int] | None:
        conn = s.conn
        # Staged samples are the newest: look there first, in the window holding ts_ns.
        candidates: list[tuple[int, float, int]] = []
        staged = read_staged(conn, s.id, None, ts_ns + 1)
        if staged is not None and staged[0].size:
            ts, val, q = staged
            i = int(np.argmax(ts))
            candidates.append((int(ts[i]), float(self._engineering(s, val[i:i + 1])[0]),
                               int(q[i])))
        cursor = conn.execute("SELECT codec, data FROM chunks WHERE series_id = ? AND "
                              "start_ns <= ? ORDER BY start_ns DESC", (s.id, ts_ns))
        for codec, blob in cursor:  # usually the first chunk has it
            ts, val, q = decode_chunk(int(codec), bytes(blob), s.kind)
            ok = np.flatnonzero(ts <= ts_ns)
            if ok.size:
                i = int(ok[np.argmax(ts[ok])])
                candidates.append((int(ts[i]), float(self._engineering(s, val[i:i + 1])[0]),
                                   int(q[i])))
                break
        cursor.close()
        return max(candidates, key=lambda c: c[0]) if candidates else None

    # -- decimation ----------------------------------------------------------------------
    def decimated(self, tag: str, start_ns: int, end_ns: int, points: int,
                  method: str = "minmax") -> dec.Decimated:
        """At most ``points`` samples keeping the trend's visual shape.

        ``minmax`` keeps each bucket's extremes (spikes survive), ``lttb`` the most
        significant sample per bucket (smooth lines).  For long ranges the 1 min or 1 h
        rollups stand in for raw samples when the raw samples would outnumber the requested
        points by far; the newest minutes not yet rolled up come from raw chunks.
        """
        if method not in dec.METHODS:
            raise ValueError(f"unknown decimation method {method!r}; use one of {dec.METHODS}")
        if points <= 0 or end_ns <= start_ns:
            return dec.empty()
        level = self._pick_rollup(tag, start_ns, end_ns, points, method)
        if level is None:
            ts, val, q = self.raw(tag, start_ns, end_ns)
            source = "raw"
            if (method == "lttb" and ts.size > ROLLUP_FACTOR * points
                    and end_ns - start_ns >= points * MINUTE_NS):
                # LTTB picks one sample per output point with a sequential loop: over the
                # minute averages of the raw samples (as over stored minutes) it stays a
                # few milliseconds for a day, and the line is the same to the eye.
                b = bucket_stats(np.zeros(ts.size, np.int64), ts, val, q, MINUTE_NS)
                ts, val, q = _pseudo_samples(b.bucket_ns, b.min, b.max, b.sum, b.count,
                                             b.good, MINUTE_NS, method)
                source = "1m"
        else:
            width, table, source = level
            ts, val, q = self._rollup_candidates(tag, start_ns, end_ns, width, table, method)
        if method == "minmax":
            return dec.minmax(ts, val, q, start_ns, end_ns, points, source=source)
        return dec.lttb(ts, val, q, points, source=source)

    def _pick_rollup(self, tag: str, start_ns: int, end_ns: int, points: int,
                     method: str) -> tuple[int, str, str] | None:
        """Which stored level stands in for raw samples: 1 h rows when one output bucket
        spans an hour and raw would outnumber the points by far (or is gone), 1-minute
        rollups where raw samples aged out; None: raw samples."""
        # Width of one output bucket: minmax spends two points per bucket.
        per_bucket = (end_ns - start_ns) / max(1, points // 2 if method == "minmax" else points)
        if per_bucket < ROLLUPS[-1][0]:
            return None
        raw_count, raw_from = 0, None
        for s in self._find(tag):
            raw_count += int(s.conn.execute(
                "SELECT coalesce(sum(count), 0) FROM chunks WHERE series_id = ? AND "
                "start_ns < ? AND end_ns >= ?", (s.id, end_ns, start_ns)).fetchone()[0])
            oldest = s.conn.execute("SELECT min(start_ns) FROM chunks WHERE series_id = ?",
                                    (s.id,)).fetchone()[0]
            if oldest is not None:
                raw_from = int(oldest) if raw_from is None else min(raw_from, int(oldest))
        # Raw samples gone (retention) before the range's start: only rollups can tell.
        aged_out = raw_from is None or raw_from > start_ns
        if raw_count <= ROLLUP_FACTOR * points and not aged_out:
            return None
        for width, table, name in ROLLUPS:
            if per_bucket >= width and (width == ROLLUPS[0][0] or aged_out):
                return width, table, name
        return None

    def _bucket_arrays(self, s: _Series, table: str, first: int, last: int) -> np.ndarray:
        """Rows (bucket, min, max, sum, count, good) of buckets first <= b <= last."""
        if table == "rollup_1h":
            rows = s.conn.execute(
                "SELECT bucket_ns, min, max, sum, count, good FROM rollup_1h WHERE "
                "series_id = ? AND bucket_ns >= ? AND bucket_ns <= ? ORDER BY bucket_ns",
                (s.id, first, last)).fetchall()
            return np.array([[np.nan if x is None else x for x in r] for r in rows],
                            dtype=np.float64).reshape(-1, 6)
        cols = []
        for codec, blob in s.conn.execute(
                "SELECT codec, data FROM rollup_1m WHERE series_id = ? AND start_ns <= ? AND "
                "end_ns >= ? ORDER BY start_ns", (s.id, last, first)):
            c = decode_rollup(int(codec), bytes(blob))
            keep = (c["bucket_ns"] >= first) & (c["bucket_ns"] <= last)
            cols.append(np.column_stack([c[k][keep].astype(np.float64) for k in (
                "bucket_ns", "min", "max", "sum", "count", "good")]))
        return np.concatenate(cols) if cols else np.empty((0, 6))

    def _rollup_candidates(self, tag: str, start_ns: int, end_ns: int, width: int,
                           table: str, method: str) -> Samples:
        """Rollup buckets as pseudo-samples, then raw samples after the last bucket."""
        parts: list[Samples] = []
        covered_until = start_ns
        first = -(-start_ns // width) * width  # buckets wholly inside the range only
        for s in self._find(tag):
            with self._snapshot(s.conn):
                arr = self._bucket_arrays(s, table, first, end_ns - width)
            if not arr.size:
                continue
            bucket = arr[:, 0].astype(np.int64)
            covered_until = max(covered_until, int(bucket[-1]) + width)
            parts.append(_pseudo_samples(bucket, arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4],
                                         arr[:, 5], width, method))
        merged = self._merge_rollups(parts)
        tail = self.raw(tag, covered_until, end_ns)
        head = self.raw(tag, start_ns, first) if merged[0].size and first > start_ns else _empty()
        ts = np.concatenate([head[0], merged[0], tail[0]])
        val = np.concatenate([head[1], merged[1], tail[1]])
        q = np.concatenate([head[2], merged[2], tail[2]])
        return ts, val, q

    @staticmethod
    def _merge_rollups(parts: list[Samples]) -> Samples:
        # Unlike raw samples, pseudo-samples of several databases may share a timestamp
        # (min and max of one bucket): keep them all, ordered by time.
        parts = [p for p in parts if p[0].size]
        if not parts:
            return _empty()
        ts = np.concatenate([p[0] for p in parts])
        order = np.argsort(ts, kind="stable")
        return (ts[order], np.concatenate([p[1] for p in parts])[order],
                np.concatenate([p[2] for p in parts])[order])


def _pseudo_samples(bucket: np.ndarray, mn: np.ndarray, mx: np.ndarray, sm: np.ndarray,
                    count: np.ndarray, good: np.ndarray, width: int, method: str) -> Samples:
    """Rollup buckets as samples for decimation, time-ordered.  Quality tells coverage:
    Bad where no sample was Good (a gap), UncertainSubNormal where some were not."""
    quality = np.where(good <= 0, np.uint32(Quality.BAD),
                       np.where(good < count, np.uint32(Quality.UNCERTAIN_SUBNORMAL),
                                np.uint32(Quality.GOOD))).astype(np.uint32)
    if method == "minmax":
        # Both extremes of a bucket, stamped at its start: the output buckets are at
        # least one rollup bucket wide, so the time error is below one pixel.
        ts = np.concatenate([bucket, bucket])
        val = np.concatenate([mn, mx])
        q = np.concatenate([quality, quality])
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = sm / good
        ts, val, q = bucket + width // 2, avg, quality
    order = np.argsort(ts, kind="stable")
    return ts[order], val[order].astype(np.float64), q[order]

