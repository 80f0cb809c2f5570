"""hostd's TimescaleDB path against a real TimescaleDB, on a private PostgreSQL cluster.

The shared cluster on 127.0.0.1:5432 never preloads TimescaleDB (CI and other work use
it; preloading needs a restart), so this module starts its own cluster: initdb into a
temporary directory, `shared_preload_libraries = 'timescaledb'`, trust auth, a free
loopback port, stopped and removed afterwards.  It needs TimescaleDB's files installed
for that PostgreSQL (built from source or a package, docs/cloud.md says how); without
them every test here is skipped, which is expected on a fresh machine and in CI.

Background workers are off (max_background_workers = 0) so the compression policy runs
when a test calls it (run_job), never under a test's feet.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import glob
import json
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from daemons.hostd.config import DatabaseSection, Tenant
from daemons.hostd.model import MetricRef
from daemons.hostd.schema import choose_storage
from daemons.hostd.store import BirthOp, SampleStore

DAY_MS = 86_400_000


def _pg_with_timescaledb() -> tuple[Path, str] | None:
    """(bin dir, version) of the newest PostgreSQL that has TimescaleDB's files."""
    override = os.environ.get("WELLGATE_TSDB_PG_BINDIR")
    candidates = [Path(override)] if override else [
        Path(p).parent for p in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                                       reverse=True)]
    for bindir in candidates:
        pg_config = bindir / "pg_config"
        share = (subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True)
                 .stdout.strip() if pg_config.exists() else "")
        shares = [share] if share else [f"/usr/share/postgresql/{bindir.parent.name}"]
        if any(Path(s, "extension", "timescaledb.control").exists() for s in shares):
            return bindir, bindir.parent.name
    return None


class PrivateCluster:
    """A throwaway PostgreSQL cluster preloading TimescaleDB, as the invoking user or,
    when that is root (PostgreSQL refuses root), as the `postgres` system user."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="wellgate-tsdb-"))
        self.data = self.dir / "data"
        with socket.socket() as sock:  # a free loopback port
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.as_user, *args], capture_output=True, text=True,
                              timeout=120)

    def start(self) -> None:
        init = self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                         "--auth=trust", "-E", "UTF8", "--no-sync")
        if init.returncode:
            raise RuntimeError(f"initdb failed: {init.stderr}")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.dir}'\n"
                       "shared_preload_libraries = 'timescaledb'\n"
                       "timescaledb.telemetry_level = off\n"
                       "timescaledb.max_background_workers = 0\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        start = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                          str(self.dir / "server.log"), "-w", "-t", "60", "start")
        if start.returncode:
            log = (self.dir / "server.log").read_text(errors="replace")
            raise RuntimeError(f"the private cluster did not start: {start.stderr}\n{log}")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                      "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def dsn(self, db: str = "postgres", user: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={user} dbname={db}"


@pytest.fixture(scope="module")
def ts_dsn():
    found = _pg_with_timescaledb()
    if found is None:
        pytest.skip("TimescaleDB's extension files are not installed for any PostgreSQL here "
                    "(expected on a fresh machine and in CI; docs/cloud.md: how to build it)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run PostgreSQL")
    cluster = PrivateCluster(found[0])
    try:
        cluster.start()
        with psycopg.connect(cluster.dsn(), autocommit=True) as admin:
            admin.execute("CREATE DATABASE hostd_ts")
            admin.execute("CREATE EXTENSION timescaledb")  # as docs/cloud.md: a superuser once
        yield cluster.dsn("hostd_ts")
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def tenants():
    return (Tenant("acme", "acme", "acme_reader"), Tenant("globex", "globex", "globex_reader"))


@pytest.fixture(scope="module")
def store(ts_dsn, tenants):
    conn = psycopg.connect(ts_dsn)
    s = SampleStore(conn, DatabaseSection(dsn=ts_dsn, accept_past_days=30,
                                          timescaledb="require"))
    s.provision(tenants)
    yield s
    conn.close()


@pytest.fixture(autouse=True)
def _clean_transaction(request):
    """A failed test must not leave the shared connection inside its transaction."""
    yield
    if "store" in request.fixturenames:
        request.getfixturevalue("store").conn.rollback()


def birth(store, schema, node, names):
    refs = [MetricRef(schema, node, None, n, i + 1, 10, units="psi")
            for i, n in enumerate(names)]
    store.birth(BirthOp(schema, node, None, int(time.time() * 1000), refs, bdseq=1))
    return refs


def stored(store, schema, node):
    return store.conn.execute(
        f"SELECT metric, (extract(epoch FROM time) * 1000)::bigint, value, is_historical FROM "
        f"{schema}.samples_named WHERE node = %s ORDER BY metric, time", (node,)).fetchall()


def one(conn, query, *args):
    return conn.execute(query, args).fetchone()


def test_tenants_get_a_compressed_hypertable_with_daily_chunks(store, tenants, caplog):
    with caplog.at_level(logging.WARNING, logger="wellgate.hostd"):
        assert choose_storage(store.conn, "auto") == "timescaledb"
    assert not caplog.records  # usable: no fallback warning
    c = store.conn
    for t in tenants:
        assert store.storage[t.schema] == "timescaledb"
        assert one(c, "SELECT storage FROM hostd.tenants WHERE group_id = %s",
                   t.group_id) == ("timescaledb",)
        assert one(c, "SELECT compression_enabled FROM timescaledb_information.hypertables "
                   "WHERE hypertable_schema = %s AND hypertable_name = 'samples'",
                   t.schema) == (True,)
        assert one(c, "SELECT column_name, time_interval FROM timescaledb_information.dimensions"
                   " WHERE hypertable_schema = %s", t.schema) == ("time", dt.timedelta(days=1))
        settings = c.execute(
            "SELECT attname, segmentby_column_index, orderby_column_index, orderby_asc FROM "
            "timescaledb_information.compression_settings WHERE hypertable_schema = %s "
            "ORDER BY attname", (t.schema,)).fetchall()
        assert settings == [("metric_id", 1, None, None), ("time", None, 1, True)]
        assert one(c, "SELECT config->>'compress_after' FROM timescaledb_information.jobs "
                   "WHERE proc_name = 'policy_compression' AND hypertable_schema = %s",
                   t.schema) == ("7 days",)
        indexes = dict(c.execute("SELECT indexname, indexdef FROM pg_indexes WHERE "
                                 "schemaname = %s AND tablename = 'samples'", (t.schema,)))
        # The unique index includes the time column (a hypertable's must) and there is no
        # default B-tree on time beside the BRIN.
        assert "UNIQUE INDEX" in indexes["samples_metric_time"]
        assert "(metric_id, \"time\")" in indexes["samples_metric_time"]
        assert "USING brin" in indexes["samples_time_brin"] and len(indexes) == 2
    c.rollback()
    # Provisioning again (a restart, a new instance) changes nothing and does not fail.
    store.provision(tenants)
    assert set(store.storage.values()) == {"timescaledb"}


def test_copy_batches_and_replays_store_each_sample_once(store, tenants):
    schema = tenants[0].schema
    thp, tht = birth(store, schema, "pad-1", ["THP", "THT"])
    now = int(time.time() * 1000) // 1000 * 1000
    live = [(now - k * 1000, float(k), ref, 0, False, None) for k in range(600)
            for ref in (thp, tht)]
    assert store.write(schema, live).inserted == 1200  # the direct COPY
    replay = [(t, v + 1000, ref, q, True, txt) for t, v, ref, q, _h, txt in live]
    again = store.write(schema, replay[::-1] + replay[:10])  # reordered, doubled
    assert (again.offered, again.inserted) == (1210, 0)
    dup_live = store.write(schema, [*live[:5], (now + 1000, 9.0, thp, 0, False, None)])
    assert dup_live.inserted == 1 and store.direct_pause[schema] > 0
    got = stored(store, schema, "pad-1")
    assert len(got) == 1201 and len({(m, t) for m, t, _v, _h in got}) == 1201
    assert all(v < 1000 for _m, _t, v, _h in got)  # the first stored value stands
    store.conn.rollback()


def _chunk_of(store, schema, ms):
    return one(store.conn, "SELECT c FROM show_chunks(%s::regclass) c JOIN "
               "timescaledb_information.chunks i ON format('%%I.%%I', i.chunk_schema, "
               "i.chunk_name)::regclass = c WHERE %s >= i.range_start AND %s < i.range_end",
               f"{schema}.samples", dt.datetime.fromtimestamp(ms / 1000, dt.UTC),
               dt.datetime.fromtimestamp(ms / 1000, dt.UTC))[0]


@pytest.mark.parametrize("guard", [False, True], ids=["on-conflict", "guarded-move"])
def test_a_replay_into_a_compressed_chunk_is_not_duplicated(store, tenants, guard):
    """The move as this TimescaleDB gets it (ON CONFLICT) and as one before 2.18.1 would
    (no row meets a conflict: schema.py, issue 7672), both on a compressed chunk."""
    if not guard and store.conflict_guard:
        pytest.skip("this TimescaleDB drops rows after a conflict in a compressed chunk "
                    "(issue 7672): hostd uses the guarded move here")
    schema = tenants[0].schema
    node = f"pad-old-{int(guard)}"
    a, b = birth(store, schema, node, ["FLP", "CHP"])
    day = (int(time.time() * 1000) // DAY_MS - 10 - 2 * int(guard)) * DAY_MS  # 10/12 days ago
    first = [(day + 3_600_000 + k * 60_000, float(k), ref, 0, True, None) for k in range(0, 240, 2)
             for ref in (a, b)]
    assert store.write(schema, first).inserted == 240
    store.conn.commit()
    chunk = _chunk_of(store, schema, day + 3_600_000)
    store.conn.execute("SELECT compress_chunk(%s::regclass)", (chunk,))
    store.conn.commit()
    assert one(store.conn, "SELECT is_compressed FROM timescaledb_information.chunks WHERE "
               "format('%%I.%%I', chunk_schema, chunk_name) = %s", chunk) == (True,)

    was, store.conflict_guard = store.conflict_guard, guard
    try:
        # Every other minute is new: each new row follows a duplicate (the rows after a
        # first conflict are what TimescaleDB before 2.18.1 dropped); doubled in the round.
        replay = [(day + 3_600_000 + k * 60_000, 500.0 + k, ref, 0, True, None)
                  for k in range(240) for ref in (a, b)]
        result = store.write(schema, replay + replay[::7])
        assert (result.offered, result.inserted) == (480 + len(replay[::7]), 240)
        assert store.write(schema, replay[::-1]).inserted == 0  # and once more
        # A live-flagged duplicate into the compressed chunk: the direct COPY meets the
        # unique index and the round goes the de-duplicating way.
        store.direct_pause.pop(schema, None)
        late = [(day + 3_600_000, 1.0, a, 0, False, None),
                (day + 3_600_000 + 240 * 60_000, 2.0, a, 0, False, None)]
        assert store.write(schema, late).inserted == 1
        store.conn.commit()
    finally:
        store.conflict_guard = was
    got = stored(store, schema, node)
    assert len(got) == 481 and len({(m, t) for m, t, _v, _h in got}) == 481
    values = {(m, t): v for m, t, v, _h in got}
    for k in range(0, 240, 2):  # stored before the compression: unchanged
        assert values[("FLP", day + 3_600_000 + k * 60_000)] == float(k)
    for k in range(1, 240, 2):  # new in the replay
        assert values[("CHP", day + 3_600_000 + k * 60_000)] == 500.0 + k
    store.conn.rollback()


def test_the_compression_policy_compresses_old_chunks_and_views_read_them(store, tenants,
                                                                         ts_dsn):
    schema = tenants[1].schema
    (ref,) = birth(store, schema, "rig-1", ["WOB"])
    now = int(time.time() * 1000) // 1000 * 1000
    rows = [(now - d * DAY_MS - k * 1000, float(d), ref, 0, True, None)
            for d in (0, 1, 9) for k in range(100)]
    assert store.write(schema, rows).inserted == 300
    store.conn.commit()
    job = one(store.conn, "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = "
              "'policy_compression' AND hypertable_schema = %s", schema)[0]
    store.conn.commit()
    with psycopg.connect(ts_dsn, autocommit=True) as conn:  # the job commits per chunk
        conn.execute("CALL run_job(%s)", (job,))
    chunks = store.conn.execute(
        "SELECT range_start, is_compressed FROM timescaledb_information.chunks WHERE "
        "hypertable_schema = %s ORDER BY range_start", (schema,)).fetchall()
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    assert chunks and all(c == (start + dt.timedelta(days=1) <= old) for start, c in chunks)
    assert any(c for _s, c in chunks) and not chunks[-1][1]
    per_day = store.conn.execute(
        f"SELECT value, count(*) FROM {schema}.samples_named WHERE node = 'rig-1' "
        "GROUP BY value ORDER BY value").fetchall()
    assert per_day == [(0.0, 100), (1.0, 100), (9.0, 100)]
    assert one(store.conn, f"SELECT value FROM {schema}.latest WHERE node = 'rig-1'") == (0.0,)
    store.conn.rollback()


def test_a_tenants_role_reads_its_hypertable_and_not_anothers_chunks(store, tenants, ts_dsn):
    acme, globex = tenants
    (ref,) = birth(store, acme.schema, "pad-9", ["CHP"])
    (gref,) = birth(store, globex.schema, "rig-9", ["WOB"])
    now = int(time.time() * 1000)
    old = now - 9 * DAY_MS
    for t, r in ((acme, ref), (globex, gref)):
        assert store.write(t.schema, [(now, 42.0, r, 0, False, None),
                                      (old, 41.0, r, 0, True, None)]).inserted == 2
        store.conn.commit()
        store.conn.execute("SELECT compress_chunk(%s::regclass, if_not_compressed => true)",
                           (_chunk_of(store, t.schema, old),))
    store.conn.execute('CREATE ROLE "grafana_acme" LOGIN IN ROLE "acme_reader"')
    store.conn.commit()
    # Every chunk of the other tenant, plain and compressed (TimescaleDB keeps them in its
    # own schemas, where every role has USAGE: the chunks' own grants must hold).
    theirs = [r[0] for r in store.conn.execute(
        "SELECT format('%%I.%%I', chunk_schema, chunk_name) FROM timescaledb_information.chunks "
        "WHERE hypertable_schema = %s UNION ALL SELECT format('%%I.%%I', n.nspname, c.relname) "
        "FROM _timescaledb_catalog.chunk ch JOIN _timescaledb_catalog.chunk cc ON "
        "cc.id = ch.compressed_chunk_id JOIN pg_class c ON c.relname = cc.table_name "
        "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = cc.schema_name "
        "JOIN _timescaledb_catalog.hypertable h ON h.id = ch.hypertable_id "
        "WHERE h.schema_name = %s", (globex.schema, globex.schema))]
    assert len(theirs) >= 3  # two chunks, one compressed chunk
    store.conn.rollback()
    with psycopg.connect(ts_dsn.replace("user=postgres", "user=grafana_acme"),
                         autocommit=True) as conn:
        own = conn.execute(f"SELECT value FROM {acme.schema}.samples_named WHERE node = "
                           "'pad-9' ORDER BY time").fetchall()
        assert own == [(41.0,), (42.0,)]  # one row from a compressed chunk
        for relation in (f"{globex.schema}.samples", f"{globex.schema}.samples_named",
                         f"{globex.schema}.metrics", f"{globex.schema}.latest",
                         "hostd.tenants", *theirs):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {relation} LIMIT 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"INSERT INTO {acme.schema}.samples (time, metric_id) VALUES "
                         "(now(), 1)")


def test_every_dashboard_query_runs_on_the_hypertable(store, ts_dsn):
    from tests.hostd.test_grafana import DASHBOARD, expand

    tenant = Tenant("grafana-demo", "gf", "gf_reader")
    store.provision([tenant])
    assert store.storage["gf"] == "timescaledb"
    refs = birth(store, "gf", "pad-1", ["THP", "CHP"])
    now = int(time.time() * 1000)
    bad = 0x80310000 - (1 << 32)
    store.write("gf", [(now - k * 1000, float(k), r, 0 if k % 10 else bad, k > 300, None)
                       for k in range(600) for r in refs])
    store.conn.execute('CREATE ROLE "grafana_gf" LOGIN IN ROLE "gf_reader"')
    store.conn.execute('ALTER ROLE "grafana_gf" SET search_path = "gf"')
    store.conn.commit()
    dash = json.loads(DASHBOARD.read_text())
    queries = [(v["name"], v["query"]) for v in dash["templating"]["list"]]
    queries += [(p["title"], t["rawSql"]) for p in dash["panels"] for t in p["targets"]]
    with psycopg.connect(ts_dsn.replace("user=postgres", "user=grafana_gf"),
                         autocommit=True) as conn:
        results = {title: conn.execute(expand(sql, "pad-1", ["THP", "CHP"])).fetchall()
                   for title, sql in queries}
    assert all(rows for rows in results.values()), {k: len(v) for k, v in results.items()}
    assert {r[0]: r[1] for r in results["$node: latest values"]} == {"THP": 0.0, "CHP": 0.0}
    replay = results["$node: live and replayed samples per minute"]
    assert sum(r[1] for r in replay) == 2 * 301 and sum(r[2] for r in replay) == 2 * 299
    bad_rows = results["$node: samples of bad or uncertain quality"]
    assert {r[1] for r in bad_rows} == {"bad"} and sum(r[2] for r in bad_rows) == 2 * 60


def test_hostd_stores_an_edge_nodes_live_data_and_replays_in_a_hypertable(
        tmp_path, broker, ts_dsn, edge_sim, helpers, start_hostd):
    """The daemon end to end: MQTT in, `timescaledb = "require"`, a replay of old history."""
    cfg = helpers.write_hostd_config(tmp_path / "hostd.toml", port=broker.port, dsn=ts_dsn,
                                     host_id="cloud-ts",
                                     tenants=[("wells", "wells", "wells_reader")])
    cfg.write_text(cfg.read_text().replace("flush_ms = 50", 'flush_ms = 50\n'
                                           'timescaledb = "require"'))
    hostd = start_hostd(cfg)

    def count():
        with psycopg.connect(ts_dsn) as conn, contextlib.suppress(psycopg.errors.UndefinedTable):
            return conn.execute("SELECT count(*), count(DISTINCT (metric, time)) FROM "
                                "wells.samples_named WHERE node = 'pad-1'").fetchone()
        return (0, 0)

    async def scenario():
        edge = edge_sim(broker.port, "wells", "pad-1")
        await edge.connect("cloud-ts")
        await helpers.async_wait_for(lambda: edge.state, 20, "STATE from hostd")
        t0 = int(time.time() * 1000) // 1000 * 1000 - 60_000
        edge.nbirth(t0)
        for k in range(1, 31):
            edge.ndata(t0 + k * 1000, {1: float(k), 2: -float(k)})
        old = t0 - 9 * DAY_MS
        for _ in range(2):  # a replay of nine-day-old history, sent twice
            for k in range(30):
                edge.ndata(old + k * 1000, {1: float(k)}, historical=True)
        await helpers.async_wait_for(lambda: count() == (93, 93), 20, "93 samples once each")
        await edge.disconnect()

    asyncio.run(scenario())
    assert hostd.alive(), hostd.output()
    with psycopg.connect(ts_dsn) as conn:
        assert one(conn, "SELECT storage FROM hostd.tenants WHERE group_id = 'wells'") == (
            "timescaledb",)
        assert one(conn, "SELECT count(*) FROM timescaledb_information.chunks WHERE "
                   "hypertable_schema = 'wells'")[0] >= 2
    assert "TimescaleDB not used" not in hostd.output()
