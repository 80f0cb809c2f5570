"""Historian benchmark (issue 4): bytes/point per signal class, ingest CPU, query time,
against a row-per-sample SQLite table measured in the same run.

    .venv/bin/python bench/history.py [--tags 100000] [--quick]

Signals are synthetic but shaped like a well pad's at 1 Hz: a pressure transmitter as a
uint16 raw register with ±2 counts of noise on a slow drift, slow temperatures (0.1 °F
counts), a totalizer (monotonic counts), status words that change rarely, and float32
values (IEEE registers).  Bytes per point are measured on full 10-minute chunks in a real
database file (chunks + SQLite overhead, rollups counted separately).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import zstandard

from daemons.core.history.codec import encode_chunk
from daemons.core.history.writer import HistoryWriter

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
CLASSES = ("analog", "temperature", "totalizer", "status", "float32")


def signals(cls: str, tags: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, tags) samples of one class; int64 raw counts or float64 values."""
    if cls == "analog":
        base = rng.uniform(5_000, 60_000, tags)
        drift = np.cumsum(rng.normal(0, 0.3, (n, tags)), axis=0)
        return np.clip(np.rint(base + drift) + rng.integers(-2, 3, (n, tags)), 0,
                       65_535).astype(np.int64)
    if cls == "temperature":
        base = rng.uniform(500, 2_000, tags)
        drift = np.cumsum(rng.normal(0, 0.05, (n, tags)), axis=0)
        return np.rint(base + drift + rng.normal(0, 0.4, (n, tags))).astype(np.int64)
    if cls == "totalizer":
        return (rng.integers(0, 10**6, tags) + np.cumsum(rng.poisson(3, (n, tags)),
                                                          axis=0)).astype(np.int64)
    if cls == "status":
        v = np.broadcast_to(rng.integers(0, 16, tags), (n, tags)).copy()
        flips = rng.random(tags) < 0.3
        at = rng.integers(0, n, tags)
        v ^= (np.arange(n)[:, None] >= at[None, :]) & flips[None, :]
        return v.astype(np.int64)
    base = rng.uniform(10, 100, tags)
    drift = np.cumsum(rng.normal(0, 0.01, (n, tags)), axis=0)
    return (base + drift + rng.normal(0, 0.05, (n, tags))).astype(np.float32).astype(
        np.float64)


def _db_bytes(path: Path) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def _table_bytes(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name = ?",
                                (table,)).fetchone()[0] or 0)
    except sqlite3.OperationalError:  # SQLite built without dbstat
        return 0
    finally:
        conn.close()


def _zz(d: np.ndarray) -> np.ndarray:
    return ((d << 1) ^ (d >> 63)).astype(np.uint64)


def _delta_zstd(v: np.ndarray) -> int:
    """Candidate: integer delta, zigzag, narrowest width, zstd level 3 (per chunk)."""
    z = _zz(np.diff(v.astype(np.int64), prepend=0)[1:])
    width = np.uint8 if z.max(initial=0) < 256 else np.uint16 if z.max() < 65536 else np.uint32
    return len(zstandard.ZstdCompressor(level=3).compress(z.astype(width).tobytes())) + 8


def _gorilla_bytes(v: np.ndarray) -> float:
    """Gorilla XOR size from its bit layout (Pelkonen et al. 2015, §4.1.2), values as
    float64 as an XOR historian stores them (scaled floats for register classes)."""
    b = v.view(np.uint64)
    x = b[1:] ^ b[:-1]
    nz = x != 0
    bits = 64 + int((~nz).sum())
    xs = x[nz]
    lead = 64 - np.floor(np.log2(xs.astype(np.float64))).astype(np.int64) - 1
    trail = np.zeros(len(xs), np.int64)
    low = xs & (~xs + np.uint64(1))
    trail = np.floor(np.log2(low.astype(np.float64))).astype(np.int64)
    bits += int((2 + 5 + 6 + (64 - lead - trail)).sum())
    return bits / 8


def bench_bytes(tags: int, tmp: Path, rng: np.random.Generator) -> dict[str, dict]:
    out = {}
    n = 600
    for cls in CLASSES:
        data = signals(cls, tags, n, rng)
        kind = "float" if cls == "float32" else "int"
        ts = T0 + np.arange(n, dtype=np.int64) * NS
        zero_q = np.zeros(n, np.uint32)
        blob = dz = gor = 0
        for i in range(min(tags, 2_000)):
            col = np.ascontiguousarray(data[:, i])
            blob += len(encode_chunk(ts, col, zero_q, kind)[1])
            if kind == "int":
                dz += _delta_zstd(col)
                gor += _gorilla_bytes(col * 0.1)  # decimal-scaled, as XOR historians see it
            else:
                gor += _gorilla_bytes(col)
        sampled = min(tags, 2_000) * n
        db = tmp / f"bytes-{cls}.db"
        w = HistoryWriter(db, chunk_s=600, close_grace_s=0)
        ids = w.ensure_series([(f"{cls}{i}", kind, 0.1, 0, "") for i in range(tags)])
        for k in range(n):
            w.append(ids, ts[k], data[k], 0)
            if k % 10 == 9:
                w.flush()
        w.fold_open()
        w.close()
        total = tags * n
        out[cls] = {
            "codec": blob / sampled, "delta_zstd": dz / sampled if dz else None,
            "gorilla": gor / sampled,
            "db_chunks": _table_bytes(db, "chunks") / total,
            "db_file": _db_bytes(db) / total,
            "rollups": (_table_bytes(db, "rollup_1m") + _table_bytes(db, "rollup_1h")) / total,
        }
        out[cls]["_data"] = data
    return out


def bench_ingest(tags: int, seconds: int, tmp: Path, rng: np.random.Generator) -> dict:
    """Feed ``tags`` points per data-second like acqd (10 appends/s); CPU of writer calls."""
    db = tmp / "ingest.db"
    now = [0.0]
    w = HistoryWriter(db, chunk_s=600, flush_s=10, clock=lambda: now[0])
    per_class = tags // len(CLASSES)
    kinds = ["float" if c == "float32" else "int" for c in CLASSES for _ in range(per_class)]
    ids = w.ensure_series([(f"t{i}", k, 0.1, 0, "") for i, k in enumerate(kinds)])
    split = np.array_split(np.arange(len(ids)), 10)
    base = np.concatenate([signals(c, per_class, 1, rng)[0].astype(np.float64)
                           for c in CLASSES])
    cpu = 0.0
    worst = 0.0
    for k in range(seconds):
        values = base + (k % 7)  # changing values without costing the benchmark much
        for part in split:
            now[0] = k + 0.1
            t = time.process_time()
            w.append(ids[part], T0 + k * NS, values[part], 0)
            w.maybe_flush()
            dt = time.process_time() - t
            cpu += dt
            worst = max(worst, dt)
    w.close()
    points = seconds * len(ids)
    return {"cpu_s": cpu, "data_s": seconds, "points": points,
            "core_pct_at_100k": cpu / points * 100_000 * 100, "worst_call_s": worst}


def bench_query(path: Path, hours: int, tmp: Path) -> dict:
    """24 h of one tag raw and decimated to 1,000 points, via part R's reader."""
    from daemons.core.history.reader import HistoryReader
    start, end = T0, T0 + hours * 3600 * NS
    res = {}
    with HistoryReader([path]) as reader:
        for name, fn in (("raw", lambda: reader.raw("q0", start, end)),
                         ("minmax_1000", lambda: reader.decimated("q0", start, end, 1000)),
                         ("lttb_1000", lambda: reader.decimated("q0", start, end, 1000,
                                                                method="lttb"))):
            times = []
            for _ in range(7):
                t = time.perf_counter()
                r = fn()
                times.append(time.perf_counter() - t)
            npts = len(r.ts) if hasattr(r, "ts") else len(r[0])
            res[name] = (statistics.median(times) * 1000, npts)
    return res


def build_query_db(tmp: Path, tags: int, hours: int, rng: np.random.Generator) -> Path:
    db = tmp / "query.db"
    w = HistoryWriter(db, chunk_s=600, close_grace_s=0)
    ids = w.ensure_series([(f"q{i}", "int", 0.1, 0, "psi") for i in range(tags)])
    n = hours * 3600
    data = signals("analog", tags, n, rng)
    for k in range(n):
        w.append(ids, T0 + k * NS, data[k], 0)
        if k % 600 == 599:
            w.flush()
    w.fold_open()
    w.close()
    return db


def baseline(tmp: Path, classes: dict[str, dict], tags: int, hours: int, ingest_s: int,
             rng: np.random.Generator) -> dict:
    """Row-per-sample SQLite: (tag_id, ts, value, quality), primary key (tag_id, ts)."""
    res: dict = {"bytes": {}}
    ddl = ("CREATE TABLE samples (tag_id INTEGER NOT NULL, ts INTEGER NOT NULL, "
           "value REAL, quality INTEGER NOT NULL, PRIMARY KEY (tag_id, ts))")
    for cls, info in classes.items():
        data = info["_data"][:, :1000]
        db = tmp / f"row-{cls}.db"
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(ddl)
        n, t = data.shape
        with conn:
            for k in range(n):
                conn.executemany("INSERT INTO samples VALUES (?, ?, ?, 0)", zip(
                    range(t), [T0 + k * NS] * t, data[k].astype(np.float64).tolist(),
                    strict=True))
        conn.close()
        res["bytes"][cls] = _db_bytes(db) / data.size
    db = tmp / "row-ingest.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(ddl)
    values = rng.normal(100, 1, tags).tolist()
    cpu = 0.0
    for k in range(ingest_s):
        t = time.process_time()
        with conn:
            conn.executemany("INSERT INTO samples VALUES (?, ?, ?, 0)", zip(
                range(tags), [T0 + k * NS] * tags, values, strict=True))
        cpu += time.process_time() - t
    conn.close()
    res["core_pct_at_100k"] = cpu / (ingest_s * tags) * 100_000 * 100
    db = tmp / "row-query.db"
    conn = sqlite3.connect(db)
    conn.execute(ddl)
    data = signals("analog", 4, hours * 3600, rng)
    with conn:
        for i in range(4):
            conn.executemany("INSERT INTO samples VALUES (?, ?, ?, 0)", zip(
                [i] * len(data), (T0 + np.arange(len(data)) * NS).tolist(),
                data[:, i].astype(np.float64).tolist(), strict=True))
    times = []
    for _ in range(5):
        t = time.perf_counter()
        rows = conn.execute("SELECT ts, value, quality FROM samples WHERE tag_id = 0 AND "
                            "ts >= ? AND ts < ?", (T0, T0 + hours * 3600 * NS)).fetchall()
        np.array(rows)
        times.append(time.perf_counter() - t)
    conn.close()
    res["query_raw_ms"] = statistics.median(times) * 1000
    res["query_rows"] = len(rows)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tags", type=int, default=100_000)
    ap.add_argument("--ingest-seconds", type=int, default=720,
                    help="data seconds to ingest (≥ 700 so one window closes and folds)")
    ap.add_argument("--quick", action="store_true", help="small run to check the script")
    args = ap.parse_args()
    tags = 2_000 if args.quick else args.tags
    ingest_s = 120 if args.quick else args.ingest_seconds
    hours = 2 if args.quick else 24
    rng = np.random.default_rng(42)
    with tempfile.TemporaryDirectory(prefix="wg-bench-") as d:
        tmp = Path(d)
        t = time.perf_counter()
        classes = bench_bytes(max(tags // 20, 500), tmp, rng)
        print(f"# bytes/point on full 600-sample chunks ({time.perf_counter() - t:.0f} s)")
        print(f"{'class':<12}{'codec':>8}{'db chunks':>11}{'db file':>9}{'rollups':>9}"
              f"{'delta+zstd':>12}{'gorilla':>9}")
        for cls, r in classes.items():
            dz = "-" if r["delta_zstd"] is None else f"{r['delta_zstd']:.3f}"
            print(f"{cls:<12}{r['codec']:>8.3f}{r['db_chunks']:>11.3f}{r['db_file']:>9.3f}"
                  f"{r['rollups']:>9.3f}{dz:>12}{r['gorilla']:>9.3f}")
        t = time.perf_counter()
        ing = bench_ingest(tags, ingest_s, tmp, rng)
        print(f"# ingest {tags} tags x {ingest_s} s = {ing['points']:,} points "
              f"({time.perf_counter() - t:.0f} s wall)")
        print(f"writer CPU {ing['cpu_s']:.2f} s -> {ing['core_pct_at_100k']:.2f} % of one core "
              f"at 100,000 points/s; slowest append+maybe_flush "
              f"{ing['worst_call_s'] * 1000:.0f} ms")
        qdb = build_query_db(tmp, 4, hours, rng)
        try:
            q = bench_query(qdb, hours, tmp)
            for name, (ms, npts) in q.items():
                print(f"query {hours} h of one tag {name}: {ms:.1f} ms ({npts} points)")
        except ImportError as exc:
            print(f"query: reader not available ({exc})")
        base = baseline(tmp, classes, min(tags, 100_000), hours, 20 if args.quick else 60,
                        rng)
        print("# baseline: row-per-sample SQLite (tag_id, ts, value, quality)")
        print("bytes/point: " + ", ".join(f"{c} {b:.1f}" for c, b in base["bytes"].items()))
        print(f"ingest CPU {base['core_pct_at_100k']:.1f} % of one core at 100,000 points/s")
        print(f"query {hours} h raw: {base['query_raw_ms']:.1f} ms ({base['query_rows']} rows)")
        print(f"(machine: {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
