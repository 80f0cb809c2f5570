"""The writer thread: births, deaths and samples from the MQTT side, committed in order.

The event loop (MQTT) must never wait for PostgreSQL, so `Writer` is the sessions' Sink:
it queues what they hand it, and one thread with its own connection commits it in
rounds of up to `batch_max` samples or `flush_ms`.  A round is idempotent (births are
upserts, samples de-duplicate on (metric_id, time)), so when the database goes away the
whole round is retried after reconnecting: nothing queued is lost, nothing is doubled.
The queue has a bound (`max_buffer_samples`); past it new samples are refused, counted,
and logged once until the queue drains.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from typing import Any

import psycopg

from daemons.core.service import Availability
from daemons.hostd.config import DatabaseSection, Tenant
from daemons.hostd.store import (
    BirthOp,
    DeathOp,
    NodeStats,
    RebirthOp,
    SampleBatch,
    SampleStore,
)


class ProvisionOp:
    """A tenant added at reload: its schema is created before any of its samples."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant


_Item = BirthOp | DeathOp | SampleBatch | RebirthOp | ProvisionOp
_RETRY_S = (0.5, 1.0, 2.0, 5.0)
# Unless the DSN says otherwise: a bounded connect, TCP keepalives that notice a silent
# partition within about a minute, and a statement timeout, so that no network failure
# can hold the writer (and with it every tenant's data) forever.
_CONNECTION_DEFAULTS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30,
                        "keepalives_interval": 10, "keepalives_count": 3,
                        "options": "-c statement_timeout=120000"}
_PARTITION_CHECK_S = 3600.0


class Writer:
    def __init__(self, db: DatabaseSection, tenants: tuple[Tenant, ...], log: Any) -> None:
        self.db = db
        self.tenants = tenants
        self.log = log
        self.queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.queued_samples = 0
        self.refused_samples = 0
        self.committed = 0  # samples offered to the database in committed rounds
        self.inserted = 0  # of which new (the rest were duplicates)
        self.rejected_window = 0
        self.rounds = 0
        self._refusing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._store: SampleStore | None = None
        self._db_state = Availability(log, "postgresql")
        self.ready = threading.Event()
        self.fatal: BaseException | None = None

    # -- Sink (called from the event loop) ---------------------------------------------
    def birth(self, op: BirthOp) -> None:
        self.queue.put(op)

    def death(self, op: DeathOp) -> None:
        self.queue.put(op)

    def add_tenant(self, tenant: Tenant) -> None:
        self.queue.put(ProvisionOp(tenant))

    def rebirth_requested(self, schema: str, node: str) -> None:
        self.queue.put(RebirthOp(schema, node))

    def samples(self, batch: SampleBatch) -> bool:
        n = len(batch.rows)
        with self._lock:
            if self.queued_samples + n > self.db.max_buffer_samples:
                self.refused_samples += n
                if not self._refusing:
                    self._refusing = True
                    self.log.error("write queue full; refusing samples until it drains",
                                   queued=self.queued_samples,
                                   limit=self.db.max_buffer_samples)
                return False
            self.queued_samples += n
        self.queue.put(batch)
        return True

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hostd-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Commit what is queued (within `timeout`), then close; False if it did not finish."""
        self._stop.set()
        self.queue.put(None)
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def backend_pid(self) -> int | None:
        """The PostgreSQL backend serving the writer (the benchmark reads its CPU time)."""
        store = self._store
        return None if store is None else store.conn.info.backend_pid

    # -- the thread ---------------------------------------------------------------------
    def _connect(self) -> SampleStore:
        given = psycopg.conninfo.conninfo_to_dict(self.db.dsn)
        extra = {k: v for k, v in _CONNECTION_DEFAULTS.items() if k not in given}
        conn = psycopg.connect(self.db.dsn, application_name="wellgate-hostd", **extra)
        store = SampleStore(conn, self.db)
        store.provision(self.tenants)
        return store

    def _run(self) -> None:
        pending: list[_Item] = []
        attempt = 0
        next_partition_check = time.monotonic() + _PARTITION_CHECK_S
        stopping = False
        while True:
            if self._store is None:
                try:
                    self._store = self._connect()
                    self._db_state.ok(self.db_target)
                    attempt = 0
                    self.ready.set()
                except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
                    self._db_state.failed(self.db_target, str(exc).strip().splitlines()[0]
                                          if str(exc).strip() else type(exc).__name__)
                    if stopping or self._stop.is_set():
                        if self.queued_samples:
                            self.log.error("stopping with samples not written: PostgreSQL "
                                           "unavailable", queued=self.queued_samples)
                        return
                    self._stop.wait(_RETRY_S[min(attempt, len(_RETRY_S) - 1)])
                    attempt += 1
                    continue
                except Exception as exc:  # refused: no right to create a schema or role, …
                    self.fatal = exc
                    self.log.error("cannot provision the database", error=str(exc))
                    self.ready.set()
                    return
            if not pending:
                stopping = self._gather(pending) or stopping
            if not pending:
                if stopping:
                    break
                continue
            try:
                self._commit(self._store, pending)
            except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
                self._db_state.failed(self.db_target, str(exc).strip().splitlines()[0]
                                      if str(exc).strip() else type(exc).__name__)
                self._close_store()
                continue  # reconnect, then retry the same round (when stopping: give up)
            except Exception as exc:
                # Data the database refuses (not a lost connection), or a value nothing can
                # store: log, drop the round so one bad message does not stop every node.
                self.log.error("a round could not be stored; dropped", error=repr(exc),
                               items=len(pending))
                try:
                    self._store.conn.rollback()
                except psycopg.Error:
                    self._close_store()
            self._finish(pending)
            pending = []
            if self._store is not None and time.monotonic() > next_partition_check:
                next_partition_check = time.monotonic() + _PARTITION_CHECK_S
                try:
                    for t in self.tenants:
                        self._store.ensure_ahead(t.schema)
                except psycopg.Error as exc:  # tried again in an hour; inserts make their own
                    self.log.warning("partitions ahead not created", error=str(exc).strip())
                    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
                        self._close_store()
        self._close_store()

    @property
    def db_target(self) -> str:
        try:
            info = psycopg.conninfo.conninfo_to_dict(self.db.dsn)
        except psycopg.ProgrammingError:
            return "postgresql"
        return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"

    def _gather(self, pending: list[_Item]) -> bool:
        """Take items until batch_max samples or flush_ms; True when asked to stop."""
        try:
            item = self.queue.get(timeout=1.0)
        except queue.Empty:
            return self._stop.is_set()
        deadline = time.monotonic() + self.db.flush_ms / 1000
        n = 0
        while True:
            if item is None:
                return True
            pending.append(item)
            if isinstance(item, SampleBatch):
                n += len(item.rows)
                if n >= self.db.batch_max:
                    return False
            left = deadline - time.monotonic()
            try:
                item = self.queue.get(timeout=left) if left > 0 else self.queue.get_nowait()
            except queue.Empty:
                return False

    def _commit(self, store: SampleStore, pending: list[_Item]) -> None:
        per_schema: dict[str, list] = defaultdict(list)
        stats: dict[tuple[str, str], NodeStats] = defaultdict(NodeStats)
        for item in pending:
            if isinstance(item, SampleBatch):
                per_schema[item.schema].extend(item.rows)
                st = stats[(item.schema, item.node)]
                st.last_message_ms = max(st.last_message_ms, item.received_ms)
                st.last_seq = item.seq if item.seq is not None else st.last_seq
                st.samples += len(item.rows)
                st.historical += item.historical
                if item.newest_ms is not None:
                    st.newest_ms = max(st.newest_ms or item.newest_ms, item.newest_ms)
            elif isinstance(item, BirthOp):
                self._guarded(store.birth, item)
            elif isinstance(item, DeathOp):
                self._guarded(store.death, item)
            elif isinstance(item, RebirthOp):
                stats[(item.schema, item.node)].rebirths += 1
            elif isinstance(item, ProvisionOp):
                store.provision([item.tenant])
                if item.tenant not in self.tenants:  # provisioned again after a reconnect
                    self.tenants = (*self.tenants, item.tenant)
        inserted = 0
        offered = 0
        for schema, rows in per_schema.items():
            result = store.write(schema, rows)
            inserted += result.inserted
            offered += result.offered
            if result.rejected:
                self.rejected_window += len(result.rejected)
                schema_, node, ms = result.rejected[0]
                self.log.warning("samples dropped (outside the accepted time window, or "
                                 "their metric's birth was refused)",
                                 schema=schema_, node=node, count=len(result.rejected),
                                 example_ms=ms)
        if stats:
            store.node_stats(stats)
        self.inserted += inserted
        self.committed += offered
        self.rounds += 1

    def _guarded(self, apply: Any, op: BirthOp | DeathOp) -> None:
        """One birth or death the database refuses is that node's problem, not the round's:
        its metrics keep no id and their samples are dropped and counted."""
        try:
            apply(op)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise  # a lost connection: the whole round is retried
        except (psycopg.Error, ValueError) as exc:
            self.log.error("the database refused a birth or death; skipped", node=op.node,
                           device=op.device, schema=op.schema, error=str(exc).strip())

    def _finish(self, pending: list[_Item]) -> None:
        n = sum(len(i.rows) for i in pending if isinstance(i, SampleBatch))
        with self._lock:
            self.queued_samples -= n
            if self._refusing and self.queued_samples < self.db.max_buffer_samples // 2:
                self._refusing = False
                self.log.info("write queue drained; accepting samples again",
                              refused=self.refused_samples)

    def _close_store(self) -> None:
        if self._store is not None:
            try:
                self._store.conn.close()
            except Exception as exc:  # closing a broken connection may fail too
                self.log.debug("closing the connection failed", error=str(exc))
            self._store = None
