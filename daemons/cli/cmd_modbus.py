"""`wellgate modbus read | write | scan`: direct device tests for commissioning.

They talk to a device with acqd's own drivers (the same framing, timing and error
translation the daemon uses), so what a technician sees here is what acqd will see.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from daemons.acqd.decode import decode_tag, encode_value, raw_value
from daemons.acqd.drivers import Link, ModbusError, NoResponse, open_link
from daemons.cli.common import EXIT_INVALID, EXIT_OK, CommandError, Console, load_gateway
from daemons.core.config import DeviceConfig, GatewayConfig
from daemons.core.tagmap import TagDef, TagMapContext, parse_tagmap_bytes

TABLES = ("hr", "ir", "co", "di")
T = TypeVar("T")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("modbus", parents=[common], help="read, write and scan devices directly")
    inner = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (("read", "read registers or bits"), ("write", "write registers or bits")):
        q = inner.add_parser(name, parents=[common], help=text)
        q.add_argument("--device", required=True, help="a [[device]] name")
        q.add_argument("--unit", type=int, help="unit id (default: the device's)")
        q.add_argument("--table", required=True, choices=TABLES)
        q.add_argument("--address", required=True, type=int, help="0-based address")
        q.add_argument("--type", help="decode/encode as this tag-map type, e.g. float32")
        q.add_argument("--order", default="ABCD", help="word order (ABCD CDAB BADC DCBA)")
        q.add_argument("--scale", default="1", help="engineering = raw × scale + offset")
        q.add_argument("--offset", default="0")
        if name == "read":
            q.add_argument("--count", type=int, default=1,
                           help="registers/bits (or values, with --type)")
            q.set_defaults(func=read, with_console=True)
        else:
            q.add_argument("values", nargs="+", metavar="VALUE")
            q.set_defaults(func=write, with_console=True)
    s = inner.add_parser("scan", parents=[common], help="which unit ids answer")
    s.add_argument("--device", required=True)
    s.add_argument("--units", default="1-247", help="ids to try, e.g. 1-10,17 (default 1-247)")
    s.add_argument("--timeout", type=float, default=0.2, help="seconds per unit (default 0.2)")
    s.set_defaults(func=scan, with_console=True)


def _device(cfg: GatewayConfig, name: str) -> DeviceConfig:
    device = cfg.devices.get(name)
    if device is None:
        known = ", ".join(cfg.devices) or "-"
        raise CommandError(f"unknown device '{name}' (devices: {known})",
                           f"equipo desconocido '{name}' (equipos: {known})")
    return device


def typed_tag(cfg: GatewayConfig, args: argparse.Namespace, count: int) -> TagDef:
    """A one-off tag for --type, validated by the tag-map parser itself."""
    type_spec = args.type if count == 1 else f"{args.type}[{count}]"
    unit = "" if args.unit is None else str(args.unit)
    row = (f"tag,device,unit,table,address,type,order,scale,offset\nCLI,{args.device},{unit},"
           f"{args.table},{args.address},{type_spec},{args.order},{args.scale},{args.offset}\n")
    ctx = TagMapContext.from_config(cfg)
    tags, problems = parse_tagmap_bytes(row.encode(), "--type", ctx)
    if problems:
        raise CommandError("; ".join(p.message("en") for p in problems),
                           "; ".join(p.message("es") for p in problems))
    return tags[0]


def _unit(device: DeviceConfig, unit: int | None) -> int:
    if unit is not None:
        return unit
    if device.unit is None:
        raise CommandError(f"device '{device.name}' has no unit: give --unit",
                           f"el equipo '{device.name}' no tiene unidad: indique --unit")
    return device.unit


async def _with_link(device: DeviceConfig, work: Callable[[Link], Awaitable[T]]) -> T:
    link = open_link(device)
    try:
        return await work(link)
    except ModbusError as exc:
        busy = device.protocol == "modbus-rtu" and "temporarily unavailable" in str(exc)
        if busy:  # acqd holds the port (one master per RS-485 bus)
            raise CommandError(
                f"{device.serial_port} is in use (by acqd?): stop acqd to test the line "
                "directly, or use `wellgate tagmap check` / `wellgate write`",
                f"{device.serial_port} está en uso (¿por acqd?): detenga acqd para probar "
                "la línea, o use `wellgate tagmap check` / `wellgate write`") from exc
        raise CommandError(f"{device.name}: {exc}", f"{device.name}: {exc}") from exc
    finally:
        await link.close()


def read(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    device = _device(cfg, args.device)
    tag = typed_tag(cfg, args, args.count) if args.type else None
    unit = tag.unit if tag else _unit(device, args.unit)
    count = tag.total_registers if tag else args.count
    words = asyncio.run(_with_link(device, lambda link: link.read(
        unit, args.table, args.address, count, timeout=device.timeout)))
    for i, w in enumerate(words):
        if args.table in ("co", "di"):
            console.say(f"{args.table} {args.address + i:>5}  {w}")
        else:
            console.say(f"{args.table} {args.address + i:>5}  0x{w:04X}  {w:>5}  "
                        f"{w - 65536 if w > 32767 else w:>6}")
    if tag is not None:
        value = decode_tag(tag, words)
        shown = value if isinstance(value, str | tuple) else (
            " ".join(f"{v:g}" for v in value) if hasattr(value, "__len__") else f"{value:g}")
        console.say(f"{tag.type_spec} {tag.order}: {shown}")
        if tag.count == 1 and tag.type != "string":
            console.say(f"raw: {raw_value(tag, words)}")
    return EXIT_OK


def write(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    device = _device(cfg, args.device)
    if args.type:
        tag = typed_tag(cfg, args, 1)
        unit = tag.unit
        words: list[int] = []
        for text in args.values:
            try:
                words.extend(encode_value(tag, float(text)))
            except ValueError as exc:
                raise CommandError(str(exc), getattr(exc, "es", str(exc))) from exc
    else:
        unit = _unit(device, args.unit)
        try:
            words = [int(v, 0) for v in args.values]
        except ValueError as exc:
            raise CommandError(f"values must be integers (or give --type): {args.values}",
                               f"los valores deben ser enteros (o indique --type): "
                               f"{args.values}") from exc
    if args.table in ("ir", "di"):
        raise CommandError(f"'{args.table}' is read-only in Modbus",
                           f"'{args.table}' es de solo lectura en Modbus")
    limit = 0xFFFF if args.table == "hr" else 1
    bad = [w for w in words if not 0 <= w <= limit]
    if bad:
        raise CommandError(f"out of range for {args.table}: {bad}",
                           f"fuera de rango para {args.table}: {bad}")
    asyncio.run(_with_link(device, lambda link: link.write(
        unit, args.table, args.address, words, timeout=device.timeout)))
    console.say(f"wrote {len(words)} value(s) to {args.table} {args.address} (unit {unit})",
                f"escritos {len(words)} valor(es) en {args.table} {args.address} "
                f"(unidad {unit})")
    return EXIT_OK


def parse_units(text: str) -> list[int]:
    units: set[int] = set()
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not m:
            raise CommandError(f"bad unit list '{text}' (e.g. 1-10,17)",
                               f"lista de unidades inválida '{text}' (p. ej. 1-10,17)")
        lo, hi = int(m[1]), int(m[2] or m[1])
        if not 0 <= lo <= hi <= 255:
            raise CommandError(f"units must be 0-255: '{part}'",
                               f"las unidades deben ser 0-255: '{part}'")
        units.update(range(lo, hi + 1))
    return sorted(units)


async def _scan(device: DeviceConfig, units: Sequence[int], timeout: float) -> list[tuple]:
    found = []
    link = open_link(device)
    try:
        for unit in units:
            try:
                await link.read(unit, "hr", 0, 1, timeout=timeout)
                found.append((unit, "ok"))
            except NoResponse:
                continue
            except ModbusError as exc:  # an exception reply still proves the unit is there
                found.append((unit, str(exc)))
    finally:
        await link.close()
    return found


def scan(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    device = _device(cfg, args.device)
    units = parse_units(args.units)
    console.say(f"scanning {len(units)} unit id(s) on {device.bus} …",
                f"buscando {len(units)} unidad(es) en {device.bus} …")
    found = asyncio.run(_scan(device, units, args.timeout))
    for unit, note in found:
        console.say(f"  unit {unit:>3} answers  ({note})", f"  unidad {unit:>3} responde  "
                    f"({note})")
    if not found:
        console.say("no unit answered", "ninguna unidad respondió")
        return EXIT_INVALID
    return EXIT_OK

