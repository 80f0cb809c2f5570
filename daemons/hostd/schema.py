"""The PostgreSQL schema hostd writes: one schema per tenant (= Sparkplug group).

Tenancy is schema-per-tenant (docs/cloud.md says why): each tenant's tables live in its
own schema, owned by hostd's role; the tenant's reader role gets USAGE on that schema and
SELECT on its tables and views, nothing else.  A catalogue table hostd.tenants lists them
for `hostd nodes`.

Samples are range-partitioned by day (native partitions with a BRIN index on time,
created ahead) or, when the TimescaleDB extension is usable (installed, preloaded,
created), a hypertable with 1-day chunks and compression.  The unique index
(metric_id, time) is what de-duplicates historical replays: rows are COPied into a
staging table and moved with ON CONFLICT DO NOTHING.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import psycopg
from psycopg import Connection, sql

from daemons.hostd.config import Tenant

SCHEMA_VERSION = 1
_log = logging.getLogger("wellgate.hostd")
DAY = dt.timedelta(days=1)
# TimescaleDB 2.11 brought ON CONFLICT DO NOTHING (and unique checks) into compressed
# chunks; before it such an INSERT fails, and replays into old days could not be stored.
MIN_TIMESCALEDB = (2, 11, 0)
# From 2.11 to 2.18.0, an INSERT … ON CONFLICT DO NOTHING into a compressed chunk silently
# dropped every row after its first conflict (timescaledb issue 7672, fixed in 2.18.1 by
# pull request 7673): older versions get a move that never meets a conflict (store.py).
CONFLICT_SAFE_TIMESCALEDB = (2, 18, 1)

_CATALOGUE = """
CREATE SCHEMA IF NOT EXISTS hostd;
CREATE TABLE IF NOT EXISTS hostd.tenants (
    group_id    text PRIMARY KEY,
    schema_name text NOT NULL UNIQUE,
    reader_role text NOT NULL,
    storage     text NOT NULL,            -- 'partitions' or 'timescaledb'
    schema_version integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
"""

# {s} is the tenant schema (quoted identifier).  Metadata tables are small; samples is the
# big one: time, value and metric_id first so the row packs without alignment padding.
_TENANT_TABLES = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.edge_nodes (
    id              serial PRIMARY KEY,
    edge_node_id    text NOT NULL UNIQUE,
    online          boolean NOT NULL DEFAULT false,
    bdseq           integer,
    birth_time      timestamptz,
    death_time      timestamptz,
    last_message_at timestamptz,
    last_seq        integer,
    last_sample_time timestamptz,
    samples_received bigint NOT NULL DEFAULT 0,
    historical_received bigint NOT NULL DEFAULT 0,
    rebirths_requested integer NOT NULL DEFAULT 0,
    host_instance   text
);
CREATE TABLE IF NOT EXISTS {s}.devices (
    id          serial PRIMARY KEY,
    node_id     integer NOT NULL REFERENCES {s}.edge_nodes(id),
    device_id   text NOT NULL,
    online      boolean NOT NULL DEFAULT false,
    birth_time  timestamptz,
    death_time  timestamptz,
    UNIQUE (node_id, device_id)
);
CREATE TABLE IF NOT EXISTS {s}.metrics (
    id          serial PRIMARY KEY,
    node_id     integer NOT NULL REFERENCES {s}.edge_nodes(id),
    device_id   integer REFERENCES {s}.devices(id),
    name        text NOT NULL,
    alias       bigint,
    datatype    text NOT NULL,
    units       text,
    description text,
    low         double precision,
    high        double precision,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (node_id, device_id, name)
);
CREATE TABLE IF NOT EXISTS {s}.samples (
    time          timestamptz NOT NULL,
    value         double precision,
    metric_id     integer NOT NULL,
    quality       integer NOT NULL DEFAULT 0,
    is_historical boolean NOT NULL DEFAULT false,
    value_text    text
) {partitioning};
"""

_UNIQUE = "CREATE UNIQUE INDEX IF NOT EXISTS samples_metric_time ON {s}.samples (metric_id, time)"
_BRIN = ("CREATE INDEX IF NOT EXISTS samples_time_brin ON {s}.samples USING brin (time) "
         "WITH (pages_per_range = 32)")

# Views Grafana charts directly (time column first, a `metric` series name, value).
# quality is stored as the signed reinterpretation of the 32-bit OPC UA StatusCode;
# severity comes from its top two bits (00 good, 01 uncertain, 10/11 bad).
_VIEWS = """
CREATE OR REPLACE VIEW {s}.metric_names AS
SELECT m.id AS metric_id, n.edge_node_id AS node, d.device_id AS device,
       CASE WHEN d.device_id IS NULL THEN m.name ELSE d.device_id || '/' || m.name END AS metric,
       m.name, m.datatype, m.units, m.description, m.low, m.high
FROM {s}.metrics m JOIN {s}.edge_nodes n ON n.id = m.node_id
LEFT JOIN {s}.devices d ON d.id = m.device_id;
CREATE OR REPLACE VIEW {s}.samples_named AS
SELECT s.time, mn.node, mn.device, mn.metric, s.value, s.value_text, mn.units,
       CASE (s.quality >> 30) & 3 WHEN 0 THEN 'good' WHEN 1 THEN 'uncertain' ELSE 'bad' END
         AS severity,
       s.quality::bigint & 4294967295 AS quality_code, s.is_historical
FROM {s}.samples s JOIN {s}.metric_names mn ON mn.metric_id = s.metric_id;
CREATE OR REPLACE VIEW {s}.latest AS
SELECT mn.node, mn.device, mn.metric, mn.units, l.time, l.value, l.value_text,
       CASE (l.quality >> 30) & 3 WHEN 0 THEN 'good' WHEN 1 THEN 'uncertain' ELSE 'bad' END
         AS severity
FROM {s}.metric_names mn
CROSS JOIN LATERAL (SELECT time, value, value_text, quality FROM {s}.samples
                    WHERE metric_id = mn.metric_id ORDER BY time DESC LIMIT 1) l;
CREATE OR REPLACE VIEW {s}.node_status AS
SELECT n.edge_node_id AS node, n.online, n.bdseq, n.birth_time, n.death_time,
       n.last_message_at, n.last_seq, n.last_sample_time,
       now() - n.last_sample_time AS lag, n.samples_received, n.historical_received,
       n.rebirths_requested, n.host_instance,
       (SELECT count(*) FROM {s}.devices d WHERE d.node_id = n.id AND d.online) AS devices_online,
       (SELECT count(*) FROM {s}.devices d WHERE d.node_id = n.id) AS devices
FROM {s}.edge_nodes n;
"""

_TABLES_AND_VIEWS = ("edge_nodes", "devices", "metrics", "samples", "metric_names",
                     "samples_named", "latest", "node_status")


def _q(template: str, schema: str) -> sql.Composed:
    return sql.SQL(template).format(s=sql.Identifier(schema),
                                    partitioning=sql.SQL("{partitioning}"))


def timescale_available(conn: Connection[Any]) -> bool:
    """Whether the server has TimescaleDB's files (it may still not be usable: preload)."""
    row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
                       ).fetchone()
    return row is not None


def timescale_preloaded(conn: Connection[Any]) -> bool | None:
    """Whether the server preloads TimescaleDB; None when this role may not read that.

    Asked before CREATE EXTENSION because without the preload that statement fails (the
    extension "must be preloaded") after loading the library into our backend anyway.
    shared_preload_libraries is readable by superusers and pg_read_all_settings only.
    """
    try:
        with conn.transaction():
            row = conn.execute("SHOW shared_preload_libraries").fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return None
    libs = row[0] if row else ""
    return any(lib.strip().strip('"').rsplit("/", 1)[-1].removesuffix(".so").startswith(
        "timescaledb") for lib in libs.split(","))


def timescale_version(conn: Connection[Any]) -> tuple[int, ...] | None:
    """The version of the extension created in this database, None when not created."""
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
                       ).fetchone()
    if row is None:
        return None
    return tuple(int(p) for p in re.findall(r"\d+", row[0])[:3])


def _timescale_unusable(conn: Connection[Any]) -> str | None:
    """Why TimescaleDB cannot hold new tenants here, or None when it can (created now)."""
    if not timescale_available(conn):
        return "the extension is not available in this PostgreSQL server"
    created = timescale_version(conn) is not None
    if timescale_preloaded(conn) is False:
        return ("the extension is installed but not preloaded: add 'timescaledb' to "
                "shared_preload_libraries in postgresql.conf and restart PostgreSQL")
    if not created:
        try:
            # A savepoint: a refusal (not a superuser) must not abort the caller's work.
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            return (f"CREATE EXTENSION timescaledb failed ({first}); create it once as a "
                    "superuser")
    version = timescale_version(conn)
    if version is not None and version < MIN_TIMESCALEDB:
        return (f"TimescaleDB {'.'.join(map(str, version))} is older than "
                f"{'.'.join(map(str, MIN_TIMESCALEDB))}, which is needed for de-duplicating "
                "replays into compressed chunks (ON CONFLICT DO NOTHING)")
    return None


def choose_storage(conn: Connection[Any], mode: str) -> str:
    """'timescaledb' when wanted and usable, else 'partitions'; 'require' without it fails.

    'auto' falls back with one warning naming the cause (files missing, not preloaded,
    no right to create the extension, too old) rather than stopping hostd.
    """
    if mode == "off":
        return "partitions"
    why = _timescale_unusable(conn)
    if why is None:
        return "timescaledb"
    if mode == "require":
        raise RuntimeError(f'timescaledb = "require" but TimescaleDB cannot be used: {why}')
    _log.warning("TimescaleDB not used (timescaledb = \"auto\"): %s; new tenants get daily "
                 "partitions", why)
    return "partitions"


def provision_tenant(conn: Connection[Any], tenant: Tenant, storage: str,
                     compress_after_days: int = 7) -> str:
    """Create (idempotently) the tenant's schema, tables, views and reader role.

    Returns the storage the tenant actually has: a tenant created earlier keeps its kind
    even if the extension appeared or disappeared since.
    """
    s = tenant.schema
    with conn.transaction():
        # Serialise provisioning across hostd instances sharing the database.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('wellgate-hostd-provision'))")
        conn.execute(_CATALOGUE)
        row = conn.execute("SELECT storage, schema_name, schema_version, reader_role FROM "
                           "hostd.tenants WHERE group_id = %s", (tenant.group_id,)).fetchone()
        if row is not None:
            storage = row[0]
            if row[1] != s:
                raise RuntimeError(f"group '{tenant.group_id}' is stored in schema '{row[1]}', "
                                   f"not '{s}' as configured")
            if row[2] == SCHEMA_VERSION and row[3] == tenant.reader_role:
                # Up to date: no DDL.  Replacing the views at every (re)connect took locks
                # in the opposite order of a reader's query and could deadlock with it.
                return storage
        partitioning = "" if storage == "timescaledb" else "PARTITION BY RANGE (time)"
        conn.execute(sql.SQL(_TENANT_TABLES.replace("{partitioning}", partitioning))
                     .format(s=sql.Identifier(s)))
        conn.execute(_q(_UNIQUE, s))
        if storage == "timescaledb":
            _hypertable(conn, s, compress_after_days)
        else:
            conn.execute(_q(_BRIN, s))
        conn.execute(_q(_VIEWS, s))
        _reader_role(conn, s, tenant.reader_role)
        conn.execute("INSERT INTO hostd.tenants (group_id, schema_name, reader_role, storage,"
                     " schema_version) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (group_id) DO "
                     "UPDATE SET reader_role = excluded.reader_role",
                     (tenant.group_id, s, tenant.reader_role, storage, SCHEMA_VERSION))
    return storage


def _hypertable(conn: Connection[Any], s: str, compress_after_days: int) -> None:
    # tests/hostd/test_timescaledb.py runs this against a real TimescaleDB.  No default
    # B-tree on time: the unique (metric_id, time) index serves per-metric queries and
    # the same BRIN as the partitions' serves time ranges, at less cost per insert.
    table = sql.Literal(sql.Identifier(s).as_string(conn) + ".samples")
    conn.execute(sql.SQL("SELECT create_hypertable({}::regclass, 'time', chunk_time_interval => "
                         "interval '1 day', create_default_indexes => false, "
                         "if_not_exists => true)").format(table))
    conn.execute(_q(_BRIN, s))
    enabled = conn.execute("SELECT compression_enabled FROM timescaledb_information.hypertables"
                           " WHERE hypertable_schema = %s AND hypertable_name = 'samples'",
                           (s,)).fetchone()
    if enabled is not None and enabled[0]:
        # Provisioned again (a new reader role, a schema upgrade): the settings stand, and
        # changing them is refused once chunks are compressed.
        return
    try:
        # Compression is not in the Apache-2-only builds of TimescaleDB (some distributions
        # ship those): without it the hypertable still works, uncompressed.
        with conn.transaction():
            conn.execute(sql.SQL("ALTER TABLE {}.samples SET (timescaledb.compress, "
                                 "timescaledb.compress_segmentby = 'metric_id', "
                                 "timescaledb.compress_orderby = 'time')").format(
                sql.Identifier(s)))
            conn.execute(sql.SQL("SELECT add_compression_policy({}::regclass, {}::interval, "
                                 "if_not_exists => true)").format(
                table, sql.Literal(f"{compress_after_days} days")))
    except psycopg.Error as exc:
        _log.warning("TimescaleDB compression unavailable; samples stay uncompressed "
                     "(schema %s): %s", s, str(exc).strip())


def _reader_role(conn: Connection[Any], s: str, role: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if exists is None:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(s),
                                                                  sql.Identifier(role)))
    for name in _TABLES_AND_VIEWS:
        conn.execute(sql.SQL("GRANT SELECT ON {}.{} TO {}").format(
            sql.Identifier(s), sql.Identifier(name), sql.Identifier(role)))


def partition_name(day: dt.date) -> str:
    return f"samples_{day:%Y%m%d}"


def existing_partitions(conn: Connection[Any], schema: str) -> set[dt.date]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
        "WHERE n.nspname = %s AND p.relname = 'samples'", (schema,)).fetchall()
    out: set[dt.date] = set()
    for (name,) in rows:
        if name.startswith("samples_") and len(name) == 16:
            out.add(dt.datetime.strptime(name[8:], "%Y%m%d").date())
    return out


def create_partition(conn: Connection[Any], schema: str, day: dt.date) -> None:
    """One day [00:00 UTC, next 00:00 UTC); the parent's indexes are created on it."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {}.{} PARTITION OF {}.samples FOR VALUES "
                         "FROM ({}) TO ({})").format(
        sql.Identifier(schema), sql.Identifier(partition_name(day)), sql.Identifier(schema),
        sql.Literal(start), sql.Literal(start + DAY)))
