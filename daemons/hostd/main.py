"""hostd: the Sparkplug B primary host application that keeps every site's data in PostgreSQL.

`entry()` is the console script: ``hostd --config PATH`` runs the daemon (its own TOML
file, daemons/hostd/config.py), ``hostd nodes --dsn …`` lists edge nodes, sessions and
lag (daemons/hostd/nodes.py).  The daemon:

- connects to the broker with a Will ``spBv1.0/STATE/<host_id>`` = offline (QoS 1,
  retained), subscribes to its own STATE topic and to each tenant's group
  (``spBv1.0/<group>/#``, or ``$share/<shared_group>/spBv1.0/<group>/#`` when several
  instances share the load), then publishes STATE online (QoS 1, retained).  Every
  connection gets a fresh timestamp, and the Will carries the same one (spec 3.0), so a
  client is rebuilt for each connection rather than left to reconnect by itself;
- decodes each message (daemons/hostd/decode.py), tracks the node's session
  (daemons/hostd/session.py) and publishes an NCMD ``Node Control/Rebirth`` when asked;
- hands births, deaths and samples to the writer thread (daemons/hostd/writer.py).
Malformed topics and payloads are rejected with a log line (at most one per node every
10 s, with a count) and never stop the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import sys
import time
from pathlib import Path
from typing import Any

from gmqtt import Client, Message
from gmqtt.mqtt.constants import MQTTv50, MQTTv311
from prometheus_client import Counter, Gauge

from daemons.core.service import Availability, ServiceContext, daemon_main
from daemons.core.sparkplug import (
    REBIRTH,
    DataType,
    PayloadError,
    TopicError,
    add_metric,
    encode_payload,
    new_payload,
    parse_state,
    parse_topic,
    require_fast_backend,
    state_json,
    state_topic,
)
from daemons.hostd.config import DEFAULT_PATH, HostdConfig, load_hostd_config
from daemons.hostd.decode import decode
from daemons.hostd.session import Sessions
from daemons.hostd.standby import StandbyWatch
from daemons.hostd.writer import Writer

_RETRY_S = (1.0, 2.0, 5.0, 10.0)
_BAD_LOG_PERIOD_S = 10.0
_BAD_LOG_KEYS = 10_000
_DB_START_WAIT_S = 10.0


class _OneConnectionClient(Client):
    """A gmqtt client that never reconnects by itself.

    gmqtt retries a lost connection once even with reconnect_retries = 0, with the old
    Will (old STATE timestamp) and clean_session=False; hostd instead builds a new client
    per connection (a fresh timestamp in both STATE and Will), and two clients with one
    client id would take turns kicking each other off the broker.
    """

    async def reconnect(self, delay: bool = False) -> None:
        return None


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def subscriptions(config: HostdConfig) -> list[str]:
    """The data topics of this instance's tenants (its partition of the groups)."""
    share = config.mqtt.shared_group
    prefix = f"$share/{share}/" if share else ""
    return [f"{prefix}spBv1.0/{t.group_id}/#" for t in config.tenants]


class _Metrics:
    def __init__(self, registry: Any) -> None:
        self.messages = Counter("hostd_messages", "Sparkplug messages received, by type",
                                ["type"], registry=registry)
        self.rejected = Counter("hostd_rejected_messages", "Messages rejected as malformed",
                                registry=registry)
        self.rebirths = Counter("hostd_rebirth_requests", "Rebirth NCMDs published",
                                registry=registry)
        self.queued = Gauge("hostd_write_queue_samples", "Samples waiting for PostgreSQL",
                            registry=registry)
        self.inserted = Gauge("hostd_samples_inserted", "New samples committed (this run)",
                              registry=registry)


class HostDaemon:
    def __init__(self, config: HostdConfig) -> None:
        self.config = config
        self.ctx: ServiceContext | None = None
        self.log: Any = None
        self.writer: Writer | None = None
        self.sessions: Sessions | None = None
        self.client: Client | None = None
        self.online_ts: int | None = None
        self.connected = asyncio.Event()
        self._lost: asyncio.Event | None = None
        self._reconnect_now = False
        self._min_state_ts = 0
        self._standing_by = config.host.standby
        self._mqtt_task: asyncio.Task[None] | None = None
        self._bad_log: dict[str, tuple[float, int]] = {}
        self.metrics: _Metrics | None = None
        self.state_topic = state_topic(config.host.host_id)
        self.instance = config.mqtt.client_id or f"hostd-{config.host.host_id}"

    # -- Component ----------------------------------------------------------------------
    async def start(self, ctx: ServiceContext) -> None:
        require_fast_backend()
        self.ctx, self.log = ctx, ctx.log
        # gmqtt logs every SUBSCRIBE at info and a traceback per lost connection; hostd
        # logs the broker's availability itself (once down, once back).
        logging.getLogger("gmqtt").setLevel(logging.ERROR)
        self.metrics = _Metrics(ctx.metrics.registry)
        self.writer = Writer(self.config.database, self.config.tenants, self.log)
        self.writer.start()
        # Wait a little for the schema: a database refusing it is a configuration error
        # worth failing on; a database that is merely down is waited for in the background.
        await asyncio.to_thread(self.writer.ready.wait, _DB_START_WAIT_S)
        if self.writer.fatal is not None:
            raise RuntimeError(f"PostgreSQL refused the schema: {self.writer.fatal}")
        self.sessions = Sessions({t.group_id: t.schema for t in self.config.tenants},
                                 self.writer, self._publish_rebirth, self.log,
                                 instance=self.instance,
                                 rebirth_min_interval_s=self.config.host.rebirth_min_interval_s)
        self._mqtt_task = asyncio.get_running_loop().create_task(self._mqtt_loop())

    async def run(self, ctx: ServiceContext) -> None:
        assert self.writer is not None and self.metrics is not None
        while True:
            with ctx.iteration():
                if self._mqtt_task is not None and self._mqtt_task.done():
                    self._mqtt_task.result()  # re-raise what killed it
                if not self.writer.alive():
                    raise RuntimeError(f"the writer thread stopped: {self.writer.fatal}")
                self.metrics.queued.set(self.writer.queued_samples)
                self.metrics.inserted.set(self.writer.inserted)
                nodes = sum(1 for s in (self.sessions.nodes.values() if self.sessions else ())
                            if s.born)
                ctx.set_status(f"{'connected' if self.connected.is_set() else 'connecting'}; "
                               f"{nodes} node(s) online; {self.writer.inserted} samples "
                               f"stored; {self.writer.queued_samples} queued")
            await asyncio.sleep(1.0)

    async def reload(self, config: HostdConfig, ctx: ServiceContext) -> None:
        """Log level, rebirth interval, and tenants added or removed; the rest restarts."""
        old = {t.group_id: t for t in self.config.tenants}
        new = {t.group_id: t for t in config.tenants}
        changed = [k for k in ("mqtt", "database") if getattr(config, k) != getattr(self.config, k)]
        changed += [f"tenant {g}" for g in old.keys() & new.keys() if old[g] != new[g]]
        if config.host.host_id != self.config.host.host_id:
            changed.append("host_id")
        if changed:
            raise ValueError(f"changes to {', '.join(changed)} need a restart "
                             "(systemctl restart wellgate-hostd)")
        assert self.writer is not None and self.sessions is not None
        added = [new[g] for g in new if g not in old]
        removed = [g for g in old if g not in new]
        for tenant in added:
            self.writer.add_tenant(tenant)  # queued ahead of the group's first sample
        self.sessions.schemas = {t.group_id: t.schema for t in config.tenants}
        for key in [k for k in self.sessions.nodes if k[0] in removed]:
            del self.sessions.nodes[key]
        previous, self.config = self.config, config
        self.sessions.rebirth_min_interval_s = config.host.rebirth_min_interval_s
        client = self.client
        if client is not None and self.connected.is_set():
            before, after = set(subscriptions(previous)), set(subscriptions(config))
            for topic in sorted(after - before):
                client.subscribe(topic, qos=0)
            for topic in sorted(before - after):
                client.unsubscribe(topic)
        if added or removed:
            self.log.info("tenants changed", added=[t.group_id for t in added],
                          removed=removed)

    async def close(self) -> None:
        if self._mqtt_task is not None:
            self._mqtt_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._mqtt_task
        if self.client is not None and self.online_ts is not None:
            # An orderly stop says offline itself (spec 3.0: same timestamp as the Will).
            ts, self.online_ts = self.online_ts, None  # our own offline is not to repair
            try:
                self.client.publish(self.state_topic, state_json(False, ts), qos=1,
                                    retain=True)
                await asyncio.sleep(0.05)
            except Exception as exc:
                self.log.warning("could not publish the offline STATE", error=repr(exc))
        if self.client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.client.disconnect(), 0.5)
        if self.writer is not None:
            # Within the framework's stop deadline (4 s of STOP_TIMEOUT_S for close()).
            await asyncio.to_thread(self.writer.stop, 2.5)

    # -- MQTT ---------------------------------------------------------------------------
    def _ssl(self) -> ssl.SSLContext | bool:
        m = self.config.mqtt
        if not m.tls:
            return False
        context = ssl.create_default_context(cafile=m.ca_file or None)
        if m.cert_file:
            context.load_cert_chain(m.cert_file, m.key_file)
        return context

    async def _mqtt_loop(self) -> None:
        m = self.config.mqtt
        broker = Availability(self.log, "broker")
        target = f"{m.host}:{m.port}"
        attempt = 0
        while True:
            # Newer than any offline STATE seen for us, or edge nodes would ignore it.
            ts = max(now_ms(), self._min_state_ts)
            lost = self._lost = asyncio.Event()
            watch = StandbyWatch(self.log) if self._standing_by else None
            client = _OneConnectionClient(
                self.instance, clean_session=True,
                will_message=None if watch else Message(
                    self.state_topic, state_json(False, ts), qos=1, retain=True))
            client.on_message = watch.on_message if watch else self._on_message
            client.on_disconnect = lambda *_a, _lost=lost, **_k: _lost.set()
            try:
                if m.username:
                    # Read at each connection: a rotated password needs no restart.
                    password = (Path(m.password_file).read_text().strip()
                                if m.password_file else None)
                    client.set_auth_credentials(m.username, password)
                await asyncio.wait_for(client.connect(
                    m.host, m.port, ssl=self._ssl(), keepalive=m.keepalive,
                    version=MQTTv50 if m.version == 5 else MQTTv311), m.keepalive)
            except Exception as exc:  # refused, unreachable, TLS, unreadable password file
                with contextlib.suppress(Exception):
                    await client.disconnect()
                broker.failed(target, str(exc) or type(exc).__name__)
                await asyncio.sleep(_RETRY_S[min(attempt, len(_RETRY_S) - 1)])
                attempt += 1
                continue
            attempt = 0
            broker.ok(target)
            self.client = client
            if watch is not None:
                client.subscribe(self.state_topic, qos=1)
                self.log.info("standing by", host_id=self.config.host.host_id, broker=target)
                offline_ts = await watch.wait(lost)
                self.client = None
                with contextlib.suppress(Exception):
                    await client.disconnect()
                if offline_ts is None:
                    broker.failed(target, "connection lost")
                    await asyncio.sleep(_RETRY_S[0])
                    continue
                self.log.warning("taking over as the primary host",
                                 host_id=self.config.host.host_id, offline_timestamp=offline_ts)
                self._standing_by = False
                self._min_state_ts = offline_ts + 1
                continue
            client.subscribe(self.state_topic, qos=1)
            for topic in subscriptions(self.config):
                client.subscribe(topic, qos=0)
            client.publish(self.state_topic, state_json(True, ts), qos=1, retain=True)
            self.online_ts = ts
            self.connected.set()
            self.log.info("primary host online", host_id=self.config.host.host_id,
                          broker=target, timestamp=ts, topics=subscriptions(self.config))
            await lost.wait()
            self.connected.clear()
            self.online_ts = None
            self.client = None
            with contextlib.suppress(Exception):
                await client.disconnect()
            if self._reconnect_now:
                self._reconnect_now = False
                continue
            broker.failed(target, "connection lost")
            await asyncio.sleep(_RETRY_S[0])

    def _publish_rebirth(self, group: str, node: str) -> None:
        client = self.client
        if client is None or not self.connected.is_set():
            return
        p = new_payload(now_ms())
        add_metric(p, DataType.Boolean, True, name=REBIRTH)
        client.publish(f"spBv1.0/{group}/NCMD/{node}", encode_payload(p), qos=0)
        if self.metrics is not None:
            self.metrics.rebirths.inc()

    def _on_state(self, host_id: str | None, payload: bytes) -> None:
        if host_id != self.config.host.host_id or self.online_ts is None:
            return
        try:
            online, ts = parse_state(payload)
        except PayloadError as exc:
            self._bad(f"STATE/{host_id}", str(exc))
            return
        if online:
            if self.config.host.standby and ts > self.online_ts:
                # Another instance became the primary host after us: one active host per
                # group, so this one goes back to standing by (no offline STATE: it is
                # the other's online that stays retained).
                self.log.warning("another instance is the primary host now; standing by",
                                 timestamp=ts, ours=self.online_ts)
                self._standing_by = True
                self._reconnect_now = True
                self.online_ts = None
                if self._lost is not None:
                    self._lost.set()
            return
        client = self.client
        if client is None:
            return
        if ts <= self.online_ts:
            # An older connection's Will (or another instance's, older than ours): edge
            # nodes ignore it by its timestamp; put our online state back for late joiners.
            client.publish(self.state_topic, state_json(True, self.online_ts), qos=1,
                           retain=True)
        else:
            # A newer offline than our online: edges believe it.  Reconnect so that a new
            # timestamp (and a Will carrying it) supersedes it.
            self.log.warning("own STATE set offline by someone else; reconnecting",
                             timestamp=ts, ours=self.online_ts)
            self._reconnect_now = True
            self._min_state_ts = ts + 1
            if self._lost is not None:
                self._lost.set()

    def _on_message(self, client: Any, topic: str, payload: bytes, qos: int,
                    properties: Any) -> int:
        received = now_ms()
        try:
            t = parse_topic(topic)
        except TopicError as exc:
            self._bad(topic, str(exc))
            return 0
        if t.is_state:
            self._on_state(t.host_id, payload)
            return 0
        if self.metrics is not None:
            self.metrics.messages.labels(type=t.message_type).inc()
        if t.message_type in ("NCMD", "DCMD"):
            return 0
        assert self.sessions is not None and t.group_id is not None
        assert t.edge_node_id is not None
        if t.group_id not in self.sessions.schemas:
            return 0
        try:
            sp = decode(payload, self.sessions.datatype_of(t.group_id, t.edge_node_id,
                                                           t.device_id))
        except PayloadError as exc:
            self._bad(topic, str(exc))
            return 0
        try:
            self.sessions.handle(t.group_id, t.message_type, t.edge_node_id, t.device_id, sp,
                                 received)
        except Exception as exc:  # one node's odd message must not stop the others
            self.log.exception("message handling failed", topic=topic)
            if self.ctx is not None:
                self.ctx.error("message", exc)
        return 0

    def _bad(self, where: str, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.rejected.inc()
        key = "/".join(where.split("/")[:4])  # per node, not per message type or device
        now = time.monotonic()
        last, suppressed = self._bad_log.get(key, (float("-inf"), 0))
        if now - last < _BAD_LOG_PERIOD_S:
            self._bad_log[key] = (last, suppressed + 1)
            return
        if len(self._bad_log) > _BAD_LOG_KEYS:  # random node names must not grow it forever
            self._bad_log.clear()
        self._bad_log[key] = (now, 0)
        self.log.warning("malformed message rejected", topic=where, reason=reason,
                         suppressed_since_last=suppressed)


def run(config: HostdConfig) -> HostDaemon:
    """The component for `config` (DESIGN.md: each daemon's main.py has run(config))."""
    return HostDaemon(config)


def main(argv: list[str]) -> int:
    """``hostd nodes …`` or the daemon; the default configuration is hostd's own file."""
    if argv and argv[0] == "nodes":
        from daemons.hostd.nodes import main as nodes_main

        return nodes_main(argv[1:])
    if not any(a == "--config" or a.startswith("--config=") for a in argv):
        argv = ["--config", str(DEFAULT_PATH), *argv]
    return daemon_main("hostd", run, argv, load=load_hostd_config)


def entry() -> None:
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    entry()
