"""The PostgreSQL side against the real server: schema, partitions, de-duplication,
tenant isolation by role, and `hostd nodes`."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from daemons.hostd.config import DatabaseSection, Tenant
from daemons.hostd.model import MetricRef
from daemons.hostd.store import BirthOp, DeathOp, NodeStats, SampleStore

TREE = Path(__file__).resolve().parents[2]
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def tenants(suffix):
    return (Tenant("acme", f"acme_{suffix}", f"acme_reader_{suffix}"),
            Tenant("globex", f"globex_{suffix}", f"globex_reader_{suffix}"))


@pytest.fixture(scope="module")
def store(pg_dsn, tenants):
    conn = psycopg.connect(pg_dsn)
    s = SampleStore(conn, DatabaseSection(dsn=pg_dsn, accept_past_days=30))
    s.provision(tenants)
    yield s
    conn.close()


def birth(store, schema, node, names, device=None, bdseq=1):
    refs = [MetricRef(schema, node, device, n, i + 1, 10, units="psi") for i, n in
            enumerate(names)]
    store.birth(BirthOp(schema, node, device, int(time.time() * 1000), refs, bdseq=bdseq,
                        instance="test"))
    return refs


def test_tenant_schema_has_daily_partitions_ahead_with_brin_and_unique_index(store, tenants):
    schema = tenants[0].schema
    assert store.storage[schema] == "partitions"  # no TimescaleDB on this server
    today = dt.datetime.now(dt.UTC).date()
    names = {r[0] for r in store.conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass", (f"{schema}.samples",)).fetchall()}
    for k in range(4):
        assert f"samples_{today + dt.timedelta(days=k):%Y%m%d}" in names
    indexes = dict(store.conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
        (schema, f"samples_{today:%Y%m%d}")).fetchall())
    defs = " | ".join(indexes.values())
    assert "USING brin (\"time\")" in defs and "UNIQUE INDEX" in defs
    store.conn.rollback()


def test_a_sample_is_stored_once_however_often_it_is_sent(store, tenants):
    schema = tenants[0].schema
    thp, tht = birth(store, schema, "pad-1", ["THP", "THT"])
    now = int(time.time() * 1000) // 1000 * 1000
    rows = [(now - k * 1000, float(k), ref, 0, True, None) for k in range(600)
            for ref in (thp, tht)]
    first = store.write(schema, rows)
    again = store.write(schema, rows[::-1] + rows[:10])  # replayed, reordered, doubled
    assert (first.offered, first.inserted) == (1200, 1200)
    assert (again.offered, again.inserted) == (1210, 0)
    got = store.conn.execute(
        f"SELECT metric, count(*), count(DISTINCT time), min(value), max(value), "
        f"bool_and(is_historical) FROM {schema}.samples_named WHERE node = 'pad-1' "
        f"GROUP BY metric ORDER BY metric").fetchall()
    assert got == [("THP", 600, 600, 0.0, 599.0, True), ("THT", 600, 600, 0.0, 599.0, True)]
    store.conn.rollback()


def test_old_replays_get_their_partitions_and_out_of_window_samples_are_refused(store,
                                                                                tenants):
    schema = tenants[0].schema
    (ref,) = birth(store, schema, "pad-2", ["FLP"])
    now = int(time.time() * 1000)
    ten_days_ago = now - 10 * DAY_MS
    result = store.write(schema, [(ten_days_ago, 1.0, ref, 0, True, None),
                                  (now - 400 * DAY_MS, 2.0, ref, 0, True, None)])
    assert result.inserted == 1 and len(result.rejected) == 1
    day = dt.datetime.fromtimestamp(ten_days_ago / 1000, dt.UTC).date()
    assert store.conn.execute("SELECT to_regclass(%s)", (f"{schema}.samples_{day:%Y%m%d}",)
                              ).fetchone()[0] is not None
    store.conn.rollback()


def test_births_upsert_metadata_and_deaths_mark_offline(store, tenants):
    schema = tenants[1].schema
    refs = birth(store, schema, "rig-7", ["HKLD", "BPOS"])
    again = birth(store, schema, "rig-7", ["HKLD", "BPOS"], bdseq=2)
    assert [r.db_id for r in refs] == [r.db_id for r in again]  # same metrics, same ids
    (dev_ref,) = birth(store, schema, "rig-7", ["SPM"], device="pump")
    assert dev_ref.db_id not in {r.db_id for r in refs}
    store.death(DeathOp(schema, "rig-7", None, int(time.time() * 1000)))
    row = store.conn.execute(f"SELECT online, bdseq, devices_online, devices FROM "
                             f"{schema}.node_status WHERE node = 'rig-7'").fetchone()
    assert row == (False, 2, 0, 1)
    store.conn.rollback()


def test_a_tenants_role_reads_its_own_rows_and_not_anothers(store, tenants, pg_dsn, suffix):
    acme, globex = tenants
    (ref,) = birth(store, acme.schema, "pad-9", ["CHP"])
    (gref,) = birth(store, globex.schema, "rig-9", ["WOB"])
    now = int(time.time() * 1000)
    store.write(acme.schema, [(now, 42.0, ref, 0, False, None)])
    store.write(globex.schema, [(now, 7.0, gref, 0, False, None)])
    user = f"grafana_acme_{suffix}"
    store.conn.execute(f'CREATE ROLE "{user}" LOGIN IN ROLE "{acme.reader_role}"')
    store.conn.commit()
    dsn = pg_dsn.replace("user=postgres", f"user={user}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        own = conn.execute(f"SELECT value FROM {acme.schema}.samples_named WHERE node = "
                           "'pad-9'").fetchall()
        assert own == [(42.0,)]
        assert conn.execute(f"SELECT count(*) FROM {acme.schema}.latest").fetchone()[0] >= 1
        for relation in (f"{globex.schema}.samples", f"{globex.schema}.samples_named",
                         f"{globex.schema}.metrics", f"{globex.schema}.latest",
                         "hostd.tenants"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {relation} LIMIT 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"INSERT INTO {acme.schema}.samples (time, metric_id) VALUES "
                         "(now(), 1)")


def test_hostd_nodes_lists_nodes_sessions_and_lag(store, tenants, pg_dsn):
    schema = tenants[0].schema
    now = int(time.time() * 1000)
    store.node_stats({(schema, "pad-1"): NodeStats(last_message_ms=now, last_seq=17,
                                                    newest_ms=now - 2500, samples=5,
                                                    historical=3, rebirths=1)})
    env = dict(os.environ, PYTHONPATH=str(TREE))
    out = subprocess.run([sys.executable, "-m", "daemons.hostd", "nodes", "--dsn", pg_dsn,
                          "--json", "--group", "acme"], env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    nodes = {n["node"]: n for n in json.loads(out.stdout)}
    pad = nodes["pad-1"]
    assert pad["online"] and pad["bdseq"] == 1 and pad["last_seq"] == 17
    assert pad["samples"] == 5 and pad["historical"] == 3 and pad["rebirths"] == 1
    assert 2.0 <= pad["lag_s"] < 60
    assert {n["group"] for n in nodes.values()} == {"acme"}
    table = subprocess.run([sys.executable, "-m", "daemons.hostd", "nodes", "--dsn", pg_dsn],
                           env=env, capture_output=True, text=True, timeout=30)
    header, *lines = table.stdout.splitlines()
    assert header.split()[:3] == ["group", "node", "online"]
    assert any(line.split()[:3] == ["acme", "pad-1", "yes"] for line in lines)
    bad = subprocess.run([sys.executable, "-m", "daemons.hostd", "nodes", "--dsn",
                          "host=127.0.0.1 port=1 user=x connect_timeout=2"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and "cannot read the database" in bad.stderr


def test_a_sample_whose_metric_has_no_id_does_not_block_the_others(store, tenants):
    schema = tenants[1].schema
    (ok,) = birth(store, schema, "rig-2", ["ROP"])
    orphan = MetricRef(schema, "rig-2", None, "NEVER_BORN", 99, 10)  # db_id stays None
    now = int(time.time() * 1000)
    result = store.write(schema, [(now, 1.0, ok, 0, False, None),
                                  (now, 2.0, orphan, 0, False, None)])
    assert result.inserted == 1 and result.rejected == [(schema, "rig-2", now)]
    store.conn.rollback()


def test_timescaledb_modes_fall_back_or_refuse_clearly_without_the_extension(store, caplog):
    """This server never preloads TimescaleDB; its files may be installed or not.

    A fresh machine has no files; a machine where TimescaleDB was built for
    tests/hostd/test_timescaledb.py has them, but the shared cluster does not preload the
    library, so CREATE EXTENSION would fail: either way `auto` falls back with one warning
    naming the cause and `require` refuses with it, and the connection stays usable.
    """
    from daemons.hostd.schema import choose_storage, timescale_available, timescale_preloaded

    files = timescale_available(store.conn)
    assert timescale_preloaded(store.conn) is False  # the shared cluster: never preloaded
    cause = "not preloaded.*shared_preload_libraries" if files else "not available"
    with caplog.at_level(logging.WARNING, logger="wellgate.hostd"):
        assert choose_storage(store.conn, "auto") == "partitions"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and re.search(cause, warnings[0]), warnings
    assert choose_storage(store.conn, "off") == "partitions"
    with pytest.raises(RuntimeError, match=f'"require".*{cause}'):
        choose_storage(store.conn, "require")
    assert store.conn.execute("SELECT count(*) FROM pg_extension WHERE extname = "
                              "'timescaledb'").fetchone() == (0,)
    store.conn.rollback()


def test_live_rows_go_straight_in_and_a_live_duplicate_falls_back_to_de_duplication(
        store, tenants):
    schema = tenants[0].schema
    num, txt = birth(store, schema, "pad-live", ["NUM", "TXT"])
    now = int(time.time() * 1000) // 1000 * 1000
    bad = 0x80310000 - (1 << 32)
    rows = [(now - 1000, 1.5, num, 0, False, None), (now - 1000, None, txt, bad, False, "é✓"),
            (now - 2000, None, num, bad, False, None), (now - 2000, None, txt, 0, False, "")]
    assert store.write(schema, rows).inserted == 4  # the direct COPY
    assert schema not in store.direct_pause or store.direct_pause[schema] == 0
    again = store.write(schema, [*rows, (now - 3000, 3.0, num, 0, False, None)])
    assert again.inserted == 1  # the duplicates met the unique index: de-duplicated
    assert store.direct_pause[schema] > 0
    got = store.conn.execute(
        f"SELECT metric, (extract(epoch FROM time) * 1000)::bigint, value, value_text, "
        f"quality_code, severity, is_historical FROM {schema}.samples_named "
        "WHERE node = 'pad-live' ORDER BY metric, time").fetchall()
    assert got == [("NUM", now - 3000, 3.0, None, 0, "good", False),
                   ("NUM", now - 2000, None, None, 0x80310000, "bad", False),
                   ("NUM", now - 1000, 1.5, None, 0, "good", False),
                   ("TXT", now - 2000, None, "", 0, "good", False),
                   ("TXT", now - 1000, None, "é✓", 0x80310000, "bad", False)]
    store.conn.rollback()
