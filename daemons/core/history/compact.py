"""Compaction: the 10-minute chunks of a closed hour become one chunk per series.

Why (issue 8, bytes on disk): a chunk carries about 80 bytes that do not depend on its
length (row and index entries, codec headers, timestamp and quality runs); at 600 samples
that is 0.13 B/pt — as much as a whole status word's data.  Once an hour is closed and
folded, each series' chunks of that hour are decoded, concatenated and encoded once more
(pcodec's model also fits better on 3,600 samples), its 1-hour rollup row is computed from
exactly those samples, and the old rows are deleted — in the writer's flush transaction.
A series whose hour is still small (a status word: ~100 bytes) is appended to its previous
chunk of the same UTC day, so rarely changing tags cost a chunk a day.  A chunk never
spans two UTC days and never exceeds `MAX_CHUNK_BYTES` (split at window boundaries), so a
reader decodes little it does not need and rows pack SQLite's 16 KiB pages well.

Invariant kept by folding, compaction and late merges alike: chunk starts are window
starts, and the samples of a chunk lie in [its start, the series' next chunk start).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from .codec import CHUNK_FAST, decode_chunk, encode_chunk
from .rollup import HOUR_NS, bucket_stats, store_hours

DAY_NS = 86_400 * 1_000_000_000
# Rows up to ~3 KB pack 16 KiB pages with little slack (a row that does not fit the last
# page starts a new one: on average half a row is left empty per page).
MAX_CHUNK_BYTES = 3000
# An hour encoded below this joins the series' previous chunk of the same day.
SMALL_CHUNK_BYTES = 1000
# Series compacted per step (one step per flush at most, after the folds): about 1 ms of
# CPU per series and hour, so a step stays near a second even on a slow gateway.
COMPACT_SERIES = 1024

ChunkRow = tuple[int, int, int, int, bytes]  # start_ns, end_ns, count, codec, blob


@dataclass
class SeriesKinds:
    """Per series id: float or raw integer, and the integer's scale/offset (the writer's)."""

    is_float: np.ndarray
    scale: np.ndarray
    offset: np.ndarray

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> SeriesKinds:
        """From a database's series table (for callers without a writer)."""
        rows = conn.execute("SELECT id, kind, scale, offset FROM series").fetchall()
        size = max([r[0] for r in rows], default=0) + 1
        kinds = cls(np.zeros(size, bool), np.ones(size), np.zeros(size))
        for sid, kind, scale, offset in rows:
            kinds.is_float[sid] = kind == "float"
            kinds.scale[sid], kinds.offset[sid] = scale, offset
        return kinds

    def kind(self, sid: int) -> str:
        return "float" if self.is_float[sid] else "int"

    def engineering(self, sid: np.ndarray, values: np.ndarray) -> np.ndarray:
        v = values.astype(np.float64)
        return np.where(self.is_float[sid], v, v * self.scale[sid] + self.offset[sid])


def encode_split(ts: np.ndarray, v: np.ndarray, q: np.ndarray, kind: str, first_start: int,
                 window_ns: int, *, fast: bool = False) -> list[ChunkRow]:
    """Encode one series' samples as one chunk, or several cut at window boundaries when
    the blob would exceed MAX_CHUNK_BYTES (the first keeps ``first_start`` as its key).
    ``fast``: see codec.encode_chunk (a fold's chunks, compacted within the hour)."""
    codec, blob = encode_chunk(ts, v, q, kind, fast=fast)
    if len(blob) <= MAX_CHUNK_BYTES:
        return [(first_start, int(ts[-1]), len(ts), codec, blob)]
    windows = ts - ts % window_ns
    edges = np.flatnonzero(np.r_[True, windows[1:] != windows[:-1]])
    if len(edges) < 2:  # one window cannot be cut: keep it whole
        return [(first_start, int(ts[-1]), len(ts), codec, blob)]
    parts = min(len(edges), -(-len(blob) // MAX_CHUNK_BYTES))
    # Cut at the window edges nearest to equal sample counts.
    targets = np.arange(1, parts) * len(ts) / parts
    cuts = np.unique(edges[np.clip(np.searchsorted(edges, targets), 1, len(edges) - 1)])
    bounds = [0, *cuts.tolist(), len(ts)]
    out = []
    for a, b in pairwise(bounds):
        start = first_start if a == 0 else int(windows[a])
        out.extend(encode_split(ts[a:b], v[a:b], q[a:b], kind, start, window_ns, fast=fast))
    return out


def insert_chunks(conn: sqlite3.Connection, sid: int, rows: list[ChunkRow]) -> None:
    conn.executemany("INSERT INTO chunks (series_id, start_ns, end_ns, count, codec, data) "
                     "VALUES (?, ?, ?, ?, ?, ?)", [(sid, *r) for r in rows])


def samples_of(conn: sqlite3.Connection, sid: int, kind: str, lo_ns: int,
               hi_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every stored sample of a series with lo <= ts < hi (chunks never span a UTC day,
    so only chunks starting from lo's day can hold them)."""
    parts = [decode_chunk(int(c), bytes(d), kind) for c, d in conn.execute(
        "SELECT codec, data FROM chunks WHERE series_id = ? AND start_ns >= ? AND "
        "start_ns < ? AND end_ns >= ? ORDER BY start_ns", (sid, lo_ns - lo_ns % DAY_NS,
                                                           hi_ns, lo_ns))]
    if not parts:
        e = np.empty(0, np.int64)
        return e, e, np.empty(0, np.uint32)
    ts, v, q = (np.concatenate([p[i] for p in parts]) for i in range(3))
    inside = (ts >= lo_ns) & (ts < hi_ns)
    return ts[inside], v[inside], q[inside]


def recompute_hour(conn: sqlite3.Connection, kinds: SeriesKinds, sid: int,
                   hour_ns: int) -> None:
    """Replace one series' 1-hour rollup from its stored samples (after a late merge)."""
    ts, v, q = samples_of(conn, sid, kinds.kind(sid), hour_ns, hour_ns + HOUR_NS)
    if ts.size == 0:
        conn.execute("DELETE FROM rollup_1h WHERE series_id = ? AND bucket_ns = ?",
                     (sid, hour_ns))
        return
    s = np.full(ts.size, sid, np.int64)
    store_hours(conn, bucket_stats(s, ts, kinds.engineering(s, v), q, HOUR_NS))


Filter = Callable[[int, np.ndarray, np.ndarray, np.ndarray], np.ndarray | None]


def compact_hour(conn: sqlite3.Connection, kinds: SeriesKinds, hour_ns: int, lo: int,
                 hi: int, window_ns: int, on_chunk: Callable[[int, int], None],
                 lossy: Filter) -> int:
    """Compact series lo <= id < hi for one closed hour; returns the chunks rewritten.

    ``on_chunk(series_id, end_ns)`` is told of every chunk written (the writer tracks the
    newest chunk end per fold group to know when a fold may meet an existing chunk).
    ``lossy(series_id, ts, values, quality)`` gives the samples a series' optional lossy
    filter keeps (None: lossless); it runs here, after the rollup took every sample, and
    over a whole hour, which lets swinging-door drop more than ten-minute pieces would.
    """
    rows = conn.execute(
        "SELECT id, series_id, start_ns, codec, data FROM chunks WHERE start_ns >= ? AND "
        "start_ns < ? AND series_id >= ? AND series_id < ? ORDER BY series_id, start_ns",
        (hour_ns, hour_ns + HOUR_NS, lo, hi)).fetchall()
    if not rows:
        return 0
    by_series: dict[int, list[tuple]] = {}
    for row in rows:
        by_series.setdefault(int(row[1]), []).append(row)
    sid_l, ts_l, v_l, q_l = [], [], [], []
    rewritten = 0
    for sid, chunks in by_series.items():
        kind = kinds.kind(sid)
        decoded = [decode_chunk(int(c[3]), bytes(c[4]), kind) for c in chunks]
        ts, v, q = (np.concatenate([d[i] for d in decoded]) for i in range(3))
        sid_l.append(np.full(ts.size, sid, np.int64))
        ts_l.append(ts)
        v_l.append(v)
        q_l.append(q)
        start = int(chunks[0][2])
        delete = [int(c[0]) for c in chunks]
        keep = lossy(sid, ts, v, q)
        if keep is not None:
            ts, v, q = ts[keep], v[keep], q[keep]
        elif (len(chunks) == 1 and len(chunks[0][4]) > SMALL_CHUNK_BYTES
              and int(chunks[0][3]) != CHUNK_FAST):
            continue  # already one final chunk worth its own row
        codec, blob = encode_chunk(ts, v, q, kind)
        new_rows = [(start, int(ts[-1]), len(ts), codec, blob)] \
            if len(blob) <= MAX_CHUNK_BYTES else None
        if len(blob) <= SMALL_CHUNK_BYTES:
            prev = conn.execute(
                "SELECT id, start_ns, codec, data FROM chunks WHERE series_id = ? AND "
                "start_ns < ? ORDER BY start_ns DESC LIMIT 1", (sid, hour_ns)).fetchone()
            if (prev is not None and int(prev[1]) >= hour_ns - hour_ns % DAY_NS
                    and len(prev[3]) + len(blob) <= MAX_CHUNK_BYTES):
                pts, pv, pq = decode_chunk(int(prev[2]), bytes(prev[3]), kind)
                ts, v, q = np.concatenate((pts, ts)), np.concatenate((pv, v)), \
                    np.concatenate((pq, q))
                start = int(prev[1])
                delete.append(int(prev[0]))
                new_rows = None
            elif len(chunks) == 1 and keep is None and int(chunks[0][3]) != CHUNK_FAST:
                continue  # small, but nothing to join: leave the row as it is
        conn.executemany("DELETE FROM chunks WHERE id = ?", [(i,) for i in delete])
        if new_rows is None:
            new_rows = encode_split(ts, v, q, kind, start, window_ns)
        insert_chunks(conn, sid, new_rows)
        on_chunk(sid, new_rows[-1][1])
        rewritten += len(delete)
    sid_a, ts_a = np.concatenate(sid_l), np.concatenate(ts_l)
    q_a = np.concatenate(q_l)
    v_a = np.concatenate([x.astype(np.float64) for x in v_l])
    inside = (ts_a >= hour_ns) & (ts_a < hour_ns + HOUR_NS)
    sid_a, ts_a, v_a, q_a = sid_a[inside], ts_a[inside], v_a[inside], q_a[inside]
    store_hours(conn, bucket_stats(sid_a, ts_a, kinds.engineering(sid_a, v_a), q_a, HOUR_NS))
    return rewritten
