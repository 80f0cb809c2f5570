"""Historian benchmark (issues 4 and 8): bytes per point ON DISK, ALL-IN per signal class
(the headline), ingest CPU, query times, against a row-per-sample SQLite table measured in
the same run.

    .venv/bin/python bench/history.py [--tags 100000] [--day-tags 200] [--quick]

Signals are synthetic but shaped like a well pad's at 1 Hz: a pressure transmitter as a
uint16 raw register with ±2 counts of noise on a slow drift, slow temperatures (0.1 °F
counts), a totalizer (monotonic counts), status words that change rarely, and float32
values (IEEE registers).  Bytes per point are measured after a simulated day through the
normal writer path (one append per second, flushes, folds, compactions), as every file of
the database after a checkpoint divided by the raw points stored: chunks, rollups, indexes,
staging leftovers and free pages included (docs/history.md, "Measuring bytes on disk").
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


def disk_figures(db: Path, points: int) -> dict[str, float]:
    """Bytes per raw point: every file of the database after a checkpoint (the all-in
    figure), and the parts: chunk blobs, chunk table and indexes, rollups, free pages."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    blob = conn.execute("SELECT coalesce(sum(length(data)), 0) FROM chunks").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0] * \
        conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    files = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))

    def tables(*names: str) -> int:
        return sum(_table_bytes(db, n) for n in names)

    return {"all_in": files / points, "blob": blob / points,
            "chunks": tables("chunks", "chunks_by_series", "chunks_by_start") / points,
            "rollups": tables("rollup_1h", "rollup_1h_by_bucket", "rollup_1m",
                              "rollup_1m_by_start") / points,
            "free": free / points}


def bench_day(cls: str, tags: int, hours: int, tmp: Path, rng: np.random.Generator) -> dict:
    """``hours`` of ``tags`` 1 Hz series of one class through the normal writer path: one
    append per second (as acqd does), a flush every 10 s, folds and compactions as they
    come; then the database is closed and measured on disk."""
    db = tmp / f"day-{cls}" / "history.db"
    now = [0.0]
    kind = "float" if cls == "float32" else "int"
    w = HistoryWriter(db, chunk_s=600, flush_s=10, clock=lambda: now[0])
    ids = w.ensure_series([(f"{cls}{i}", kind, 0.1, 0, "") for i in range(tags)])
    data = signals(cls, tags, hours * 3600, rng)
    cpu = time.process_time()
    for k in range(hours * 3600):
        now[0] = k + 0.5
        w.append(ids, T0 + k * NS, data[k], 0)
        w.maybe_flush()
    w.close()
    cpu = time.process_time() - cpu
    out = disk_figures(db, tags * hours * 3600)
    out["cpu_per_mpt"] = cpu / (tags * hours * 3600) * 1e6
    cols = data[:, :min(tags, 20)].astype(np.float64)
    if kind == "int":
        cols = cols * 0.1  # decimal-scaled, as an XOR historian stores the values
    out["gorilla"] = sum(_gorilla_bytes(np.ascontiguousarray(cols[:, i]))
                         for i in range(cols.shape[1])) / cols.size
    out["_data"] = data
    return out


def bench_import(cls: str, data: np.ndarray, tmp: Path) -> float:
    """All-in bytes per point after `wellgate history import` of the same signals (CSV)."""
    from daemons.core.history.importer import import_csv
    from daemons.core.tagmap.model import TagDef, TagMap
    n, tags = data.shape
    dtype = "float32" if cls == "float32" else "int32"
    tagmap = TagMap(tuple(TagDef(f"I{i}", "plc1", 1, "hr", 2 * i, dtype,
                                 scale=1.0 if cls == "float32" else 0.1)
                          for i in range(tags)))
    times = np.datetime_as_string(np.datetime64(T0, "ns") + np.arange(n)
                                  * np.timedelta64(1, "s"), unit="s")
    path = tmp / f"import-{cls}.csv"
    with open(path, "w") as fh:
        fh.write("tag,ts,value\n")
        for i in range(tags):
            col = data[:, i]
            # Integer classes as `wellgate history export` writes them: raw x 0.1 with
            # shortest round-trip digits, which the importer recognises as on the
            # register's grid (stored as integers).
            values = [repr(float(np.float32(x))) for x in col.tolist()] \
                if cls == "float32" else [repr(x * 0.1) for x in col.tolist()]
            fh.writelines(f"I{i},{t}Z,{v}\n" for t, v in zip(times, values, strict=True))
    db = tmp / f"import-{cls}" / "import-history.db"
    db.parent.mkdir()
    import_csv(path, tagmap, db)
    return disk_figures(db, n * tags)["all_in"]


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


def bench_query(path: Path, days: int) -> dict:
    """The issue's query targets on one tag: the last 24 h raw and decimated to 1,000
    points, and the whole ``days`` (a year) decimated to 1,000 points."""
    from daemons.core.history.reader import HistoryReader
    end = T0 + days * 86_400 * NS
    day = end - 86_400 * NS
    res = {}
    with HistoryReader([path]) as reader:
        for name, fn in (("24 h raw", lambda: reader.raw("q0", day, end)),
                         ("24 h minmax 1000", lambda: reader.decimated("q0", day, end, 1000)),
                         ("24 h lttb 1000", lambda: reader.decimated("q0", day, end, 1000,
                                                                     method="lttb")),
                         (f"{days} d minmax 1000",
                          lambda: reader.decimated("q0", T0, end, 1000)),
                         (f"{days} d lttb 1000",
                          lambda: reader.decimated("q0", T0, end, 1000, method="lttb"))):
            times = []
            for _ in range(7):
                t = time.perf_counter()
                r = fn()
                times.append(time.perf_counter() - t)
            npts = len(r.ts) if hasattr(r, "ts") else len(r[0])
            source = getattr(r, "source", "raw")
            res[name] = (statistics.median(times) * 1000, npts, source)
    return res


def build_query_db(tmp: Path, days: int, raw_days: int, rng: np.random.Generator) -> Path:
    """``days`` of one 1 Hz tag through the writer, a day per flush, with raw retention of
    ``raw_days`` (older minutes are materialised as the raw data ages out)."""
    from daemons.core.history.retention import RetentionPolicy
    db = tmp / "query" / "history.db"
    now = [0]
    w = HistoryWriter(db, chunk_s=600, close_grace_s=0, retention_every_s=0,
                      retention=RetentionPolicy(raw_s=raw_days * 86_400),
                      clock=lambda: now[0], wall_ns=lambda: T0 + now[0] * NS)
    (sid,) = w.ensure_series([("q0", "int", 0.1, 0, "psi")])
    n = 86_400
    level = 30_000.0
    for d in range(days):
        drift = level + np.cumsum(rng.normal(0, 0.3, n))
        level = float(drift[-1])
        values = np.clip(np.rint(drift) + rng.integers(-2, 3, n), 0, 65_535).astype(np.int64)
        now[0] = (d + 1) * n
        w.append(np.full(n, sid), T0 + (d * n + np.arange(n)) * NS, values, 0)
        w.flush(fold_all=True)
    w.close()
    return db


def baseline(tmp: Path, classes: dict[str, dict], tags: int, hours: int, ingest_s: int,
             rng: np.random.Generator) -> dict:
    """Row-per-sample SQLite: (tag_id, ts, value, quality), primary key (tag_id, ts)."""
    res: dict = {"bytes": {}}
    ddl = ("CREATE TABLE samples (tag_id INTEGER NOT NULL, ts INTEGER NOT NULL, "
           "value REAL, quality INTEGER NOT NULL, PRIMARY KEY (tag_id, ts))")
    for cls, info in classes.items():
        data = info["_data"][:6 * 3600, :20]
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
    ap.add_argument("--tags", type=int, default=100_000,
                    help="tags of the ingest CPU run (100,000 is a large gathering station)")
    ap.add_argument("--day-tags", type=int, default=200,
                    help="tags per signal class of the one-day on-disk runs")
    ap.add_argument("--ingest-seconds", type=int, default=3_700,
                    help="data seconds to ingest (> 3,630 so one hour closes and compacts)")
    ap.add_argument("--quick", action="store_true", help="small run to check the script")
    args = ap.parse_args()
    tags = 2_000 if args.quick else args.tags
    day_tags = 20 if args.quick else args.day_tags
    import_tags = 4 if args.quick else 100  # 100 x 24 h = 8.6 M CSV rows per class
    hours = 2 if args.quick else 24
    ingest_s = 3_700
    days = 20 if args.quick else 365
    rng = np.random.default_rng(42)
    with tempfile.TemporaryDirectory(prefix="wg-bench-") as d:
        tmp = Path(d)
        t = time.perf_counter()
        classes = {cls: bench_day(cls, day_tags, hours, tmp, rng) for cls in CLASSES}
        imported = {cls: bench_import(cls, r["_data"][:, :import_tags], tmp)
                    for cls, r in classes.items()}
        base = baseline(tmp, classes, min(tags, 100_000), 2 if args.quick else 24,
                        20 if args.quick else 60, rng)
        print(f"# ON DISK, ALL-IN: bytes per raw point, every file of the database after a "
              f"checkpoint ({hours} h at 1 Hz, {day_tags} tags per class, normal writer "
              f"path; {time.perf_counter() - t:.0f} s)")
        print(f"{'class':<12}{'all-in':>8}{'target':>8}{'import':>8}{'row/sample':>12}"
              f"{'blob':>8}{'gorilla':>8}{'chunks':>8}{'rollups':>9}{'free':>7}"
              f"{'CPU us/pt':>11}")
        for cls, r in classes.items():
            print(f"{cls:<12}{r['all_in']:>8.3f}{TARGETS[cls]:>8.1f}{imported[cls]:>8.3f}"
                  f"{base['bytes'][cls]:>12.1f}{r['blob']:>8.3f}{r['gorilla']:>8.3f}{r['chunks']:>8.3f}"
                  f"{r['rollups']:>9.3f}{r['free']:>7.3f}{r['cpu_per_mpt']:>11.3f}")
        print("(all-in: database + WAL after a checkpoint, rollups, indexes and free pages; "
              f"import: the same after `wellgate history import` of {import_tags} of the tags; "
              "row/sample: the baseline table, same all-in measure; blob: chunk blobs alone; "
              "gorilla: Gorilla XOR's blob alone on the same values (Pelkonen et al. 2015); "
              "chunks: chunk table + indexes; rollups target <= 0.1)")
        t = time.perf_counter()
        qdb = build_query_db(tmp, days, 90, rng)
        q = bench_query(qdb, days)
        print(f"# queries, one tag, {days} days stored, raw kept 90 days "
              f"({time.perf_counter() - t:.0f} s to build)")
        for name, (ms, npts, source) in q.items():
            print(f"query {name}: {ms:.1f} ms ({npts} points from {source})")
        print(f"baseline row-per-sample: query 24 h raw {base['query_raw_ms']:.1f} ms "
              f"({base['query_rows']} rows)")
        t = time.perf_counter()
        ing = bench_ingest(tags, ingest_s, tmp, rng)
        print(f"# ingest {tags} tags x {ingest_s} s = {ing['points']:,} points, one hour "
              f"folded and compacted ({time.perf_counter() - t:.0f} s wall)")
        print(f"writer CPU {ing['cpu_s']:.2f} s -> {ing['core_pct_at_100k']:.2f} % of one core "
              f"at 100,000 points/s; slowest append+maybe_flush "
              f"{ing['worst_call_s'] * 1000:.0f} ms")
        print(f"baseline row-per-sample ingest CPU {base['core_pct_at_100k']:.1f} % of one core "
              "at 100,000 points/s")
        print(f"(machine: {os.cpu_count()} cores)")


TARGETS = {"analog": 1.0, "temperature": 0.6, "totalizer": 0.8, "status": 0.1, "float32": 2.6}


if __name__ == "__main__":
    main()
