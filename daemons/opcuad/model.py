"""What the address space holds: one variable per tag, placed in a folder, with its type.

Pure data (no asyncua server here), so a tag-map reload can be diffed as sets:

    Objects/<site>/<well>/<tag>                tag-map tags of a well
    Objects/<site>/<well>/Calculations/<tag>   calcd's results for the well
    Objects/<site>/<well>/Alarms/<tag>         alarmd's state of each of the well's alarms
    Objects/<site>/Site/<tag>                  tag-map tags without a well
    Objects/<site>/Calculations, Alarms        site-level results and alarm summaries
    Objects/<site>/System/<tag>                acqd's `_sys.*` health tags

Variables have string NodeIds equal to their tag names; folders have NodeIds that are
paths ("<site>/W101/Calculations"), which no tag name can equal (tag names have no '/').
A folder that would hold more than MAX_CHILDREN variables is split into numbered
subfolders: asyncua scans a parent's reference list on every insert (PITFALLS.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from daemons.core.tagmap import RESERVED_PREFIX, TagDef

MAX_CHILDREN = 250
CALCULATIONS = "Calculations"
ALARMS = "Alarms"
SITE = "Site"
SYSTEM = "System"
ALARM_MARK = ".ALARM."  # alarmd's slot names: W101.THP.ALARM.HI (daemons/alarmd/main.py)
ALARM_SUMMARY_PREFIX = "ALARMS."  # ALARMS.FLOOD, ALARMS.RATE_10MIN
ALARM_STATES = ("normal", "unacknowledged", "acknowledged", "rtn_unacknowledged", "shelved",
                "suppressed", "out_of_service")  # alarmd's state codes 0..6 (states.py)

# Tag-map base type -> OPC UA built-in DataType (OPC 10000-6 §5.1.2).  A scaled or offset
# integer is an engineering value with decimals: Double.
DATA_TYPES = {
    "bool": "Boolean", "bit": "Boolean", "int16": "Int16", "uint16": "UInt16",
    "int32": "Int32", "uint32": "UInt32", "int64": "Int64", "uint64": "UInt64",
    "float32": "Float", "float64": "Double", "string": "String",
}


@dataclass(frozen=True, slots=True)
class VariableSpec:
    """One variable node: everything but its live value."""

    name: str  # tag name = the string NodeId
    folder: str  # folder NodeId (a path)
    data_type: str  # OPC UA built-in type name
    length: int = 0  # array length; 0 = scalar
    units: str = ""
    low: float | None = None  # EURange
    high: float | None = None
    description: str = ""
    writable: bool = False
    well: str | None = None


@dataclass(frozen=True, slots=True)
class FolderSpec:
    node: str  # NodeId (path)
    parent: str | None  # None: under the Objects folder
    name: str  # BrowseName / DisplayName


@dataclass(frozen=True, slots=True)
class AddressModel:
    folders: tuple[FolderSpec, ...]  # parents before children
    variables: Mapping[str, VariableSpec]


def data_type(tag: TagDef) -> str:
    base = DATA_TYPES.get(tag.type, "Double")
    if base in ("Boolean", "String"):
        return base
    if tag.scale != 1.0 or tag.offset != 0.0:
        return "Double"
    return base


def _placement(name: str, segment: str, tag: TagDef | None, wells: Iterable[str]
               ) -> tuple[str | None, str | None]:
    """(well or None, subfolder or None) of one ring slot."""
    prefix = name.partition(".")[0]
    well = tag.well if tag is not None else (prefix if prefix in wells else None)
    if name.startswith(RESERVED_PREFIX):
        return None, SYSTEM
    if segment == "alarm" or ALARM_MARK in name or name.startswith(ALARM_SUMMARY_PREFIX):
        return well, ALARMS
    if segment == "calc":
        return well, CALCULATIONS
    if tag is None and segment not in ("acq", ""):
        return well, segment.capitalize()
    return well, None if well is not None else SITE


def build_model(site: str, wells: Iterable[str], tags: Mapping[str, TagDef],
                slots: Mapping[str, tuple[str, int]]) -> AddressModel:
    """The address space for the tag map `tags` and the ring slots `slots`.

    `slots` maps each ring slot name to (ring segment, array length or 0).  A tag-map tag
    not (yet) in a ring still gets its node: it reads BadWaitingForInitialData.
    """
    wells = tuple(wells)
    root = site.replace("/", "_")  # folder NodeIds are '/'-separated paths
    groups: dict[str, list[VariableSpec]] = {}
    names = dict.fromkeys([*tags, *slots])
    for name in names:
        segment, length = slots.get(name, ("acq", 0))
        tag = tags.get(name)
        well, sub = _placement(name, segment, tag, wells)
        folder = root if well is None else f"{root}/{well}"
        if sub is not None:
            folder = f"{folder}/{sub}"
        if tag is not None:
            spec = VariableSpec(name, folder, data_type(tag), tag.count if tag.count > 1 else 0,
                                tag.units, tag.min, tag.max, tag.description, tag.writable,
                                tag.well)
        elif sub == ALARMS and ALARM_MARK in name:
            spec = VariableSpec(name, folder, "Int32", 0, "", 0.0, len(ALARM_STATES) - 1,
                                "alarm state: " + ", ".join(
                                    f"{i} {s}" for i, s in enumerate(ALARM_STATES)), False, well)
        else:
            spec = VariableSpec(name, folder, "Double", length, "", None, None, "", False, well)
        groups.setdefault(folder, []).append(spec)
    folders: dict[str, FolderSpec] = {root: FolderSpec(root, None, site)}  # shown as is
    variables: dict[str, VariableSpec] = {}
    for folder in sorted(groups):
        parts = folder.split("/")
        for depth in range(2, len(parts) + 1):
            node = "/".join(parts[:depth])
            folders.setdefault(node, FolderSpec(node, "/".join(parts[:depth - 1]),
                                                parts[depth - 1]))
        members = sorted(groups[folder], key=lambda v: v.name)
        if len(members) <= MAX_CHILDREN:
            variables.update((v.name, v) for v in members)
            continue
        for k in range(0, len(members), MAX_CHILDREN):
            part = members[k:k + MAX_CHILDREN]
            label = f"{part[0].name} … {part[-1].name}"
            node = f"{folder}/{k // MAX_CHILDREN + 1:04d}"
            folders[node] = FolderSpec(node, folder, label)
            variables.update((v.name, _moved(v, node)) for v in part)
    return AddressModel(tuple(folders.values()), variables)


def _moved(v: VariableSpec, folder: str) -> VariableSpec:
    return VariableSpec(v.name, folder, v.data_type, v.length, v.units, v.low, v.high,
                        v.description, v.writable, v.well)
