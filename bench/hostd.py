"""hostd benchmark (issue 14): insert rate into PostgreSQL and bytes per sample.

    .venv/bin/python bench/hostd.py [--nodes 10] [--tags 200] [--rounds 100] [--quick]

Figures, each on a fresh database on 127.0.0.1:5432 (user postgres), dropped after:
- baseline: the same rows with executemany INSERT … ON CONFLICT DO NOTHING (no COPY);
- store: SampleStore.write alone: live rows by binary COPY straight into the table, the
  same rows again (all duplicates) through staging + INSERT … ON CONFLICT;
- pipeline: decoded payloads (NDATA, aliases, per-metric timestamps) → session tracking
  → writer thread → committed rows, i.e. hostd minus MQTT and protobuf;
- pipeline+decode: the same from encoded Sparkplug bytes (shared codec);
- mqtt: a real mosquitto on a free port, hostd as a process, the payloads published by
  one gmqtt client as fast as it goes; rate = samples / (first publish → last row
  committed).  QoS 0 as Sparkplug data is: if the broker drops, the loss is printed;
- replay: the same rows sent again as is_historical (every one a duplicate);
- bytes per sample: heap + unique index + BRIN of the samples partitions / rows.
Target (issue 14): ≥ 100,000 samples/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import psycopg.conninfo

TREE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TREE))

from daemons.core.sparkplug import (  # noqa: E402
    BDSEQ,
    add_metric,
    encode_payload,
    new_payload,
)
from daemons.hostd.config import DatabaseSection, Tenant  # noqa: E402
from daemons.hostd.decode import decode  # noqa: E402
from daemons.hostd.model import MetricRef, SpMetric, SpPayload  # noqa: E402
from daemons.hostd.session import Sessions  # noqa: E402
from daemons.hostd.store import SampleStore  # noqa: E402
from daemons.hostd.writer import Writer  # noqa: E402

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (here: PostgreSQL backends, hostd, mosquitto).

    The machine is shared: wall-clock rates fall when others run, CPU per sample does not.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_sample_us(cpu: float, n: int) -> str:
    return f"{cpu / n * 1e6:.1f} µs"


class QuietLog:
    def __getattr__(self, _name):
        return lambda *a, **k: None


class Database:
    """A fresh database on the server of *admin* (a DSN to its `postgres` database);
    *storage*: hostd's `timescaledb` setting (auto: a hypertable where TimescaleDB is
    preloaded, else daily partitions; off: partitions)."""

    def __init__(self, admin: str = ADMIN, storage: str = "auto") -> None:
        self.name = f"hostd_bench_{uuid.uuid4().hex[:8]}"
        self.admin = psycopg.connect(admin, autocommit=True)
        self.admin.execute(f'CREATE DATABASE "{self.name}"')
        self.dsn = psycopg.conninfo.make_conninfo(admin, dbname=self.name)
        self.storage = storage
        self.roles: list[str] = []

    def section(self, **kw: Any) -> DatabaseSection:
        return DatabaseSection(dsn=self.dsn, timescaledb=self.storage, **kw)

    def tenant(self, group: str) -> Tenant:
        schema = f"b_{group}"
        role = f"{schema}_{self.name[-8:]}_reader"
        self.roles.append(role)
        return Tenant(group, schema, role)

    def drop(self) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        for role in self.roles:
            self.admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        self.admin.close()


def payloads(nodes: int, tags: int, rounds: int, t0: int, historical: bool = False):
    """(node, SpPayload) births then data: every tag changes every round (1 s apart)."""
    births = []
    for n in range(nodes):
        metrics = [SpMetric(BDSEQ, None, t0, 4, 0)] + [
            SpMetric(f"tag{i}", i + 1, t0, 10, 0.0) for i in range(tags)]
        births.append((f"node{n}", SpPayload(t0, 0, metrics)))
    data = []
    for r in range(1, rounds + 1):
        for n in range(nodes):
            ts = t0 + r * 1000
            metrics = [SpMetric(None, i + 1, ts, 10, float(r * i % 997), is_historical=historical)
                       for i in range(tags)]
            data.append((f"node{n}", SpPayload(ts, r % 256, metrics)))
    return births, data


def encoded(births, data):
    out = []
    for kind, items in (("NBIRTH", births), ("NDATA", data)):
        for node, p in items:
            pb = new_payload(p.timestamp_ms, p.seq)
            for m in p.metrics:
                add_metric(pb, m.datatype, m.value, name=m.name, alias=m.alias,
                           timestamp_ms=m.timestamp_ms, is_historical=m.is_historical,
                           with_datatype=kind == "NBIRTH")
            out.append((kind, node, encode_payload(pb)))
    return out


def bench_baseline(db: Database, tenant: Tenant, n: int, t0: int) -> float:
    with psycopg.connect(db.dsn) as conn:
        store = SampleStore(conn, db.section())
        store.provision([tenant])
        from daemons.hostd.store import BirthOp
        ref = MetricRef(tenant.schema, "base", None, "x", 1, 10)
        store.birth(BirthOp(tenant.schema, "base", None, t0, [ref], bdseq=0))
        store.write(tenant.schema, [(t0, 0.0, ref, 0, False, None)])  # makes the partitions
        rows = [(t0 + k + 1, float(k), ref.db_id, 0, False) for k in range(n)]
        start = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {tenant.schema}.samples (time, value, metric_id, "
                            "quality, is_historical) VALUES (timestamptz 'epoch' + %s * "
                            "interval '1 ms', %s, %s, %s, %s) ON CONFLICT DO NOTHING", rows)
        conn.commit()
        return n / (time.perf_counter() - start)


def bench_store(db: Database, tenant: Tenant, n: int, t0: int) -> tuple[float, float]:
    from daemons.hostd.store import BirthOp
    with psycopg.connect(db.dsn) as conn:
        store = SampleStore(conn, db.section())
        store.provision([tenant])
        refs = [MetricRef(tenant.schema, "store", None, f"m{i}", i, 10) for i in range(100)]
        store.birth(BirthOp(tenant.schema, "store", None, t0, refs, bdseq=0))
        rows = [(t0 + (k // 100) * 1000, float(k), refs[k % 100], 0, False, None)
                for k in range(n)]
        start = time.perf_counter()
        for i in range(0, n, 20_000):
            store.write(tenant.schema, rows[i:i + 20_000])
        fresh = n / (time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(0, n, 20_000):
            store.write(tenant.schema, rows[i:i + 20_000])
        return fresh, n / (time.perf_counter() - start)


def run_pipeline(db: Database, tenant: Tenant, births, data,
                 raw=None) -> tuple[float, int, float, float]:
    """(samples/s, new rows, hostd CPU s, PostgreSQL backend CPU s)."""
    writer = Writer(db.section(flush_ms=100, batch_max=20_000,
                                    max_buffer_samples=50_000_000), (tenant,), QuietLog())
    writer.start()
    writer.ready.wait(30)
    backend = writer.backend_pid
    pg0, me0 = cpu_s(backend), time.process_time()
    sessions = Sessions({tenant.group_id: tenant.schema}, writer, lambda g, n: None,
                        QuietLog(), rebirth_min_interval_s=3600)
    start = time.perf_counter()
    if raw is None:
        for node, p in births:
            sessions.handle(tenant.group_id, "NBIRTH", node, None, p, p.timestamp_ms)
        for node, p in data:
            sessions.handle(tenant.group_id, "NDATA", node, None, p, p.timestamp_ms)
    else:
        for kind, node, blob in raw:
            p = decode(blob, sessions.datatype_of(tenant.group_id, node, None))
            sessions.handle(tenant.group_id, kind, node, None, p, p.timestamp_ms or 0)
    n = sum(len(p.metrics) for _n, p in data)
    time.sleep(0.01)
    while writer.queued_samples > 0:
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    pg, me = cpu_s(backend) - pg0, time.process_time() - me0
    writer.stop(30)
    return n / elapsed, writer.inserted, me, pg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_mqtt(db: Database, tenant: Tenant, raw,
               expected: int) -> tuple[float, int, float, float]:
    """(samples/s, rows, hostd process CPU s, mosquitto CPU s)."""
    from gmqtt import Client

    workdir = Path(tempfile.mkdtemp(prefix="hostd-bench-"))
    port = free_port()
    (workdir / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\n")
    broker = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c",
                               str(workdir / "mosquitto.conf")], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    cfg = workdir / "hostd.toml"
    cfg.write_text(f'[hostd]\nhost_id = "bench"\nrebirth_min_interval_s = 3600\n'
                   f'metrics_port = 0\n[mqtt]\n'
                   f'port = {port}\n[database]\ndsn = "{db.dsn}"\nbatch_max = 20000\n'
                   f'timescaledb = "{db.storage}"\n'
                   f'flush_ms = 100\nmax_buffer_samples = 50000000\n[[tenant]]\n'
                   f'group_id = "{tenant.group_id}"\nschema = "{tenant.schema}"\n'
                   f'reader_role = "{tenant.reader_role}"\n')
    env = dict(os.environ, PYTHONPATH=str(TREE))
    log = (workdir / "hostd.log").open("wb")
    hostd = subprocess.Popen([sys.executable, "-m", "daemons.hostd", "--config", str(cfg)],
                             env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        deadline = time.monotonic() + 30
        while b"primary host online" not in (workdir / "hostd.log").read_bytes():
            if time.monotonic() > deadline:
                raise RuntimeError("hostd did not come online")
            time.sleep(0.1)

        def count() -> int:
            with psycopg.connect(db.dsn) as conn:
                return conn.execute(f"SELECT count(*) FROM {tenant.schema}.samples WHERE "
                                    "metric_id IN (SELECT id FROM "
                                    f"{tenant.schema}.metrics WHERE name <> "
                                    "'bdSeq')").fetchone()[0]

        before = count()
        host0, broker0 = cpu_s(hostd.pid), cpu_s(broker.pid)

        async def publish() -> float:
            c = Client(f"bench-edge-{uuid.uuid4().hex[:6]}")
            await c.connect("127.0.0.1", port)
            start = time.perf_counter()
            for i, (kind, node, blob) in enumerate(raw):
                c.publish(f"spBv1.0/{tenant.group_id}/{kind}/{node}", blob, qos=0)
                if i % 50 == 0:
                    await asyncio.sleep(0)  # let the socket drain
            await asyncio.sleep(0.2)
            await c.disconnect()
            return start

        start = asyncio.run(publish())
        last, stable_since = -1, time.monotonic()
        while True:
            n = count() - before
            if n >= expected:
                break
            if n != last:
                last, stable_since = n, time.monotonic()
            elif time.monotonic() - stable_since > 3:
                break  # nothing more is coming: some messages were lost
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        return n / elapsed, n, cpu_s(hostd.pid) - host0, cpu_s(broker.pid) - broker0
    finally:
        hostd.terminate()
        hostd.wait(10)
        broker.terminate()
        broker.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)


def bytes_per_sample(db: Database, tenant: Tenant) -> tuple[float, float, float, int, str]:
    """Bytes on disk per stored sample (every partition or chunk: heap, TOAST, indexes) and
    the storage hostd chose for the tenant."""
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        storage = conn.execute("SELECT storage FROM hostd.tenants WHERE group_id = %s",
                               (tenant.group_id,)).fetchone()[0]
        conn.execute(f"VACUUM ANALYZE {tenant.schema}.samples")
        heap, index, rows = conn.execute(
            "SELECT sum(pg_table_size(inhrelid)), sum(pg_indexes_size(inhrelid)), "
            f"(SELECT count(*) FROM {tenant.schema}.samples) FROM pg_inherits WHERE "
            "inhparent = %s::regclass", (f"{tenant.schema}.samples",)).fetchone()
    return (heap + index) / rows, heap / rows, index / rows, rows, storage


def compressed_bytes_per_sample(db: Database, tenant: Tenant) -> float:
    """A TimescaleDB tenant's bytes on disk per sample once its chunks are compressed
    (what its compression policy does after compress_after_days): hypertable_size counts
    the chunks, their compressed tables, TOAST and indexes."""
    table = f"{tenant.schema}.samples"
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("SELECT compress_chunk(c, if_not_compressed => true) FROM "
                     "show_chunks(%s::regclass) c", (table,))
        size, rows = conn.execute(f"SELECT hypertable_size(%s::regclass), "
                                  f"(SELECT count(*) FROM {table})", (table,)).fetchone()
    return size / rows


def insert_rate(quick: bool = False, nodes: int = 10, tags: int = 200) -> dict[str, float]:
    """hostd's part of bench/sparkplug.py: Sparkplug bytes → committed rows, in process and
    behind mosquitto, on a fresh database (samples/s and CPU µs per sample)."""
    rounds = 20 if quick else 100
    n = nodes * tags * rounds
    t0 = (int(time.time()) - 2 * rounds) * 1000
    db = Database()
    try:
        births, data = payloads(nodes, tags, rounds, t0)
        raw = encoded(births, data)
        rate, _rows, me, pg = run_pipeline(db, db.tenant("sp"), births, data, raw=raw)
        mqtt_rate, got, host_cpu, _broker = bench_mqtt(db, db.tenant("spmqtt"), raw,
                                                       n + nodes * tags)
    finally:
        db.drop()
    return {"pipeline": rate, "hostd_us": me / n * 1e6, "postgresql_us": pg / n * 1e6,
            "mqtt": mqtt_rate, "mqtt_hostd_us": host_cpu / max(got, 1) * 1e6}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=10)
    ap.add_argument("--tags", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="a fifth of the rounds")
    ap.add_argument("--admin-dsn", default=ADMIN,
                    help="the server to measure on (its postgres database; default the local "
                    "one): e.g. a cluster preloading TimescaleDB")
    ap.add_argument("--timescaledb", choices=("auto", "off"), default="auto",
                    help="hostd's storage setting: auto = a hypertable where TimescaleDB is "
                    "preloaded, off = daily partitions")
    args = ap.parse_args()
    rounds = max(5, args.rounds // 5) if args.quick else args.rounds
    n = args.nodes * args.tags * rounds
    t0 = (int(time.time()) - 2 * rounds) * 1000
    db = Database(args.admin_dsn, args.timescaledb)
    try:
        print(f"hostd → PostgreSQL ({args.nodes} nodes × {args.tags} tags × {rounds} rounds "
              f"= {n:,} samples per run; target ≥ 100,000 samples/s)")
        base = bench_baseline(db, db.tenant("base"), min(n, 20_000), t0)
        print(f"  baseline executemany INSERT … ON CONFLICT : {base:>10,.0f} samples/s")
        fresh, dup = bench_store(db, db.tenant("store"), n, t0)
        print(f"  store: live rows, binary COPY            : {fresh:>10,.0f} samples/s "
              f"(all duplicates, via staging + ON CONFLICT: {dup:,.0f}/s)")
        births, data = payloads(args.nodes, args.tags, rounds, t0)
        tenant = db.tenant("pipe")
        rate, inserted, me, pg = run_pipeline(db, tenant, births, data)
        print(f"  pipeline: decoded payload → committed    : {rate:>10,.0f} samples/s "
              f"({inserted:,} rows; CPU per sample: hostd {per_sample_us(me, n)}, "
              f"PostgreSQL {per_sample_us(pg, n)})")
        hb, hd = payloads(args.nodes, args.tags, rounds, t0, historical=True)
        rate, inserted, me, pg = run_pipeline(db, tenant, hb, hd)
        print(f"  replay of the same as is_historical      : {rate:>10,.0f} samples/s "
              f"({inserted:,} new rows: duplicates stored once)")
        tenant2 = db.tenant("wire")
        raw = encoded(births, data)
        rate, inserted, me, pg = run_pipeline(db, tenant2, births, data, raw=raw)
        bound = n / max(me, pg)
        print(f"  pipeline + protobuf decode               : {rate:>10,.0f} samples/s "
              f"({inserted:,} rows; CPU per sample: hostd {per_sample_us(me, n)}, "
              f"PostgreSQL {per_sample_us(pg, n)} → {bound:,.0f} samples/s with a free core "
              "each)")
        total, heap, index, rows, storage = bytes_per_sample(db, tenant2)
        print(f"  bytes per sample in PostgreSQL           : {total:>10.1f} B "
              f"(heap {heap:.1f} + indexes {index:.1f}; {rows:,} rows; storage {storage})")
        if storage == "timescaledb":
            print(f"  … its chunks compressed (TimescaleDB)    : "
                  f"{compressed_bytes_per_sample(db, tenant2):>10.1f} B")
        tenant3 = db.tenant("mqtt")
        rate, got, host_cpu, broker_cpu = bench_mqtt(db, tenant3, encoded(births, data),
                                                     n + args.nodes * args.tags)
        lost = n + args.nodes * args.tags - got
        print(f"  with MQTT: mosquitto + hostd process     : {rate:>10,.0f} samples/s "
              f"({got:,} rows{'; ' + format(lost, ',') + ' lost at QoS 0' if lost else ''}; "
              f"CPU per sample: hostd {per_sample_us(host_cpu, got)}; mosquitto "
              f"{broker_cpu * 1000:.0f} ms for {len(births) + len(data):,} messages)")
        print(f"  load average during the run: {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores (wall-clock rates are shared; CPU per sample is not)")
    finally:
        db.drop()


if __name__ == "__main__":
    main()
