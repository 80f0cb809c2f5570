"""acqd: polls Modbus RTU and TCP devices from the tag maps and writes the acq ring.

`run(config)` is the daemon; `entry()` the console script (`acqd --config PATH`).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from daemons.acqd.commands import CommandServer
from daemons.acqd.drivers import open_link
from daemons.acqd.drivers.base import Link
from daemons.acqd.health import SlaveHealth, health_prefix
from daemons.acqd.history import AcqdHistory, health_specs, series_spec
from daemons.acqd.metrics import AcqMetrics
from daemons.acqd.output import RingOutput
from daemons.acqd.plan import Planner
from daemons.acqd.poller import BusPoller, Slave
from daemons.acqd.scheduler import ScanClock, tick_ns
from daemons.core.access.audit import AuditLog
from daemons.core.access.policy import Policy, closed_policy, load_policy
from daemons.core.access.writes import WriteGuard, unix_name
from daemons.core.config import DeviceConfig, GatewayConfig
from daemons.core.journal import Journal
from daemons.core.problems import ValidationError
from daemons.core.service import ServiceContext, daemon_main
from daemons.core.service.logsetup import Availability
from daemons.core.tagmap import TagMap, TagMapContext, load_tagmaps, store

RING_NAME = "acq.ring"
# Replies are published to the ring (and handed to the historian) in batches this often:
# latency well under a 1 s scan, and the per-batch costs paid 4 times a second, not per reply.
FLUSH_PERIOD_S = 0.25
RETENTION_PERIOD_S = 86_400.0  # audit retention runs at start and once a day


def load_active_tagmap(config: GatewayConfig) -> TagMap:
    """The installed tag maps, validated against `config` (ValidationError if invalid)."""
    tagmap_dir = config.paths.tagmap_dir
    files = store.active_files(tagmap_dir)
    return load_tagmaps(files, TagMapContext.from_config(config),
                        version=store.current_version(tagmap_dir))


@dataclass
class Bus:
    name: str
    device: DeviceConfig  # the bus settings (shared by every device on it)
    link: Link
    poller: BusPoller | None = None
    task: asyncio.Task | None = None


def _bus_settings(d: DeviceConfig) -> tuple:
    """What must stay equal for a link to be kept across a reload."""
    return (d.protocol, d.host, d.port, d.serial_port, d.baud, d.parity, d.stop_bits)


class Acquisition:
    """The acqd component (see daemons/core/service/context.py for the contract)."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.tagmap = TagMap(())
        self.planner = Planner()
        self.buses: dict[str, Bus] = {}
        self.output: RingOutput | None = None
        self.availability: Availability | None = None
        self.ctx: ServiceContext | None = None
        self.journal: Journal | None = None
        self.commands: CommandServer | None = None
        self.metrics: AcqMetrics | None = None
        self.history: AcqdHistory | None = None
        self.audit: AuditLog | None = None
        self.policy: Policy | None = None
        self.last_prune = 0.0

    def _guard(self, config: GatewayConfig, ctx: ServiceContext) -> WriteGuard:
        """Access checks for writes; the site's permission file keeps its last good
        version on a reload, and fails closed (system writes only) when bad at start."""
        assert self.audit is not None
        try:
            self.policy = load_policy(config)
        except ValidationError as exc:
            ctx.log.error("permission matrix invalid; "
                          + ("keeping the previous one" if self.policy else
                             "only the system may write until it is fixed"),
                          problems=[p.render("en") for p in exc.problems])
            ctx.error("access", exc)
            if self.policy is None:
                self.policy = closed_policy(config)
        well_types = {w.id: w.type for w in config.wells.values()}
        return WriteGuard(config.paths.state_dir, self.policy, well_types, self.audit)

    def _prune_audit(self, ctx: ServiceContext) -> None:
        self.last_prune = time.monotonic()
        try:
            assert self.audit is not None
            removed = self.audit.prune_months(self.config.access.audit_retention_months)
        except Exception as exc:  # retention must never stop acquisition
            ctx.log.error("audit retention failed", error=repr(exc))
            return
        if removed:
            ctx.log.info("audit retention", removed=removed)

    async def start(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.availability = Availability(ctx.log, "slave")
        self.metrics = AcqMetrics(ctx.metrics.registry, ctx.log)
        if self.config.history.enabled:
            self.history = AcqdHistory(self.config.paths.state_dir, self.config.history,
                                       ctx.log)
        try:
            self.tagmap = load_active_tagmap(self.config)
        except ValidationError as exc:
            # Nothing good to fall back on at start: run with no tags, loudly, so that
            # status and health stay visible and a corrected map can be applied live.
            ctx.log.error("tag maps invalid; polling nothing until they are fixed",
                          problems=[p.render("en") for p in exc.problems])
            ctx.error("tagmap", exc)
        self._build(self.config, self.tagmap, old_links={})
        self.journal = Journal(self.config.paths.state_dir)
        self.audit = AuditLog(self.config.paths.state_dir, log=ctx.log)
        self.audit.append("system", "system", "service.start", "acqd",
                          {"pid": os.getpid(), "unix_user": unix_name(os.geteuid())})
        self._prune_audit(ctx)
        self.commands = CommandServer(self.config.paths.runtime_dir, self.journal,
                                      self._resolve, ctx.log, self._guard(self.config, ctx))
        await self.commands.start()
        ctx.set_status(self._status())

    def _resolve(self, name: str) -> tuple | None:
        """A tag's definition, the poller of its bus and its device timeout (for writes)."""
        tag = self.tagmap.get(name)
        if tag is None:
            return None
        device = self.config.devices.get(tag.device)
        bus = self.buses.get(device.bus) if device is not None else None
        if bus is None or bus.poller is None:
            return None
        return tag, bus.poller, device.timeout

    def _build(self, config: GatewayConfig, tagmap: TagMap,
               old_links: dict[str, Bus]) -> list[Link]:
        """Plan, lay out the ring and start one task per bus; returns links to close."""
        assert self.availability is not None
        config.paths.runtime_dir.mkdir(parents=True, exist_ok=True)
        intervals = {name: tick_ns(s.interval) for name, s in config.scans.items()}
        by_device: dict[str, list] = defaultdict(list)
        for tag in tagmap:
            by_device[tag.device].append(tag)
        slaves_by_bus: dict[str, list[Slave]] = defaultdict(list)
        bus_device: dict[str, DeviceConfig] = {}
        for name, tags in by_device.items():
            device = config.devices[name]
            if not device.enabled:
                continue
            bus_device.setdefault(device.bus, device)
            by_unit: dict[int, list] = defaultdict(list)
            for tag in tags:
                by_unit[tag.unit].append(tag)
            for unit, unit_tags in sorted(by_unit.items()):
                blocks: dict[str, list] = defaultdict(list)
                for block in self.planner.plan(unit_tags, device):
                    blocks[block.scan].append(block)
                slaves_by_bus[device.bus].append(
                    Slave(device, unit, dict(blocks), SlaveHealth(name, unit)))
        all_slaves = [(s.device.name, s.unit) for ss in slaves_by_bus.values() for s in ss]
        new_output = RingOutput(config.paths.runtime_dir / RING_NAME, tagmap.tags, all_slaves,
                                tagmap_version=tagmap.version,
                                history_depth=config.ring.history_depth,
                                scan_interval_ns=intervals)
        if self.output is not None:
            self.output.close()
        self.output = new_output
        if self.history is not None:
            self.history.map_slots(self._history_specs(tagmap, all_slaves, new_output),
                                   config.history)
            new_output.history = self.history.submit
        buses: dict[str, Bus] = {}
        retired: list[Link] = []
        for bus_name, slaves in slaves_by_bus.items():
            device = bus_device[bus_name]
            old = old_links.pop(bus_name, None)
            if old is not None and _bus_settings(old.device) == _bus_settings(device):
                link = old.link  # keep the connection: no reconnect on a tag-map change
            else:
                if old is not None:
                    retired.append(old.link)
                link = open_link(device)
            scans = sorted({scan for s in slaves for scan in s.blocks},
                           key=lambda n: intervals[n])
            clocks = [ScanClock(n, intervals[n], i) for i, n in enumerate(scans)]
            poller = BusPoller(bus_name, link, slaves, clocks, self.planner, new_output,
                               self.availability)
            bus = Bus(bus_name, device, link, poller)
            bus.task = asyncio.create_task(poller.run(), name=f"bus {bus_name}")
            buses[bus_name] = bus
        retired.extend(leftover.link for leftover in old_links.values())
        self.buses = buses
        return retired

    @staticmethod
    def _history_specs(tagmap: TagMap, slaves: list[tuple[str, int]],
                       output: RingOutput) -> list:
        """Per ring slot, the history series it feeds (arrays and strings: none)."""
        specs: list = [None] * output.size
        for tag in tagmap:
            if not (tag.is_array or tag.type == "string"):
                specs[output.slot_of(tag.name)] = series_spec(tag)
        for device, unit in set(slaves):
            prefix = health_prefix(device, unit)
            base = output.slot_of(f"{prefix}.comm")
            for k, spec in enumerate(health_specs(prefix)):
                specs[base + k] = spec
        return specs

    def _status(self) -> str:
        slaves = sum(len(b.poller.slaves) for b in self.buses.values() if b.poller)
        down = len(self.availability.unavailable()) if self.availability else 0
        return (f"{len(self.tagmap)} tags, {slaves} slaves on {len(self.buses)} buses, "
                f"{down} down, tag-map version {self.tagmap.version}")

    async def run(self, ctx: ServiceContext) -> None:
        last_status = 0.0
        while True:
            await asyncio.sleep(FLUSH_PERIOD_S)
            with ctx.iteration():
                for bus in self.buses.values():
                    if bus.task is not None and bus.task.done() and not bus.task.cancelled():
                        exc = bus.task.exception()
                        ctx.log.error("bus task failed; restarting it", bus=bus.name,
                                      error=repr(exc))
                        ctx.error("bus", exc)
                        bus.task = asyncio.create_task(bus.poller.run(), name=bus.name)
                if self.output is not None:
                    self.output.flush(time.time_ns())
                if time.monotonic() - self.last_prune > RETENTION_PERIOD_S:
                    self._prune_audit(ctx)
                if time.monotonic() - last_status > 5:
                    ctx.set_status(self._status())
                    if self.metrics is not None and self.availability is not None:
                        self.metrics.update([b.poller for b in self.buses.values() if b.poller],
                                            len(self.availability.unavailable()))
                    last_status = time.monotonic()
            ctx.heartbeat()

    async def reload(self, config: Any, ctx: ServiceContext) -> None:
        if self.commands is not None:  # users, roles and wells may change without the maps
            self.commands.guard = self._guard(config, ctx)
        try:
            tagmap = load_active_tagmap(config)
        except ValidationError as exc:
            ctx.log.error("new tag maps invalid; keeping the running ones",
                          problems=[p.render("en") for p in exc.problems])
            ctx.error("tagmap", exc)
            return
        await self._stop_tasks()
        if self.output is not None:
            self.output.flush(time.time_ns())
        old = dict(self.buses)
        self.config, self.tagmap = config, tagmap
        retired = self._build(config, tagmap, old_links=old)
        await asyncio.gather(*(link.close() for link in retired), return_exceptions=True)
        ctx.log.info("tag maps loaded", tags=len(tagmap), version=tagmap.version)
        try:
            assert self.audit is not None
            self.audit.append("system", "system", "service.reload", "acqd",
                              {"tagmap_version": tagmap.version, "tags": len(tagmap)})
        except Exception as exc:  # the reload happened; a broken audit file is logged
            ctx.log.error("audit append failed", action="service.reload", error=repr(exc))

    async def _stop_tasks(self) -> None:
        tasks = [b.task for b in self.buses.values() if b.task is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        if self.commands is not None:
            await self.commands.close()
        await self._stop_tasks()
        await asyncio.gather(*(b.link.close() for b in self.buses.values()),
                             return_exceptions=True)
        if self.output is not None:
            self.output.flush(time.time_ns())
            self.output.close()
        if self.journal is not None:
            self.journal.close()
        if self.audit is not None:
            try:
                self.audit.append("system", "system", "service.stop", "acqd",
                                  {"pid": os.getpid()})
            except Exception:  # stopping must finish even with a broken audit file
                pass
            self.audit.close()
        if self.history is not None:
            self.history.close()


def run(config: GatewayConfig) -> Acquisition:
    """The component for `config` (DESIGN.md: each daemon's main.py has run(config))."""
    return Acquisition(config)


def entry() -> None:
    sys.exit(daemon_main("acqd", run))


if __name__ == "__main__":
    entry()
