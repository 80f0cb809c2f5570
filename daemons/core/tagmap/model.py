"""Tag-map definitions: what a technician's CSV row means once it has been validated.

A tag map says, for every tag, where its value lives on a Modbus device and how to turn the
raw registers into an engineering value.  acqd polls from it, calcd finds inputs by
(well, role), opcuad and forwardd publish its names.  Everything here is frozen: a tag map
is validated once, at the edge (daemons/core/tagmap/parse.py), and then only read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

# Modbus data model (Modbus Application Protocol Specification V1.1b3, §4.3): four tables,
# each addressed 0..65535 on the wire.
TABLES = ("hr", "ir", "co", "di")
REGISTER_TABLES = ("hr", "ir")
BIT_TABLES = ("co", "di")
INPUT_TABLES = ("ir", "di")  # read-only by the protocol: no write function codes exist
TABLE_NAMES = MappingProxyType({
    "hr": "holding register", "ir": "input register", "co": "coil", "di": "discrete input",
})
TABLE_NAMES_ES = MappingProxyType({
    "hr": "registro de retención", "ir": "registro de entrada", "co": "bobina",
    "di": "entrada discreta",
})
ADDRESS_SPACE = 65536

# Word/byte orders of multi-register values; ABCD is the big-endian order the Modbus spec
# uses for single registers (§4.2), the others are what vendors actually ship.
ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
ACCESS = ("r", "rw")

# Registers per value of each base type (bool: one coil/input bit; bit: one register,
# of which one bit is used; string: given per tag as string:N).
REGISTERS = MappingProxyType({
    "bool": 1, "bit": 1, "int16": 1, "uint16": 1, "int32": 2, "uint32": 2,
    "int64": 4, "uint64": 4, "float32": 2, "float64": 4, "string": 0,
})
BASE_TYPES = tuple(REGISTERS)
# As a technician writes them (for error messages and the reference).
TYPE_SYNTAX = ("bool", "bit:N", "int16", "uint16", "int32", "uint32", "int64", "uint64",
               "float32", "float64", "string:N")
BITS_PER_REGISTER = 16

# The CSV columns, in the canonical order write_tagmap_csv uses.
COLUMNS = ("tag", "device", "unit", "table", "address", "type", "order", "scale", "offset",
           "units", "scan", "deadband", "access", "min", "max", "well", "role", "description")
REQUIRED_COLUMNS = ("tag", "device", "table", "address", "type")

MAX_TAG_LENGTH = 128
RESERVED_PREFIX = "_sys."  # acqd's generated health tags (device status, poll counts)

# Modbus unit (slave) id ranges: on a serial line 0 is broadcast and 248-255 are reserved
# (Modbus over Serial Line V1.02 §2.2); over TCP the unit id is one byte that gateways use
# to route, and 0 or 255 address the device itself (Modbus Messaging on TCP/IP V1.0b §4.4.2).
RTU_UNITS = (1, 247)
TCP_UNITS = (0, 255)


def unit_range(protocol: str) -> tuple[int, int]:
    """Valid unit ids for a device protocol ('modbus-rtu', 'modbus-tcp', ...)."""
    p = protocol.lower()
    return RTU_UNITS if ("rtu" in p or "serial" in p) else TCP_UNITS


def format_type(base: str, bit: int | None = None, string_registers: int = 0,
                count: int = 1) -> str:
    """The type column as written in a tag map: 'bit:3', 'string:8', 'int16[200]'."""
    text = base
    if base == "bit":
        text = f"bit:{bit}"
    elif base == "string":
        text = f"string:{string_registers}"
    return f"{text}[{count}]" if count != 1 else text


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """What the tag-map parser needs to know about one `[[device]]` of the gateway config."""

    name: str
    protocol: str  # 'modbus-rtu' or 'modbus-tcp'
    unit: int | None = None  # the device's default unit id, if it has one


@dataclass(frozen=True, slots=True)
class TagMapContext:
    """The parts of the gateway configuration a tag map refers to."""

    devices: Mapping[str, DeviceRef]
    wells: Mapping[str, str]  # well id -> well type (see daemons/core/roles.py WELL_TYPES)
    scans: Sequence[str]  # scan class names, fastest first

    def __post_init__(self) -> None:
        # Copy into read-only containers so a context can be shared between threads.
        object.__setattr__(self, "devices", MappingProxyType(dict(self.devices)))
        object.__setattr__(self, "wells", MappingProxyType(dict(self.wells)))
        object.__setattr__(self, "scans", tuple(self.scans))

    @classmethod
    def from_config(cls, config: Any) -> TagMapContext:
        """From a validated gateway config (devices, wells, scans as in daemons.core.config)."""
        devices = {name: DeviceRef(d.name, d.protocol, d.unit)
                   for name, d in config.devices.items()}
        wells = {wid: w.type for wid, w in config.wells.items()}
        # The config promises fastest first; a stable sort keeps that promise if it slips.
        scans = [s.name for s in sorted(config.scans.values(), key=lambda s: s.interval)]
        return cls(devices, wells, scans)


@dataclass(frozen=True, slots=True)
class TagDef:
    """One tag-map row, fully resolved: defaults applied, unit taken from the device if blank."""

    name: str
    device: str
    unit: int
    table: str
    address: int
    type: str  # base type: bool bit int16 uint16 int32 uint32 int64 uint64 float32 float64 string
    bit: int | None = None  # for bit:N, 0 = least significant
    count: int = 1  # array length (1 = scalar)
    string_registers: int = 0  # for string:N, else 0
    order: str = "ABCD"
    scale: float = 1.0
    offset: float = 0.0
    units: str = ""
    scan: str = ""
    deadband: float = 0.0
    access: str = "r"
    min: float | None = None
    max: float | None = None
    well: str | None = None
    role: str | None = None
    description: str = ""
    file: str = ""
    line: int = 0

    @property
    def registers_per_value(self) -> int:
        """16-bit registers (or bits, on co/di) of one element."""
        if self.type == "string":
            return self.string_registers
        return REGISTERS[self.type]

    @property
    def total_registers(self) -> int:
        """Registers (bits on co/di) the whole tag occupies, arrays included."""
        return self.registers_per_value * self.count

    @property
    def is_array(self) -> bool:
        return self.count > 1

    @property
    def writable(self) -> bool:
        return self.access == "rw"

    @property
    def end_address(self) -> int:
        """First address after the tag (exclusive end)."""
        return self.address + self.total_registers

    @property
    def type_spec(self) -> str:
        """The type column as a technician writes it, e.g. 'float32[100]'."""
        return format_type(self.type, self.bit, self.string_registers, self.count)

    def definition(self) -> dict[str, Any]:
        """Every field except where it was written (file, line): what the tag *is*."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("file", "line")}


@dataclass(frozen=True)
class TagMap:
    """All tags of a gateway, from one or more CSV files, as one installed version."""

    tags: tuple[TagDef, ...]
    version: int = 0
    files: tuple[str, ...] = ()
    _index: Mapping[str, TagDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "files", tuple(self.files))
        object.__setattr__(self, "_index", MappingProxyType({t.name: t for t in self.tags}))

    def __getitem__(self, name: str) -> TagDef:
        return self._index[name]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __len__(self) -> int:
        return len(self.tags)

    def __iter__(self) -> Iterator[TagDef]:
        return iter(self.tags)

    def get(self, name: str) -> TagDef | None:
        return self._index.get(name)

    def by_device(self) -> Mapping[str, tuple[TagDef, ...]]:
        """Tags grouped by device name, each group in map order (acqd plans reads per device)."""
        groups: dict[str, list[TagDef]] = {}
        for t in self.tags:
            groups.setdefault(t.device, []).append(t)
        return MappingProxyType({k: tuple(v) for k, v in groups.items()})

    def find_role(self, well: str | None, role: str) -> TagDef | None:
        """The tag that carries `role` for `well` (None = site tag), as calcd looks it up."""
        for t in self.tags:
            if t.well == well and t.role == role:
                return t
        return None

    def fingerprint(self) -> str:
        """SHA-256 of the definitions, independent of file paths, lines and row order.

        Two maps with the same fingerprint define the same tags the same way, so a daemon can
        tell a real change from a re-saved or re-ordered file.
        """
        items = sorted((t.definition() for t in self.tags), key=lambda d: d["name"])
        text = json.dumps(items, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
