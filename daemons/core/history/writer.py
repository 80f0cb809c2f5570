"""HistoryWriter: vectorised ingest, durable flush every few seconds, fold, compact.

Data path (see docs/history.md for the argument and the figures):
1. `append` copies the caller's arrays into a pending list — no per-sample Python work.
2. `flush` (every ``flush_s``, via `maybe_flush`) concatenates what is pending, sorts it
   by (window, series) once, and writes one compressed columnar batch per (window, block
   of 256 series) into ``staging`` in a ``synchronous=FULL`` transaction: after it returns
   a power cut cannot lose those samples, and SQLite's WAL keeps the file whole if the cut
   comes during it (https://sqlite.org/wal.html, https://sqlite.org/atomiccommit.html).
3. When the data clock (the newest timestamp appended) has passed a window's end by
   ``close_grace_s``, that window is *closed*; later flushes fold it, a few groups of
   4,096 series per flush so no flush stalls acqd's loop for long: the group's batches are
   decoded, each series becomes one `chunks` row, and the staging rows are deleted, all in
   the same transaction as that flush.  A sample arriving for a time already folded is
   merged into the chunk that holds that time.
4. A flush with nothing to fold compacts a closed hour, 1,024 series at a time
   (`compact.py`): one chunk per series and hour, and the hour's rollup row.
Values are in each series' storage domain: raw integers (at the tag's resolution) for
kind 'int', engineering floats for kind 'float'.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

from ..store.sqlite import StoreError, durable, open_db
from . import retention as ret
from .codec import decode_chunk, decode_staging, encode_staging
from .compact import (
    COMPACT_SERIES,
    DAY_NS,
    SeriesKinds,
    compact_hour,
    encode_split,
    insert_chunks,
    recompute_hour,
)
from .filters import METHODS, apply_filter
from .rollup import HOUR_NS
from .schema import FOLD_GROUP, FOLD_GROUP_BLOCKS, MIGRATIONS, STAGING_BLOCK

NS = 1_000_000_000
SeriesSpec = tuple[str, str, float, float, str]  # (tag, kind, scale, offset, units)


class HistoryWriter:
    """The one writer of a history database (not thread-safe: call from one thread)."""

    def __init__(self, path: Path | str, *, chunk_s: int = 600, flush_s: float = 10.0,
                 close_grace_s: float = 30.0, fold_blocks_per_flush: int = 1,
                 retention: ret.RetentionPolicy | None = None,
                 retention_every_s: float = 600.0,
                 clock: Callable[[], float] = time.monotonic,
                 wall_ns: Callable[[], int] = time.time_ns) -> None:
        if int(chunk_s) <= 0 or 3600 % int(chunk_s):
            raise ValueError("chunk_s must divide an hour (60, 120, 300, 600, 900, 1200, "
                             "1800 or 3600 s, or fewer for tests)")
        self.path = Path(path)
        self.flush_s = float(flush_s)
        _create_with_page_size(self.path)
        self._conn = open_db(self.path, migrations=MIGRATIONS)
        # The WAL is checkpointed into the database every ~1000 pages; without a limit the
        # file keeps its largest size for ever.  Truncate it to 4 MB after a checkpoint.
        self._conn.execute("PRAGMA journal_size_limit = 4194304")
        self._chunk_ns = self._settle_chunk_ns(int(chunk_s) * NS)
        self._grace_ns = int(close_grace_s * NS)
        self._fold_per_flush = max(1, int(fold_blocks_per_flush))
        self._retention = retention
        self._retention_every = float(retention_every_s)
        self._clock, self._wall_ns = clock, wall_ns
        self._pending: list[tuple[np.ndarray, ...]] = []
        self._pending_float = False
        self._last_flush = clock()
        self._last_retention = clock()
        self._retention_backlog = False
        self._max_ts: int | None = None
        row = self._conn.execute("SELECT coalesce(max(seq), 0), max(window_ns) "
                                 "FROM staging").fetchone()
        self._seq = int(row[0])
        if row[1] is not None:  # a restart: staged windows close by the same data clock
            self._max_ts = int(row[1])
        # Newest chunk end, per fold group once known: a fold of a window after it
        # cannot meet an existing chunk (the fast path); one at or before it may (late data).
        row = self._conn.execute(
            "SELECT max(end_ns) FROM chunks WHERE start_ns >= "
            "(SELECT max(start_ns) FROM chunks) - ?", (DAY_NS,)).fetchone()
        self._open_max_end = -1 if row[0] is None else int(row[0])
        self._max_end: dict[int, int] = {}
        if self._max_ts is None and self._open_max_end >= 0:
            self._max_ts = self._open_max_end
        self._compact_hour, self._compact_sid = self._load_frontier()
        self._unsaved: list[tuple] = []
        self._load_series()

    # --- series -------------------------------------------------------------------------
    def _settle_chunk_ns(self, chunk_ns: int) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'chunk_ns'").fetchone()
        if row is None:
            with durable(self._conn):
                self._conn.execute("INSERT INTO meta VALUES ('chunk_ns', ?)", (str(chunk_ns),))
            return chunk_ns
        if int(row[0]) != chunk_ns:
            raise StoreError(
                self.path,
                en=(f"this history database uses {int(row[0]) // NS} s chunks, not "
                    f"{chunk_ns // NS} s; chunk length cannot change on an existing database"),
                es=(f"esta base de historia usa bloques de {int(row[0]) // NS} s, no de "
                    f"{chunk_ns // NS} s; la longitud de bloque no puede cambiar"))
        return chunk_ns

    def _load_series(self) -> None:
        rows = self._conn.execute("SELECT id, tag, kind, scale, offset FROM series").fetchall()
        rows += [(sid, tag, kind, scale, offset) for sid, tag, kind, scale, offset, *_ in
                 self._unsaved]
        size = max([r[0] for r in rows], default=0) + 1
        self._ids = {r[1]: r[0] for r in rows}
        self._known = np.zeros(size, bool)
        self._kinds = SeriesKinds(np.zeros(size, bool), np.ones(size), np.zeros(size))
        for sid, _tag, kind, scale, offset in rows:
            self._known[sid] = True
            self._kinds.is_float[sid] = kind == "float"
            self._kinds.scale[sid], self._kinds.offset[sid] = scale, offset
        self._filters = {int(s): (m, float(t)) for s, m, t in self._conn.execute(
            "SELECT series_id, method, tolerance FROM compression")}

    def ensure_series(self, tags: Sequence[SeriesSpec]) -> np.ndarray:
        """Ids of these tags, creating series that do not exist (existing ones keep their
        stored kind/scale/offset: their chunks were written with them).

        A new series is stored with the first durable transaction that follows (a flush,
        or setting a filter), together with its first samples: a series never exists on
        disk without the data that created it (an import that fails leaves nothing).
        """
        new = [t for t in dict((t[0], t) for t in tags if t[0] not in self._ids).values()]
        if new:
            for _tag, kind, *_ in new:
                if kind not in ("int", "float"):
                    raise ValueError(f"kind must be 'int' or 'float', not {kind!r}")
            now = self._wall_ns()
            first = max(self._ids.values(), default=0) + 1
            self._unsaved += [(first + i, t, k, float(s), float(o), u, now)
                              for i, (t, k, s, o, u) in enumerate(new)]
            self._load_series()
        return np.array([self._ids[t[0]] for t in tags], dtype=np.int64)

    def _save_series(self) -> None:
        """Inside a durable transaction: store the series ensure_series() created."""
        if self._unsaved:
            self._conn.executemany(
                "INSERT INTO series (id, tag, kind, scale, offset, units, created_ns) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", self._unsaved)

    def _saved(self) -> None:
        self._unsaved = []

    def set_compression(self, series_id: int, method: str | None,
                        tolerance: float = 0.0) -> None:
        """Lossy filter of one series from its next folded window on (None: lossless).

        ``tolerance`` is in engineering units.
        """
        if method is not None and method not in METHODS:
            raise ValueError(f"unknown compression method {method!r}")
        with durable(self._conn):
            self._save_series()
            if method is None:
                self._conn.execute("DELETE FROM compression WHERE series_id = ?", (series_id,))
            else:
                self._conn.execute("INSERT OR REPLACE INTO compression VALUES (?, ?, ?)",
                                   (series_id, method, float(tolerance)))
        self._saved()
        self._load_series()

    def replace_compression(self, filters: Mapping[int, tuple[str, float]]) -> None:
        """Set every series' lossy filter at once (series not named become lossless), in one
        durable transaction: what a configuration reload needs."""
        for method, _ in filters.values():
            if method not in METHODS:
                raise ValueError(f"unknown compression method {method!r}")
        with durable(self._conn):
            self._save_series()
            self._conn.execute("DELETE FROM compression")
            self._conn.executemany("INSERT INTO compression VALUES (?, ?, ?)",
                                   [(int(s), m, float(t)) for s, (m, t) in filters.items()])
        self._saved()
        self._load_series()

    # --- ingest -------------------------------------------------------------------------
    def append(self, series_ids: np.ndarray, ts_ns: np.ndarray | int, values: np.ndarray,
               quality: np.ndarray | int) -> None:
        """Queue samples (copied: the caller may reuse its buffers). Vectorised."""
        sid = np.array(series_ids, dtype=np.int64)
        n = len(sid)
        if n == 0:
            return
        if sid.min() < 1 or sid.max() >= len(self._known) or not self._known[sid].all():
            raise ValueError("append() got a series id that ensure_series() did not return")
        ts = np.array(np.broadcast_to(np.asarray(ts_ns, dtype=np.int64), (n,)))
        q = np.array(np.broadcast_to(np.asarray(quality, dtype=np.uint32), (n,)))
        v = np.array(values)
        if v.shape != (n,):
            raise ValueError("values must have one element per series id")
        if v.dtype.kind == "f":
            self._pending_float = True
        elif v.dtype.kind not in "iub":
            raise ValueError(f"values must be numeric, not {v.dtype}")
        self._pending.append((sid, ts, v, q))
        top = int(ts.max())
        if self._max_ts is None or top > self._max_ts:
            self._max_ts = top

    def maybe_flush(self, now: float | None = None) -> bool:
        """Flush if ``flush_s`` has passed since the last one (``now`` on the writer's clock,
        time.monotonic by default). Returns whether it flushed."""
        now = self._clock() if now is None else now
        if now - self._last_flush < self.flush_s:
            return False
        self.flush(now=now)
        return True

    def flush(self, *, now: float | None = None, fold_all: bool = False) -> None:
        """Make everything appended durable, fold some closed windows, maybe run retention.

        ``fold_all`` folds every closed window now instead of a few blocks.
        """
        now = self._clock() if now is None else now
        rows = self._staging_rows()
        with durable(self._conn):
            self._save_series()
            self._conn.executemany("INSERT INTO staging VALUES (?, ?, ?, ?, ?, ?)", rows)
            limit = None if fold_all else self._fold_per_flush
            folded = self._fold_closed(limit)
            if fold_all or not folded:  # folding first: compaction needs whole hours
                self._compact(limit)
            if self._retention is not None and (
                    now - self._last_retention >= self._retention_every
                    or self._retention_backlog):
                report = ret.apply(self._conn, self._retention, self._wall_ns(),
                                   self._kinds)
                self._retention_backlog = report.backlog
                self._last_retention = now
        self._saved()
        self._pending.clear()
        self._pending_float = False
        self._last_flush = now

    def _staging_rows(self) -> list[tuple]:
        if not self._pending:
            return []
        sid = np.concatenate([p[0] for p in self._pending])
        ts = np.concatenate([p[1] for p in self._pending])
        vdtype = np.float64 if self._pending_float else np.int64
        v = np.concatenate([p[2].astype(vdtype, copy=False) for p in self._pending])
        q = np.concatenate([p[3] for p in self._pending])
        window = ts - ts % self._chunk_ns
        w0 = int(window.min())
        # One stable sort on (window, series): appends arrive in time order, so each
        # series' samples stay in time order inside a batch.
        key = ((window - w0) // self._chunk_ns << 32) | sid
        order = np.argsort(key, kind="stable")
        sid, ts, v, q, window = sid[order], ts[order], v[order], q[order], window[order]
        block = sid // STAGING_BLOCK
        cut = np.flatnonzero((window[1:] != window[:-1]) | (block[1:] != block[:-1])) + 1
        bounds = np.concatenate(([0], cut, [len(sid)])).tolist()
        self._seq += 1
        rows = []
        for a, b in pairwise(bounds):
            codec, blob = encode_staging(sid[a:b], ts[a:b], v[a:b], q[a:b])
            rows.append((int(window[a]), int(block[a]), self._seq, b - a, codec, blob))
        return rows

    # --- folding closed windows ---------------------------------------------------------
    def _fold_closed(self, limit: int | None) -> int:
        """Fold up to ``limit`` closed (window, fold group) pairs; returns how many."""
        if self._max_ts is None:
            return 0
        close_before = self._max_ts - self._grace_ns - self._chunk_ns
        groups = self._conn.execute(
            f"SELECT DISTINCT window_ns, block / {FOLD_GROUP_BLOCKS} AS g FROM staging "
            "WHERE window_ns <= ? ORDER BY window_ns, g"
            + ("" if limit is None else f" LIMIT {int(limit)}"), (close_before,)).fetchall()
        for window_ns, group in groups:
            self._fold_group(int(window_ns), int(group))
        return len(groups)

    def fold_open(self) -> None:
        """Fold and compact every window, open ones too (end of an import; tests). Later
        samples of an open window or hour are merged into its chunks when folded in turn."""
        rows = self._staging_rows()
        with durable(self._conn):
            self._save_series()
            self._conn.executemany("INSERT INTO staging VALUES (?, ?, ?, ?, ?, ?)", rows)
            for window_ns, group in self._conn.execute(
                    f"SELECT DISTINCT window_ns, block / {FOLD_GROUP_BLOCKS} AS g "
                    "FROM staging ORDER BY window_ns, g").fetchall():
                self._fold_group(int(window_ns), int(group))
            self._compact(None, open_hours=True)
        self._saved()
        self._pending.clear()
        # A bulk write staged, folded and compacted everything at once: about twice its
        # data is free pages now.  Hand them back (databases created since schema 2).
        self._conn.executescript("PRAGMA incremental_vacuum;")  # steps it to the end
        self._pending_float = False

    def _fold_group(self, window_ns: int, group: int) -> None:
        conn = self._conn
        blocks = (group * FOLD_GROUP_BLOCKS, (group + 1) * FOLD_GROUP_BLOCKS - 1)
        # A series lives in one block, so (block, seq) order keeps each one's batches in
        # time order.
        parts = [decode_staging(int(c), bytes(d)) for c, d in conn.execute(
            "SELECT codec, data FROM staging WHERE window_ns = ? AND block BETWEEN ? AND ? "
            "ORDER BY block, seq", (window_ns, *blocks))]
        if not parts:
            return
        sid = np.concatenate([p[0] for p in parts])
        ts = np.concatenate([p[1] for p in parts])
        any_float = any(p[2].dtype.kind == "f" for p in parts)
        v = np.concatenate([p[2].astype(np.float64) if any_float else p[2] for p in parts])
        q = np.concatenate([p[3] for p in parts])
        # Batches are in time order (seq); a stable sort by series keeps that order.
        order = np.argsort(sid, kind="stable")
        sid, ts, v, q = sid[order], ts[order], v[order], q[order]
        same = sid[1:] == sid[:-1]
        if (same & (ts[1:] <= ts[:-1])).any():  # out-of-order or repeated appends: rare
            sid, ts, v, q = _sort_dedupe(sid, ts, v, q)
            same = sid[1:] == sid[:-1]
        # Fast path: nothing of this group is stored at or after this window, so every
        # series gets a new chunk.  Otherwise (late samples, a restart) look each one up.
        late = self._max_end.get(group, self._open_max_end) >= window_ns
        hour = window_ns - window_ns % HOUR_NS
        starts = [*np.flatnonzero(np.concatenate(([True], ~same))).tolist(), len(sid)]
        for a, b in pairwise(starts):
            s = int(sid[a])
            kind = self._kinds.kind(s)
            cts, cv, cq = ts[a:b], v[a:b], q[a:b]
            cv = cv.astype(np.float64) if kind == "float" else _to_int(cv)
            start = window_ns
            holder = None
            if late:
                holder = conn.execute(
                    "SELECT id, start_ns, end_ns, codec, data FROM chunks WHERE series_id = ? "
                    "AND start_ns <= ? ORDER BY start_ns DESC LIMIT 1",
                    (s, int(cts[-1]))).fetchone()
                if holder is not None and int(holder[2]) < window_ns:
                    holder = None  # it ends before this window: the samples get their own
            if holder is not None:  # merge: of two samples at one time the later one wins
                ots, ov, oq = decode_chunk(int(holder[3]), bytes(holder[4]), kind)
                _, cts, cv, cq = _sort_dedupe(np.zeros(len(ots) + len(cts), np.int64),
                                              np.concatenate((ots, cts)),
                                              np.concatenate((ov, cv)),
                                              np.concatenate((oq, cq)))
                start = int(holder[1])
                conn.execute("DELETE FROM chunks WHERE id = ?", (int(holder[0]),))
            # A new chunk of an hour not compacted yet is encoded for speed: compaction
            # re-encodes it within the hour.  Merges into compacted hours are final.
            rows = encode_split(cts, cv, cq, kind, start, self._chunk_ns,
                                fast=holder is None and not self._compacted(hour, s))
            insert_chunks(conn, s, rows)
            self._chunk_written(s, rows[-1][1])
            if self._compacted(hour, s):  # its rollup row exists: make it whole again
                recompute_hour(conn, self._kinds, s, hour)
        conn.execute("DELETE FROM staging WHERE window_ns = ? AND block BETWEEN ? AND ?",
                     (window_ns, *blocks))

    def _lossy(self, sid: int, ts: np.ndarray, v: np.ndarray,
               q: np.ndarray) -> np.ndarray | None:
        """The samples a series' lossy filter keeps, or None (lossless: the default)."""
        if sid not in self._filters:
            return None
        method, tol = self._filters[sid]
        if not self._kinds.is_float[sid]:  # the tolerance is in engineering units
            tol = tol / abs(self._kinds.scale[sid] or 1.0)
        return apply_filter(method, tol, ts, v, q)

    def _chunk_written(self, sid: int, end_ns: int) -> None:
        group = sid // FOLD_GROUP
        self._max_end[group] = max(end_ns, self._max_end.get(group, self._open_max_end))

    # --- compaction of closed hours (compact.py) ----------------------------------------
    def _load_frontier(self) -> tuple[int | None, int]:
        """(hour being compacted, next series id in it) — persisted in meta."""
        meta = dict(self._conn.execute(
            "SELECT key, value FROM meta WHERE key IN ('compact_hour_ns', 'compact_series')"))
        if "compact_hour_ns" in meta:
            return int(meta["compact_hour_ns"]), int(meta.get("compact_series", 0))
        row = self._conn.execute("SELECT min(start_ns) FROM chunks").fetchone()
        return (None if row[0] is None else int(row[0]) - int(row[0]) % HOUR_NS), 0

    def _compacted(self, hour: int, sid: int) -> bool:
        h = self._compact_hour
        return h is not None and (hour < h or (hour == h and sid < self._compact_sid))

    def _compact(self, limit: int | None, *, open_hours: bool = False) -> int:
        """Compact up to ``limit`` steps (COMPACT_SERIES series of one hour each) whose
        hour is closed and folded; returns the steps done."""
        conn, steps = self._conn, 0
        top = len(self._known)  # series ids are below this
        while limit is None or steps < limit:
            hour, lo = self._compact_hour, self._compact_sid
            if hour is None:
                row = conn.execute("SELECT min(start_ns) FROM chunks").fetchone()
                if row[0] is None:
                    break
                hour, lo = int(row[0]) - int(row[0]) % HOUR_NS, 0
            if not open_hours and (self._max_ts is None or
                                   hour + HOUR_NS + self._grace_ns > self._max_ts):
                break  # the hour is not closed yet
            hi = min(lo + COMPACT_SERIES, top)
            if conn.execute("SELECT 1 FROM staging WHERE window_ns >= ? AND window_ns < ? "
                            "AND block BETWEEN ? AND ? LIMIT 1",
                            (hour, hour + HOUR_NS, lo // STAGING_BLOCK,
                             (hi - 1) // STAGING_BLOCK)).fetchone():
                break  # a window of it still waits to be folded
            compact_hour(conn, self._kinds, hour, lo, hi, self._chunk_ns,
                         self._chunk_written, self._lossy)
            steps += 1
            lo, more = hi, True
            if lo >= top:
                # Next hour that has chunks (hours without data are skipped at once).
                nxt = conn.execute("SELECT min(start_ns) FROM chunks WHERE start_ns >= ?",
                                   (hour + HOUR_NS,)).fetchone()[0]
                more = nxt is not None
                nxt = hour + HOUR_NS if nxt is None else int(nxt)
                hour, lo = nxt - nxt % HOUR_NS, 0
            self._compact_hour, self._compact_sid = hour, lo
            conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             [("compact_hour_ns", str(hour)), ("compact_series", str(lo))])
            if not more:
                break  # no chunk after this hour yet
        return steps

    def abort(self) -> None:
        """Close without storing anything appended or created since the last durable
        transaction (an import that failed half-way keeps nothing)."""
        self._pending.clear()
        self._unsaved = []
        self._conn.close()

    def close(self) -> None:
        """Flush what is pending and close the database (open windows stay staged)."""
        try:
            self.flush()
        finally:
            self._conn.close()

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# 16 KiB pages: a chunk row (up to 3 KB, compact.MAX_CHUNK_BYTES) stays inline and
# several pack one page; rollup rows and index entries are small.  Page size and
# auto-vacuum mode can only be chosen before the database has any content and before WAL
# mode is entered (https://sqlite.org/pragma.html#pragma_auto_vacuum), hence here,
# before open_db.
PAGE_SIZE = 16384


def _create_with_page_size(path: Path) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        # Lets `fold_open` give back the pages a bulk write frees (its staging and
        # ten-minute chunks); the steady writer reuses its free pages instead.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")  # writes the header: page size fixed
    finally:
        conn.close()


def _to_int(values: np.ndarray) -> np.ndarray:
    return values if values.dtype.kind in "iu" else np.rint(values).astype(np.int64)


def _sort_dedupe(sid: np.ndarray, ts: np.ndarray, v: np.ndarray,
                 q: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sort by (series, time); of equal timestamps keep the one appended last."""
    order = np.lexsort((ts, sid))
    sid, ts, v, q = sid[order], ts[order], v[order], q[order]
    last = np.ones(len(sid), bool)
    last[:-1] = (sid[1:] != sid[:-1]) | (ts[1:] != ts[:-1])
    return sid[last], ts[last], v[last], q[last]
