"""Writing to PostgreSQL on one psycopg connection: births, deaths, samples, node stats.

Samples go in batches (daemons/hostd/copyrows.py encodes them for binary COPY). Live
rounds are COPied straight into the tenant's samples table; rounds with history, or a
live round that met a duplicate, go through a temporary staging table and one
INSERT … SELECT … ON CONFLICT DO NOTHING.  The unique index (metric_id, time) makes
every write idempotent: a historical replay, a retried batch after a lost connection,
or the same NDATA seen twice stores each sample once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from daemons.hostd import copyrows
from daemons.hostd import schema as ddl
from daemons.hostd.config import DatabaseSection, Tenant
from daemons.hostd.model import DATATYPES, MetricRef, Sample

MS_PER_DAY = 86_400_000
_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS staging (
    time timestamptz, value double precision, metric_id integer, quality integer,
    is_historical boolean, value_text text
) ON COMMIT DELETE ROWS
"""
_COPY_STAGING = f"COPY staging {copyrows.COLUMNS} FROM STDIN (FORMAT BINARY)"
_COPY_DIRECT = "COPY {}.samples " + copyrows.COLUMNS + " FROM STDIN (FORMAT BINARY)"
_MOVE = (f"INSERT INTO {{}}.samples {copyrows.COLUMNS} SELECT time, value, metric_id, "
         "quality, is_historical, value_text FROM staging ON CONFLICT DO NOTHING")
# The move for TimescaleDB before 2.18.1, where ON CONFLICT DO NOTHING into a compressed
# chunk drops the rest of the statement's rows after the first conflict (schema.py): no
# row reaches a conflict — duplicates within the round are collapsed (the first sent
# wins, as ON CONFLICT would have it) and rows already stored are filtered out; the time
# bounds let TimescaleDB look only in the round's chunks.  ON CONFLICT stays for a
# concurrent writer.
_MOVE_GUARDED = (f"INSERT INTO {{s}}.samples {copyrows.COLUMNS} SELECT DISTINCT ON "
                 "(st.metric_id, st.time) st.time, st.value, st.metric_id, st.quality, "
                 "st.is_historical, st.value_text FROM staging st WHERE NOT EXISTS (SELECT 1 "
                 "FROM {s}.samples t WHERE t.metric_id = st.metric_id AND t.time = st.time "
                 "AND t.time BETWEEN {lo} AND {hi}) ORDER BY st.metric_id, st.time, st.ctid "
                 "ON CONFLICT DO NOTHING")
# After a direct COPY met a duplicate, that tenant's next rounds go the de-duplicating
# way at once (a node replaying live-flagged duplicates must not cost two tries a round).
_DIRECT_PAUSE_ROUNDS = 20


@dataclass(slots=True)
class BirthOp:
    """An NBIRTH (device None) or DBIRTH: the node/device comes online with these metrics."""

    schema: str
    node: str
    device: str | None
    time_ms: int
    refs: list[MetricRef]
    bdseq: int | None = None
    instance: str = ""


@dataclass(slots=True)
class DeathOp:
    schema: str
    node: str
    device: str | None
    time_ms: int


@dataclass(slots=True)
class SampleBatch:
    """The samples of one data message of one node, and what `hostd nodes` shows of it."""

    schema: str
    node: str
    rows: list[Sample]
    received_ms: int
    seq: int | None = None
    historical: int = 0
    newest_ms: int | None = None


@dataclass(slots=True)
class RebirthOp:
    schema: str
    node: str


@dataclass(slots=True)
class NodeStats:
    last_message_ms: int = 0
    last_seq: int | None = None
    newest_ms: int | None = None
    samples: int = 0
    historical: int = 0
    rebirths: int = 0


@dataclass
class WriteResult:
    offered: int = 0
    inserted: int = 0
    rejected: list[tuple[str, str, int]] = field(default_factory=list)  # schema, node, ms


def _ts(ms: int) -> dt.datetime | None:
    """A timestamp column's value; None for what no datetime can hold (a hostile payload)."""
    try:
        return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None


class SampleStore:
    """hostd's use of one connection; not thread-safe (the writer thread owns it)."""

    def __init__(self, conn: psycopg.Connection[Any], db: DatabaseSection,
                 clock: Any = time.time) -> None:
        self.conn = conn
        self.db = db
        self.clock = clock
        self.storage: dict[str, str] = {}  # schema -> 'partitions' | 'timescaledb'
        self.days: dict[str, set[int]] = {}  # schema -> partition days (ms // MS_PER_DAY)
        self.node_ids: dict[tuple[str, str], int] = {}
        self.device_ids: dict[tuple[str, str, str], int] = {}
        self.direct_pause: dict[str, int] = {}  # schema -> rounds left on the staging path
        # True where the TimescaleDB in use drops rows after an ON CONFLICT in a
        # compressed chunk (before 2.18.1): hypertables then take _MOVE_GUARDED.
        self.conflict_guard = False
        conn.execute(_STAGING)
        conn.commit()

    # -- tenants and partitions -------------------------------------------------------
    def provision(self, tenants: Iterable[Tenant]) -> None:
        wanted = ddl.choose_storage(self.conn, self.db.timescaledb)
        self.conn.commit()
        for tenant in tenants:
            self.storage[tenant.schema] = ddl.provision_tenant(
                self.conn, tenant, wanted, self.db.compress_after_days)
            self.ensure_ahead(tenant.schema)
        if "timescaledb" in self.storage.values():
            version = ddl.timescale_version(self.conn)
            self.conflict_guard = version is not None and version < ddl.CONFLICT_SAFE_TIMESCALEDB
            self.conn.commit()

    def ensure_ahead(self, schema: str) -> None:
        """Partitions for today and the configured days ahead, so inserts never wait."""
        if self.storage.get(schema) != "partitions":
            return
        with self.conn.transaction():
            self.days[schema] = {(d - dt.date(1970, 1, 1)).days
                                 for d in ddl.existing_partitions(self.conn, schema)}
        today = int(self.clock() * 1000) // MS_PER_DAY
        self._create_days(schema, range(today, today + self.db.partitions_ahead_days + 1))

    def _create_days(self, schema: str, days: Iterable[int]) -> None:
        missing = sorted(set(days) - self.days.setdefault(schema, set()))
        if not missing:
            return
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
            for day in missing:
                ddl.create_partition(self.conn, schema, dt.date(1970, 1, 1)
                                     + dt.timedelta(days=day))
        self.days[schema].update(missing)

    # -- births and deaths ------------------------------------------------------------
    def _node_id(self, schema: str, node: str) -> int:
        key = (schema, node)
        found = self.node_ids.get(key)
        if found is None:
            row = self.conn.execute(sql.SQL(
                "INSERT INTO {}.edge_nodes (edge_node_id) VALUES (%s) ON CONFLICT (edge_node_id)"
                " DO UPDATE SET edge_node_id = excluded.edge_node_id RETURNING id").format(
                sql.Identifier(schema)), (node,)).fetchone()
            assert row is not None
            found = self.node_ids[key] = row[0]
        return found

    def birth(self, op: BirthOp) -> None:
        s = sql.Identifier(op.schema)
        with self.conn.transaction():
            node_id = self._node_id(op.schema, op.node)
            device_id: int | None = None
            if op.device is None:
                self.conn.execute(sql.SQL(
                    "UPDATE {}.edge_nodes SET online = true, bdseq = %s, birth_time = %s, "
                    "host_instance = %s WHERE id = %s").format(s),
                    (op.bdseq, _ts(op.time_ms), op.instance, node_id))
                # A new session: every device must send its DBIRTH again.
                self.conn.execute(sql.SQL("UPDATE {}.devices SET online = false WHERE "
                                          "node_id = %s").format(s), (node_id,))
            else:
                row = self.conn.execute(sql.SQL(
                    "INSERT INTO {}.devices (node_id, device_id, online, birth_time) VALUES "
                    "(%s, %s, true, %s) ON CONFLICT (node_id, device_id) DO UPDATE SET "
                    "online = true, birth_time = excluded.birth_time RETURNING id").format(s),
                    (node_id, op.device, _ts(op.time_ms))).fetchone()
                assert row is not None
                device_id = self.device_ids[(op.schema, op.node, op.device)] = row[0]
            if not op.refs:
                return
            rows = self.conn.execute(sql.SQL(
                "INSERT INTO {}.metrics (node_id, device_id, name, alias, datatype, units, "
                "description, low, high) SELECT %s, %s, * FROM unnest(%s::text[], "
                "%s::bigint[], %s::text[], %s::text[], %s::text[], %s::float8[], "
                "%s::float8[]) ON CONFLICT (node_id, device_id, name) DO UPDATE SET "
                "alias = excluded.alias, datatype = excluded.datatype, units = excluded.units,"
                " description = excluded.description, low = excluded.low, high = excluded.high,"
                " updated_at = now() RETURNING name, id").format(s),
                (node_id, device_id, [r.name for r in op.refs], [r.alias for r in op.refs],
                 [DATATYPES.get(r.datatype, str(r.datatype)) for r in op.refs],
                 [r.units for r in op.refs], [r.description for r in op.refs],
                 [r.low for r in op.refs], [r.high for r in op.refs])).fetchall()
            ids = dict(rows)
            for ref in op.refs:
                ref.db_id = ids[ref.name]

    def death(self, op: DeathOp) -> None:
        s = sql.Identifier(op.schema)
        with self.conn.transaction():
            node_id = self._node_id(op.schema, op.node)
            if op.device is None:
                self.conn.execute(sql.SQL("UPDATE {}.edge_nodes SET online = false, "
                                          "death_time = %s WHERE id = %s").format(s),
                                  (_ts(op.time_ms), node_id))
                self.conn.execute(sql.SQL("UPDATE {}.devices SET online = false WHERE "
                                          "node_id = %s").format(s), (node_id,))
            else:
                self.conn.execute(sql.SQL(
                    "UPDATE {}.devices SET online = false, death_time = %s WHERE node_id = %s "
                    "AND device_id = %s").format(s), (_ts(op.time_ms), node_id, op.device))

    # -- samples ----------------------------------------------------------------------
    def write(self, schema: str, rows: Sequence[Sample]) -> WriteResult:
        """Store rows of one tenant exactly once; returns how many were new."""
        result = WriteResult(offered=len(rows))
        if not rows:
            return result
        rows = self._within_window(schema, rows, result)
        data, n = copyrows.encode(rows, result.rejected, schema)
        if n == 0:
            return result
        s = sql.Identifier(schema)
        # Live data is new data nearly always: COPY it straight into the table (half of
        # PostgreSQL's work per sample, bench/hostd.py).  The unique index still guards:
        # a duplicate fails that COPY, and the round goes the de-duplicating way.
        pause = self.direct_pause.get(schema, 0)
        if pause:
            self.direct_pause[schema] = pause - 1
        elif not any(r[4] for r in rows):
            try:
                with self.conn.transaction(), self.conn.cursor().copy(
                        sql.SQL(_COPY_DIRECT).format(s)) as copy:
                    copy.write(data)
                result.inserted = n
                return result
            except psycopg.errors.UniqueViolation:
                self.direct_pause[schema] = _DIRECT_PAUSE_ROUNDS
        # Inside a caller's open transaction, ON COMMIT DELETE ROWS has not emptied the
        # staging table since an earlier round: those rows must not move twice (or into
        # another tenant's table), so they are deleted before this round's COPY.
        nested = self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        with self.conn.transaction():
            cur = self.conn.cursor()
            if nested:
                cur.execute("DELETE FROM staging")
            with cur.copy(_COPY_STAGING) as copy:
                copy.write(data)
            if self.conflict_guard and self.storage.get(schema) == "timescaledb":
                times = [r[0] for r in rows]
                cur.execute(sql.SQL(_MOVE_GUARDED).format(
                    s=s, lo=sql.Literal(_ts(min(times))), hi=sql.Literal(_ts(max(times)))))
            else:
                cur.execute(sql.SQL(_MOVE).format(s))
            result.inserted = max(cur.rowcount, 0)
        return result

    def _within_window(self, schema: str, rows: Sequence[Sample],
                       result: WriteResult) -> Sequence[Sample]:
        """Create the partitions these rows need; drop rows outside the accepted window.

        The window holds for hypertables too: a timestamp from a broken clock or a hostile
        payload (year 292 million) must not fail the whole round in PostgreSQL.
        """
        partitioned = self.storage.get(schema, "partitions") == "partitions"
        known = self.days.setdefault(schema, set())
        days = {r[0] // MS_PER_DAY for r in rows}
        if days <= known:
            return rows
        today = int(self.clock() * 1000) // MS_PER_DAY
        oldest = today - self.db.accept_past_days
        newest = today + self.db.partitions_ahead_days
        if partitioned:
            self._create_days(schema, (d for d in days if oldest <= d <= newest))
        else:
            known.update(d for d in days if oldest <= d <= newest)
        if all(oldest <= d <= newest for d in days):
            return rows
        kept = []
        for r in rows:
            if oldest <= r[0] // MS_PER_DAY <= newest:
                kept.append(r)
            else:
                result.rejected.append((schema, r[2].node, r[0]))
        return kept

    def node_stats(self, stats: dict[tuple[str, str], NodeStats]) -> None:
        with self.conn.transaction():
            for (schema, node), st in stats.items():
                node_id = self._node_id(schema, node)
                self.conn.execute(sql.SQL(
                    "UPDATE {}.edge_nodes SET last_message_at = greatest(last_message_at, %s),"
                    " last_seq = coalesce(%s, last_seq), last_sample_time = "
                    "greatest(last_sample_time, %s), samples_received = samples_received + %s,"
                    " historical_received = historical_received + %s, rebirths_requested = "
                    "rebirths_requested + %s WHERE id = %s").format(sql.Identifier(schema)),
                    (_ts(st.last_message_ms) if st.last_message_ms else None, st.last_seq,
                     _ts(st.newest_ms) if st.newest_ms is not None else None, st.samples,
                     st.historical, st.rebirths, node_id))
