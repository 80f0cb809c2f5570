"""The simulated site file (TOML): buses, devices, their models and parameters.

Validated once into frozen objects; every problem names the file, the line (best effort:
tomllib keeps no positions, so keys are located in the text) and the key.  The format is
documented, key by key, in config/sim-site.toml.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from daemons.core.problems import Problem, ValidationError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
PARITIES = ("N", "E", "O")
UNKNOWN_UNIT = ("ignore", "exception")
SITE_KEYS = frozenset({"name", "seed", "physics_hz", "truth_interval_s", "tcp_unknown_unit"})
BUS_KEYS = frozenset({"name", "link", "baud", "parity", "stop_bits", "turnaround_ms"})
DEVICE_KEYS = frozenset({"name", "model", "unit", "wells", "params", "bus", "tcp_port", "host",
                         "turnaround_ms"})


@dataclass(frozen=True, slots=True)
class BusConfig:
    name: str
    link: str  # relative paths are relative to the simulator's state directory
    baud: int = 19200
    parity: str = "N"
    stop_bits: int = 1
    turnaround_ms: float = 10.0
    line: int = 0


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    name: str
    model: str
    unit: int
    wells: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    bus: str | None = None
    host: str = "127.0.0.1"
    tcp_port: int | None = None  # 0 = any free port
    turnaround_ms: float | None = None  # None = the bus's
    line: int = 0
    params_line: int = 0


@dataclass(frozen=True, slots=True)
class SiteConfig:
    source: str
    name: str = "site"
    seed: int = 0
    physics_hz: float = 10.0
    truth_interval_s: float = 1.0
    tcp_unknown_unit: str = "ignore"
    buses: tuple[BusConfig, ...] = ()
    devices: tuple[DeviceConfig, ...] = ()

    def device(self, name: str) -> DeviceConfig | None:
        return next((d for d in self.devices if d.name == name), None)

    def bus(self, name: str) -> BusConfig | None:
        return next((b for b in self.buses if b.name == name), None)


class _Locator:
    """Best-effort line numbers of `[[array]]` headers and of keys inside them."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def header(self, array: str, index: int) -> int:
        pattern = re.compile(rf"^\s*\[\[\s*{re.escape(array)}\s*\]\]")
        hits = [n for n, line in enumerate(self.lines, 1) if pattern.match(line)]
        return hits[index] if index < len(hits) else 0

    def table(self, name: str) -> int:
        pattern = re.compile(rf"^\s*\[\s*{re.escape(name)}\s*\]")
        return next((n for n, line in enumerate(self.lines, 1) if pattern.match(line)), 0)

    def key(self, array: str | None, index: int, key: str) -> int:
        start = self.header(array, index) if array else 1
        if array and not start:
            return 0
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for n in range(start, len(self.lines) + 1):
            line = self.lines[n - 1]
            if n > start and array and re.match(r"^\s*\[\[", line):
                break
            if pattern.match(line) or (key == "params" and re.match(
                    rf"^\s*\[\s*{re.escape(array or '')}\.params\s*\]", line)):
                return n
        return start


class _Checker:
    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.where = _Locator(text)
        self.problems: list[Problem] = []

    def add(self, line: int, en: str, es: str) -> None:
        self.problems.append(Problem(self.source, line, 0, en=en, es=es))

    def get(self, table: Mapping[str, Any], key: str, kinds: type | tuple[type, ...],
            default: Any, line: int, label: str) -> Any:
        value = table.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple)
                                                    else (kinds,)):
            ok = False
        else:
            ok = isinstance(value, kinds)
        if not ok:
            self.add(line, f"{label}: {key} has the wrong type ({type(value).__name__})",
                     f"{label}: {key} tiene un tipo incorrecto ({type(value).__name__})")
            return default
        return value

    def unknown_keys(self, table: Mapping[str, Any], allowed: Collection[str], line: int,
                     label: str) -> None:
        for key in sorted(set(table) - set(allowed)):
            self.add(line, f"{label}: unknown key {key!r}; known: {', '.join(sorted(allowed))}",
                     f"{label}: clave desconocida {key!r}; conocidas: "
                     f"{', '.join(sorted(allowed))}")

    def in_range(self, value: float, low: float, high: float, line: int, label: str,
                 key: str) -> None:
        if not low <= value <= high:
            self.add(line, f"{label}: {key} = {value} is outside {low:g}..{high:g}",
                     f"{label}: {key} = {value} está fuera de {low:g}..{high:g}")


def _site_table(c: _Checker, raw: Mapping[str, Any]) -> dict[str, Any]:
    site = raw.get("site", {})
    line = c.where.table("site")
    if not isinstance(site, dict):
        c.add(line, "[site] must be a table", "[site] debe ser una tabla")
        return {}
    c.unknown_keys(site, SITE_KEYS, line, "[site]")
    out = {
        "name": c.get(site, "name", str, "site", line, "[site]"),
        "seed": c.get(site, "seed", int, 0, line, "[site]"),
        "physics_hz": float(c.get(site, "physics_hz", (int, float), 10.0, line, "[site]")),
        "truth_interval_s": float(c.get(site, "truth_interval_s", (int, float), 1.0, line,
                                        "[site]")),
        "tcp_unknown_unit": c.get(site, "tcp_unknown_unit", str, "ignore", line, "[site]"),
    }
    c.in_range(out["physics_hz"], 1, 100, line, "[site]", "physics_hz")
    c.in_range(out["truth_interval_s"], 0.1, 60, line, "[site]", "truth_interval_s")
    if out["tcp_unknown_unit"] not in UNKNOWN_UNIT:
        c.add(line, "[site]: tcp_unknown_unit must be \"ignore\" or \"exception\"",
              "[site]: tcp_unknown_unit debe ser \"ignore\" o \"exception\"")
    return out


def _buses(c: _Checker, raw: Mapping[str, Any]) -> list[BusConfig]:
    out: list[BusConfig] = []
    for i, bus in enumerate(raw.get("bus", [])):
        line = c.where.header("bus", i)
        label = f"bus #{i + 1}"
        if not isinstance(bus, dict):
            c.add(line, f"{label} must be a table", f"{label} debe ser una tabla")
            continue
        c.unknown_keys(bus, BUS_KEYS, line, label)
        name = c.get(bus, "name", str, "", c.where.key("bus", i, "name"), label)
        if not NAME.match(name):
            c.add(c.where.key("bus", i, "name") or line,
                  f"{label}: name must be letters, digits, '_', '.', '-' (got {name!r})",
                  f"{label}: name debe tener letras, dígitos, '_', '.', '-' (es {name!r})")
        label = f"bus {name!r}" if name else label
        link = c.get(bus, "link", str, "", c.where.key("bus", i, "link"), label)
        if not link:
            c.add(line, f"{label}: link (the master's pty path) is required",
                  f"{label}: link (ruta del pty del maestro) es obligatorio")
        baud = c.get(bus, "baud", int, 19200, c.where.key("bus", i, "baud"), label)
        c.in_range(baud, 300, 921600, c.where.key("bus", i, "baud"), label, "baud")
        parity = c.get(bus, "parity", str, "N", c.where.key("bus", i, "parity"), label)
        if parity not in PARITIES:
            c.add(c.where.key("bus", i, "parity"), f"{label}: parity must be N, E or O",
                  f"{label}: parity debe ser N, E u O")
        stop_bits = c.get(bus, "stop_bits", int, 1, c.where.key("bus", i, "stop_bits"), label)
        if stop_bits not in (1, 2):
            c.add(c.where.key("bus", i, "stop_bits"), f"{label}: stop_bits must be 1 or 2",
                  f"{label}: stop_bits debe ser 1 o 2")
        turnaround = float(c.get(bus, "turnaround_ms", (int, float), 10.0,
                                 c.where.key("bus", i, "turnaround_ms"), label))
        c.in_range(turnaround, 0, 10000, c.where.key("bus", i, "turnaround_ms"), label,
                   "turnaround_ms")
        if any(b.name == name for b in out):
            c.add(line, f"{label}: a bus of this name is already defined",
                  f"{label}: ya hay un bus con este nombre")
        out.append(BusConfig(name, link, baud, parity, stop_bits, turnaround, line))
    return out


def _device(c: _Checker, i: int, dev: dict[str, Any], buses: list[BusConfig],
            models: Collection[str] | None) -> DeviceConfig | None:
    line = c.where.header("device", i)

    def at(key: str) -> int:
        return c.where.key("device", i, key) or line

    label = f"device #{i + 1}"
    c.unknown_keys(dev, DEVICE_KEYS, line, label)
    name = c.get(dev, "name", str, "", at("name"), label)
    if not NAME.match(name):
        c.add(at("name"), f"{label}: name must be letters, digits, '_', '.', '-' (got {name!r})",
              f"{label}: name debe tener letras, dígitos, '_', '.', '-' (es {name!r})")
    label = f"device {name!r}" if name else label
    model = c.get(dev, "model", str, "", at("model"), label)
    if not model:
        c.add(at("model"), f"{label}: model is required", f"{label}: model es obligatorio")
    elif models is not None and model not in models:
        c.add(at("model"), f"{label}: unknown model {model!r}; known: {', '.join(sorted(models))}",
              f"{label}: modelo desconocido {model!r}; conocidos: {', '.join(sorted(models))}")
    wells = c.get(dev, "wells", list, [], at("wells"), label)
    if not all(isinstance(w, str) and w for w in wells):
        c.add(at("wells"), f"{label}: wells must be a list of well ids",
              f"{label}: wells debe ser una lista de pozos")
        wells = []
    params = c.get(dev, "params", dict, {}, at("params"), label)
    bus = c.get(dev, "bus", str, None, at("bus"), label)
    tcp_port = c.get(dev, "tcp_port", int, None, at("tcp_port"), label)
    host = c.get(dev, "host", str, "127.0.0.1", at("host"), label)
    turnaround = c.get(dev, "turnaround_ms", (int, float), None, at("turnaround_ms"), label)
    if (bus is None) == (tcp_port is None):
        c.add(line, f"{label}: give exactly one of bus = \"NAME\" (RTU) or tcp_port = N (TCP)",
              f"{label}: indique solo uno de bus = \"NOMBRE\" (RTU) o tcp_port = N (TCP)")
    if bus is not None and not any(b.name == bus for b in buses):
        c.add(at("bus"), f"{label}: no bus named {bus!r} is defined",
              f"{label}: no hay un bus llamado {bus!r}")
    if tcp_port is not None:
        c.in_range(tcp_port, 0, 65535, at("tcp_port"), label, "tcp_port")
        if turnaround is not None:
            c.add(at("turnaround_ms"), f"{label}: turnaround_ms applies to RTU devices only",
                  f"{label}: turnaround_ms solo aplica a equipos RTU")
    if turnaround is not None:
        c.in_range(turnaround, 0, 10000, at("turnaround_ms"), label, "turnaround_ms")
    unit = c.get(dev, "unit", int, None, at("unit"), label)
    if unit is None:
        c.add(line, f"{label}: unit (Modbus unit id) is required",
              f"{label}: unit (id de unidad Modbus) es obligatorio")
        return None
    # Serial line §2.2: 0 is broadcast, 248..255 reserved; a TCP port may use 0..255.
    low, high = (1, 247) if bus is not None else (0, 255)
    c.in_range(unit, low, high, at("unit"), label, "unit")
    return DeviceConfig(name, model, unit, tuple(wells), MappingProxyType(dict(params)), bus,
                        host, tcp_port, None if turnaround is None else float(turnaround),
                        line, at("params"))


def parse_site(text: str, source: str = "<site>",
               models: Collection[str] | None = None) -> SiteConfig:
    """Validate a site file's text; `models` (if given) are the known model keys."""
    c = _Checker(source, text)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+), column (\d+)", str(exc))
        line, col = (int(m[1]), int(m[2])) if m else (0, 0)
        raise ValidationError([Problem(source, line, col, en=f"not valid TOML: {exc}",
                                       es=f"no es TOML válido: {exc}")]) from exc
    c.unknown_keys(raw, ("site", "bus", "device"), 0, "site file")
    for key in ("bus", "device"):
        if not isinstance(raw.get(key, []), list):
            c.add(0, f"use [[{key}]] (an array of tables) for {key}",
                  f"use [[{key}]] (arreglo de tablas) para {key}")
            raise ValidationError(c.problems)
    site = _site_table(c, raw)
    buses = _buses(c, raw)
    devices: list[DeviceConfig] = []
    for i, dev in enumerate(raw.get("device", [])):
        if not isinstance(dev, dict):
            c.add(c.where.header("device", i), f"device #{i + 1} must be a table",
                  f"device #{i + 1} debe ser una tabla")
            continue
        built = _device(c, i, dev, buses, models)
        if built is None:
            continue
        for other in devices:
            if other.name == built.name:
                c.add(built.line, f"device {built.name!r} is defined twice",
                      f"el equipo {built.name!r} está definido dos veces")
            same_bus = built.bus is not None and other.bus == built.bus
            same_port = (built.tcp_port and other.tcp_port == built.tcp_port
                         and other.host == built.host)
            if (same_bus or same_port) and other.unit == built.unit:
                where = f"bus {built.bus}" if same_bus else f"TCP port {built.tcp_port}"
                c.add(built.line, f"device {built.name!r}: unit {built.unit} on {where} is "
                      f"already used by {other.name!r}",
                      f"equipo {built.name!r}: la unidad {built.unit} en {where} ya la usa "
                      f"{other.name!r}")
        devices.append(built)
    if not devices:
        c.add(0, "the site has no [[device]]", "el sitio no tiene ningún [[device]]")
    if c.problems:
        raise ValidationError(c.problems)
    return SiteConfig(source=source, buses=tuple(buses), devices=tuple(devices), **site)


def load_site(path: Path, models: Collection[str] | None = None) -> SiteConfig:
    """Read and validate a site file; ValidationError (or OSError) if it cannot be used."""
    return parse_site(path.read_text(encoding="utf-8"), str(path), models)
