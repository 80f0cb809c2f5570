"""The simulated well site: device models, their Modbus servers, faults and ground truth.

`SimSite` builds one RegisterBank + model per device, one `RtuBus` per RS-485 bus and one
`TcpPort` per TCP (host, port), a physics thread stepping the models, and the control
socket.  Use it in-process (`async with SimSite(site, state_dir=d) as s:`, or
`with SiteThread(...) as s:` from synchronous code: daemons/sim/background.py) or
through `wellgate simulate run`.

Files in the state directory: sim-ports.json (actual ports and pty links, written at
start, removed at a clean stop), sim-truth.json (ground truth, every truth_interval_s and
on every injected fault or event), sim.sock (control socket), sim-end-<bus> (the
simulator's end of each pty pair).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from daemons.core.problems import Problem, ValidationError
from daemons.sim import control
from daemons.sim.bank import RegisterBank
from daemons.sim.faults import Fault, FaultBoard, make_faults
from daemons.sim.pdu import Identity
from daemons.sim.physics import Journal, PhysicsThread, write_json_atomic
from daemons.sim.ptypair import PtyError, PtyPair
from daemons.sim.rtu import LineSettings, RtuBus, Slave
from daemons.sim.sitefile import DeviceConfig, SiteConfig
from daemons.sim.tcp import TcpPort

log = logging.getLogger(__name__)

PORTS_FILE = "sim-ports.json"
TRUTH_FILE = "sim-truth.json"
SOCKET_FILE = "sim.sock"
HOUSEKEEPING_S = 0.05
MAX_UNIX_PATH = 107  # sun_path is 108 bytes with the terminating NUL (unix(7))


class SimError(RuntimeError):
    """The site could not start (pty, port, socket): the message says what and where."""


def default_models() -> Mapping[str, type]:
    from daemons.sim.devices import MODELS  # the device physics, written separately

    return MODELS


@dataclass(frozen=True, slots=True)
class SimDevice:
    config: DeviceConfig
    bank: RegisterBank
    model: Any
    slave: Slave
    transport: str  # "rtu" | "tcp"


def _seed(site_seed: int, name: str) -> int:
    # Stable per device whatever the order of the file, different between devices.
    return (zlib.crc32(name.encode()) ^ site_seed) & 0x7FFFFFFF


class SimSite:
    """A running simulated site (single use: start once, stop once)."""

    def __init__(self, site: SiteConfig, *, state_dir: Path,
                 models: Mapping[str, type] | None = None, isolated: bool = False) -> None:
        """Build the models now (so their errors surface before anything starts).

        isolated: bind every TCP server to a free port (devices that share a port in the
        file still share one) and put every pty link in `state_dir`, for tests and demos
        next to other users.
        """
        self.site = site
        self.state_dir = Path(state_dir)
        self.isolated = isolated
        registry = default_models() if models is None else models
        self.journal = Journal()
        self.faults = FaultBoard(random.Random(site.seed))
        self.devices: dict[str, SimDevice] = {}
        built: dict[str, tuple[DeviceConfig, RegisterBank, Any]] = {}
        problems: list[Problem] = []
        for dev in site.devices:
            cls = registry.get(dev.model)
            if cls is None:
                problems.append(Problem(site.source, dev.line, 0,
                                        en=f"device {dev.name!r}: unknown model {dev.model!r}",
                                        es=f"equipo {dev.name!r}: modelo desconocido "
                                           f"{dev.model!r}"))
                continue
            bank = RegisterBank()
            try:
                model = cls(bank, wells=list(dev.wells), params=dict(dev.params),
                            seed=_seed(site.seed, dev.name))
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(Problem(site.source, dev.params_line, 0,
                                        en=f"device {dev.name!r} ({dev.model}): {exc}",
                                        es=f"equipo {dev.name!r} ({dev.model}): {exc}"))
                continue
            built[dev.name] = (dev, bank, model)
        if problems:
            raise ValidationError(problems)
        self.physics = PhysicsThread(
            {name: m for name, (_, _, m) in built.items()},
            {name: {"model": d.model, "wells": list(d.wells), "unit": d.unit,
                    "transport": "rtu" if d.bus else "tcp"} for name, (d, _, _) in built.items()},
            site_name=site.name, hz=site.physics_hz, truth_interval_s=site.truth_interval_s,
            truth_path=self.state_dir / TRUTH_FILE, journal=self.journal)
        buses = {b.name: b for b in site.buses}
        for name, (dev, bank, model) in built.items():
            bank.on_write = self.physics.on_write(name)
            turnaround = dev.turnaround_ms
            if turnaround is None:
                turnaround = buses[dev.bus].turnaround_ms if dev.bus else 0.0
            slave = Slave(name, dev.unit, bank, Identity("wellgate", dev.model, "0.1"),
                          turnaround / 1000.0)
            self.devices[name] = SimDevice(dev, bank, model, slave, "rtu" if dev.bus else "tcp")
        self.buses: dict[str, RtuBus] = {}
        for bus in site.buses:
            link = self._link_path(bus.link)
            pair = PtyPair(link, self.state_dir / f"sim-end-{bus.name}")
            slaves = [d.slave for d in self.devices.values() if d.config.bus == bus.name]
            self.buses[bus.name] = RtuBus(bus.name, pair, LineSettings(bus.baud, bus.parity,
                                                                       bus.stop_bits),
                                          slaves, self.faults)
        groups: dict[tuple[str, int | str], list[SimDevice]] = {}
        for d in self.devices.values():
            if d.transport == "tcp":
                port = d.config.tcp_port or f"free:{d.config.name}"
                groups.setdefault((d.config.host, port), []).append(d)
        self.ports: list[TcpPort] = []
        self._port_of: dict[str, TcpPort] = {}
        for (host, port), members in groups.items():
            bind = 0 if isolated or isinstance(port, str) else port
            server = TcpPort(host, bind, [m.slave for m in members], self.faults,
                             unknown_unit=site.tcp_unknown_unit)
            self.ports.append(server)
            for m in members:
                self._port_of[m.config.name] = server
        self._control: asyncio.AbstractServer | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self._down: set[str] = set()  # buses/ports we took down for a disconnect fault
        self._restart_failed: set[str] = set()
        self._started = False
        self._stopped = False

    def _link_path(self, link: str) -> Path:
        path = Path(link)
        if self.isolated:
            return self.state_dir / path.name
        return path if path.is_absolute() else self.state_dir / path

    # --- what tests and tools need ---------------------------------------------------
    @property
    def tcp_ports(self) -> dict[str, int]:
        """device -> actual TCP port (after start)."""
        return {name: port.port for name, port in self._port_of.items()}

    @property
    def pty_links(self) -> dict[str, Path]:
        """bus -> the master's pty path."""
        return {name: bus.pair.link for name, bus in self.buses.items()}

    @property
    def models(self) -> dict[str, Any]:
        return {name: d.model for name, d in self.devices.items()}

    @property
    def socket_path(self) -> Path:
        return self.state_dir / SOCKET_FILE

    # --- lifecycle -------------------------------------------------------------------
    async def __aenter__(self) -> SimSite:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._started:
            raise SimError("a SimSite starts once; build a new one")
        self._started = True
        self.state_dir.mkdir(parents=True, exist_ok=True)
        sock = self.socket_path
        if len(str(sock).encode()) > MAX_UNIX_PATH:
            raise SimError(f"state directory path too long for a Unix socket: {sock}")
        try:
            self.physics.start()
            for bus in self.buses.values():
                await bus.start()
            for port in self.ports:
                await port.start()
            self._control = await control.serve(self, sock)
        except (PtyError, OSError) as exc:
            await self.stop()
            raise SimError(str(exc)) from exc
        except BaseException:
            await self.stop()
            raise
        write_json_atomic(self.state_dir / PORTS_FILE, self.ports_info())
        self._housekeeping = asyncio.create_task(self._housekeep(), name="sim-housekeeping")
        log.info("simulated site %s started in %s", self.site.name, self.state_dir)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        if self._control is not None:
            self._control.close()
            with contextlib.suppress(Exception):
                await self._control.wait_closed()
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
        for port in self.ports:
            await port.stop()
        for bus in self.buses.values():
            await bus.stop()
        if self.physics.is_alive():
            await asyncio.get_running_loop().run_in_executor(None, self.physics.stop)
        with contextlib.suppress(FileNotFoundError):
            (self.state_dir / PORTS_FILE).unlink()
        if self._started:
            log.info("simulated site %s stopped", self.site.name)

    def ports_info(self) -> dict[str, Any]:
        return {
            "site": self.site.name,
            "pid": os.getpid(),
            "control": str(self.socket_path),
            "truth": str(self.state_dir / TRUTH_FILE),
            "tcp": {name: {"host": port.host, "port": port.port,
                           "unit": self.devices[name].config.unit}
                    for name, port in self._port_of.items()},
            "buses": {name: {"link": str(bus.pair.link), "baud": bus.line.baud,
                             "parity": bus.line.parity, "stop_bits": bus.line.stop_bits,
                             "socat_pid": bus.pair.pid,
                             "units": {s.name: s.unit for s in bus.slaves.values()}}
                      for name, bus in self.buses.items()},
        }

    # --- faults and events (the control socket's operations) ---------------------------
    def _targets(self, target: str, unit: int | None) -> list[str]:
        def fail(en: str, es: str) -> ValidationError:
            return ValidationError([Problem("<request>", 0, 0, en=en, es=es)])

        if target in self.devices:
            if unit is not None and unit != self.devices[target].config.unit:
                raise fail(f"device {target!r} is unit {self.devices[target].config.unit}, "
                           f"not {unit}", f"el equipo {target!r} es la unidad "
                           f"{self.devices[target].config.unit}, no {unit}")
            return [target]
        if target in self.buses:
            names = [d.name for d in self.buses[target].slaves.values()
                     if unit is None or d.unit == unit]
            if not names:
                raise fail(f"no unit {unit} on bus {target!r}",
                           f"no hay unidad {unit} en el bus {target!r}")
            return names
        known = ", ".join(sorted([*self.devices, *self.buses]))
        raise fail(f"unknown device or bus {target!r}; known: {known}",
                   f"equipo o bus desconocido {target!r}; conocidos: {known}")

    async def fault(self, target: str, kind: str, *, unit: int | None = None,
                    **params: Any) -> list[Fault]:
        """Inject a fault (ValidationError if the request is wrong); returns the faults."""
        names = self._targets(target, unit)
        rtu = all(self.devices[n].transport == "rtu" for n in names)
        faults = make_faults(kind, names, params, rtu=rtu, now=time.time())
        self.faults.add(faults)
        for fault in faults:
            self.journal.record({"type": "fault", **fault.to_json()})
        await self._publish()
        return faults

    async def clear(self, target: str | None = None, *, unit: int | None = None) -> list[Fault]:
        names = None if target is None else self._targets(target, unit)
        gone = self.faults.clear(names)
        for fault in gone:
            self.journal.record({"type": "fault_end", "reason": "cleared", **fault.to_json()})
        await self._publish()
        return gone

    async def event(self, device: str, event: str, args: Mapping[str, Any]) -> None:
        """Pass an event to the model (e.g. rig1 kick); ValidationError if it refuses."""
        if device not in self.devices:
            raise ValidationError([Problem("<request>", 0, 0, en=f"unknown device {device!r}",
                                           es=f"equipo desconocido {device!r}")])
        done = self.physics.inject(device, event, dict(args))
        try:
            await asyncio.wrap_future(done)
        except (ValueError, TypeError) as exc:
            raise ValidationError([Problem("<request>", 0, 0,
                                           en=f"{device}: event {event!r} refused: {exc}",
                                           es=f"{device}: evento {event!r} rechazado: {exc}")
                                   ]) from exc

    def status(self) -> dict[str, Any]:
        info = self.ports_info()
        info["site_time"] = self.physics.site_time
        info["physics_steps"] = self.physics.steps
        info["devices"] = [{
            "name": name, "model": d.config.model, "unit": d.config.unit,
            "wells": list(d.config.wells), "transport": d.transport,
            "where": (d.config.bus if d.transport == "rtu"
                      else f"{self._port_of[name].host}:{self._port_of[name].port}"),
            "served": (self.buses[d.config.bus].served[name] if d.config.bus
                       else self._port_of[name].served[name]),
            "connections": (None if d.config.bus else self._port_of[name].accepted),
        } for name, d in self.devices.items()]
        info["links_down"] = sorted(self._down)
        info["faults"] = [f.to_json() for f in self.faults.all()]
        return info

    async def _publish(self) -> None:
        self.journal.set_faults([f.to_json() for f in self.faults.all()])
        await self._reconcile()
        self.physics.request_truth()

    async def _reconcile(self) -> None:
        """Take buses/ports down while a device on them has `disconnect`; bring them back."""
        links: list[tuple[str, RtuBus | TcpPort, list[str]]] = [
            (f"bus:{name}", bus, [s.name for s in bus.slaves.values()])
            for name, bus in self.buses.items()]
        links += [(f"tcp:{p.host}:{p.port}", p, [s.name for s in p.slaves.values()])
                  for p in self.ports]
        for key, link, names in links:
            dead = any(self.faults.has(n, "disconnect") for n in names)
            if dead and key not in self._down:
                self._down.add(key)
                await link.stop()
                self.journal.record({"type": "link_down", "link": key})
            elif not dead and (key in self._down or not link.alive):
                try:
                    await link.start()
                except (PtyError, OSError) as exc:
                    if key not in self._restart_failed:
                        self._restart_failed.add(key)
                        log.error("cannot bring %s back: %s; unavailable", key, exc)
                    continue
                if key in self._restart_failed:
                    self._restart_failed.discard(key)
                    log.warning("%s is back; recovered", key)
                if key in self._down:
                    self._down.discard(key)
                    self.journal.record({"type": "link_up", "link": key})

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            expired = self.faults.expire(time.time())
            for fault in expired:
                self.journal.record({"type": "fault_end", "reason": "expired",
                                     **fault.to_json()})
            if expired:
                await self._publish()
            else:
                await self._reconcile()
