"""forwardd: the Sparkplug B edge node with store-and-forward (docs/sparkplug.md).

`run(config)` is the daemon; `entry()` the console script (``forwardd --config PATH``).
Two tasks share one event loop, so nothing here needs a lock:
- the link task connects (servers in turn, a new bdSeq per connect, persisted first),
  subscribes NCMD/DCMD/STATE, and waits for the connection to end;
- the tick (every `TICK_S`) reads every ring, picks the samples to send (report by
  exception), publishes births when they are due, live data, then a slice of the backlog
  as historical data; while offline the samples go to the outbox instead.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import numpy as np

from daemons.core.access.audit import AuditLog
from daemons.core.cloudstatus import write_cloud_status
from daemons.core.config import GatewayConfig
from daemons.core.problems import ValidationError
from daemons.core.quality import Quality
from daemons.core.ring import RingError, RingWriter, SlotSpec
from daemons.core.service import ServiceContext, daemon_main
from daemons.core.service.logsetup import Availability
from daemons.core.sparkplug import (
    PayloadError,
    TopicError,
    build_topic,
    parse_state,
    parse_topic,
    require_fast_backend,
    state_topic,
)
from daemons.core.tagmap import TagMap, TagMapContext, load_tagmaps, store

from .catalog import NODE, OWN_RING, Catalog
from .link import Link
from .outbox import Outbox
from .publisher import Publisher
from .rings import MergedRings
from .session import EdgeSession

TICK_S = 0.1
STATUS_EVERY_S = 1.0
NODE_METRICS_EVERY_S = 10.0
BACKOFF_MAX_S = 10.0  # one connect attempt per 10 s at worst: cheap, and a link back soon
SYS_TAGS = ("_sys.forwardd.connected", "_sys.forwardd.outbox_depth",
            "_sys.forwardd.outbox_age_s", "_sys.forwardd.outbox_hours_left")


def load_active_tagmap(config: GatewayConfig) -> TagMap:
    files = store.active_files(config.paths.tagmap_dir)
    return load_tagmaps(files, TagMapContext.from_config(config),
                        version=store.current_version(config.paths.tagmap_dir))


class ForwardDaemon:
    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        cfg = config.mqtt
        self.group_id = cfg.group_id or config.gateway.group_id
        self.node_id = cfg.edge_node_id or config.gateway.edge_node_id
        self.host_id = cfg.primary_host_id
        self.outbox: Outbox | None = None
        self.rings: MergedRings | None = None
        self.own_ring: RingWriter | None = None
        self.tagmap = TagMap(())
        self.catalog: Catalog | None = None
        self.pub: Publisher | None = None
        self.link: Link | None = None
        self.link_task: asyncio.Task | None = None
        self.inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(maxsize=10_000)
        self.ctx: ServiceContext | None = None
        self.host_online = not self.host_id
        self.host_ts = 0
        self.host_offline_event = asyncio.Event()
        self.last_status = 0.0
        self.server = ""
        self.audit: AuditLog | None = None  # opened at the first refused write

    def audit_log(self) -> AuditLog:
        if self.audit is None:
            self.audit = AuditLog(self.config.paths.state_dir)
        return self.audit

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        require_fast_backend()
        cfg = self.config.mqtt
        self.outbox = Outbox(self.config.paths.state_dir, cfg.outbox_mb * 1024 * 1024)
        self.host_ts = self.outbox.get_state("host_ts", 0)
        try:
            self.tagmap = load_active_tagmap(self.config)
        except ValidationError as exc:
            ctx.log.error("tag maps invalid; publishing ring tags without tag-map details",
                          problems=[p.render("en") for p in exc.problems[:10]])
        self.config.paths.runtime_dir.mkdir(parents=True, exist_ok=True)
        self.own_ring = RingWriter.create(self.config.paths.runtime_dir / f"{OWN_RING}.ring",
                                          [SlotSpec(t) for t in SYS_TAGS], tagmap_version=0,
                                          history_depth=60)
        self.rings = MergedRings(self.config.paths.runtime_dir)
        self.pub = Publisher(self, ctx.log)
        if not cfg.enabled:
            ctx.log.info("[mqtt] enabled = false: forwardd keeps no cloud link")
        ctx.log.info("forwardd started", group_id=self.group_id, edge_node_id=self.node_id,
                     primary_host=self.host_id or None, outbox=str(self.outbox.path),
                     outbox_depth=self.outbox.depth)

    async def run(self, ctx: ServiceContext) -> None:
        if self.config.mqtt.enabled:
            self.link_task = asyncio.create_task(self._link_loop(ctx), name="link")
        while True:
            await asyncio.sleep(TICK_S)
            with ctx.iteration():
                self._drain_inbox(ctx)
                if self.config.mqtt.enabled:
                    self.tick(ctx)
                self._status(ctx)
            if self.link_task is not None and self.link_task.done():
                exc = self.link_task.exception()
                raise RuntimeError(f"link task ended: {exc!r}") from exc

    async def reload(self, config: Any, ctx: ServiceContext) -> None:
        old = self.config
        self.config = config
        try:
            self.tagmap = load_active_tagmap(config)
        except ValidationError as exc:
            ctx.log.error("tag maps invalid; keeping the previous ones",
                          problems=[p.render("en") for p in exc.problems[:10]])
        if config.mqtt != old.mqtt or config.gateway != old.gateway:
            ctx.log.warning("[mqtt] changes take effect at the next restart of forwardd")
            self.config = old
        self.catalog = None  # rebuilt (and reborn if it changed) at the next tick

    async def close(self) -> None:
        if self.link_task is not None:
            self.link_task.cancel()
            await asyncio.gather(self.link_task, return_exceptions=True)
        if self.pub is not None and self.link is not None:
            await self.pub.goodbye(self.link)
        if self.pub is not None:
            self.pub.save_counters()
        for thing in (self.own_ring, self.rings, self.outbox, self.audit):
            if thing is not None:
                thing.close()

    # -- the link -------------------------------------------------------------------------
    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            self.inbox.put_nowait((topic, payload))
        except asyncio.QueueFull:
            if self.ctx is not None:
                self.ctx.log.warning("command queue full; message dropped", topic=topic)

    async def _link_loop(self, ctx: ServiceContext) -> None:
        assert self.outbox is not None and self.pub is not None
        cfg = self.config.mqtt
        self.link = Link(cfg, cfg.client_id or self.node_id, self._on_message)
        broker = Availability(ctx.log, "mqtt")
        backoff = 1.0
        ndeath_topic = build_topic(self.group_id, "NDEATH", self.node_id)
        used: list[int] = []

        def will() -> tuple[str, bytes]:
            assert self.outbox is not None
            used.append(self.outbox.next_bdseq())
            return ndeath_topic, EdgeSession(
                self.group_id, self.node_id, Catalog((), (), {}, {}),
                compression=cfg.compression).ndeath(used[-1], _now_ms())[1]

        def not_sent() -> None:
            assert self.outbox is not None
            self.outbox.set_state("bdseq", (used.pop() - 1) % 256, sync=True)

        while True:
            try:
                server = await self.link.connect(will, not_sent)
            except ConnectionError as exc:
                broker.failed("broker", str(exc),
                              servers=[str(s) for s in self.link.servers])
                await asyncio.sleep(backoff)
                backoff = min(BACKOFF_MAX_S, backoff * 2)
                continue
            bdseq = used[-1]
            backoff = 1.0
            broker.ok("broker", server=str(server))
            self.server = str(server)
            self.host_offline_event.clear()
            node = f"spBv1.0/{self.group_id}/{{}}/{self.node_id}"
            self.link.subscribe(node.format("NCMD"), 1)
            self.link.subscribe(node.format("DCMD") + "/+", 1)
            if self.host_id:
                self.link.subscribe(state_topic(self.host_id), 1)
            self.pub.connected(bdseq)
            lost = asyncio.ensure_future(self.link.lost.wait())
            offline = asyncio.ensure_future(self.host_offline_event.wait())
            await asyncio.wait({lost, offline}, return_when=asyncio.FIRST_COMPLETED)
            for t in (lost, offline):
                t.cancel()
            if offline.done() and not lost.done():
                ctx.log.warning("primary host offline: NDEATH, disconnect, buffering",
                                host=self.host_id)
                await self.pub.goodbye(self.link)
            else:
                ctx.log.warning("MQTT connection lost; buffering", server=str(server))
                self.link.abort()
            self.pub.disconnected()
            await asyncio.sleep(0.5)

    def _drain_inbox(self, ctx: ServiceContext) -> None:
        while not self.inbox.empty():
            topic, payload = self.inbox.get_nowait()
            try:
                t = parse_topic(topic)
            except TopicError as exc:
                ctx.log.warning("message on an unexpected topic rejected", topic=topic,
                                reason=str(exc))
                continue
            if t.is_state:
                self._on_state(ctx, t.host_id or "", payload)
            elif self.pub is not None:
                self.pub.command(t, payload)

    def _on_state(self, ctx: ServiceContext, host: str, payload: bytes) -> None:
        if host != self.host_id:
            return
        try:
            online, ts = parse_state(payload)
        except PayloadError as exc:
            ctx.log.warning("malformed STATE rejected", host=host, reason=str(exc))
            return
        if ts < self.host_ts:
            ctx.log.warning("stale STATE ignored", host=host, online=online, timestamp=ts,
                            newest=self.host_ts)
            return
        self.host_ts = ts
        if self.outbox is not None:
            self.outbox.set_state("host_ts", ts)
        if online != self.host_online:
            ctx.log.info("primary host " + ("online" if online else "offline"), host=host)
        self.host_online = online
        if not online and self.pub is not None and self.pub.born:
            self.host_offline_event.set()  # NDEATH, disconnect, reconnect and wait

    # -- the tick -------------------------------------------------------------------------
    def tick(self, ctx: ServiceContext) -> None:
        assert self.rings is not None and self.pub is not None
        try:
            snap = self.rings.snapshot()
        except RingError as exc:
            self.pub.rings.failed(str(self.config.paths.runtime_dir), exc.what)
            return
        self.pub.rings.ok(str(self.config.paths.runtime_dir))
        self.pub.tick(snap, time.monotonic(), _now_ms())

    def _status(self, ctx: ServiceContext) -> None:
        now = time.monotonic()
        if now - self.last_status < STATUS_EVERY_S or self.outbox is None or self.pub is None:
            return
        self.last_status = now
        doc = self.pub.status_doc()
        write_cloud_status(self.config.paths.runtime_dir, doc)
        if self.own_ring is not None:
            ob = doc["outbox"]
            values = np.array([float(doc["connected"]), float(ob["depth"]),
                               float(ob["age_s"] or 0.0), float(ob["hours_left"])])
            self.own_ring.write_batch(self.own_ring.indices(SYS_TAGS), values,
                                      time.time_ns(), int(Quality.GOOD))
        ctx.set_status(f"{doc['state']}, outbox {doc['outbox']['depth']} samples, "
                       f"bdSeq {doc['bdseq']}")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def run(config: GatewayConfig) -> ForwardDaemon:
    """The component for `config` (DESIGN.md: each daemon's main.py has run(config))."""
    return ForwardDaemon(config)


def entry() -> None:
    sys.exit(daemon_main("forwardd", run))


if __name__ == "__main__":
    entry()


__all__ = ["NODE", "ForwardDaemon", "entry", "run"]
