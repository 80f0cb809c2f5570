"""What forwardd publishes: Sparkplug devices, metrics, aliases, datatypes and lanes.

Device mapping (docs/sparkplug.md): one Sparkplug device per configured field device
(acq.ring tags of that device in the tag maps, plus acqd's ``_sys.<device>.<unit>.*``
health tags), ``calc`` for calc.ring (calcd's results), ``alarms`` for alarm.ring, and
one device per other ring segment under its own name.  forwardd's own ``_sys.forwardd.*``
tags and ring tags no tag map claims are node metrics.

The metric name is the tag name.  Aliases are 1, 2, … in (device, name) order and stable
for one catalog; a changed catalog (tag-map change, new ring) means a new NBIRTH.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from daemons.core.config import MqttSection
from daemons.core.sparkplug import DataType
from daemons.core.tagmap import TagMap

from .outbox import LANE_ALARMS, LANE_CALC, LANE_TRENDS

NODE = ""  # the device of node-level metrics
OWN_RING = "forward"
SEGMENT_DEVICES = {"calc": "calc", "alarm": "alarms"}
_INT_TYPES = {"int16": DataType.Int16, "uint16": DataType.UInt16, "int32": DataType.Int32,
              "uint32": DataType.UInt32, "int64": DataType.Int64, "uint64": DataType.UInt64}
# acqd's health tags `_sys.<device>.<unit>.<what>` (daemons/acqd/health.py): the flags and
# counters are whole numbers, sent as a 1–3 byte varint instead of a 9-byte double; the
# response time as a Float (a millisecond figure needs no 15 digits).
_HEALTH_TYPES = {"comm": DataType.UInt32, "response_ms": DataType.Float,
                 "success": DataType.UInt32, "timeouts": DataType.UInt32,
                 "exceptions": DataType.UInt32, "crc_errors": DataType.UInt32,
                 "demotions": DataType.UInt32, "demoted": DataType.UInt32}
# Report-by-exception defaults of the health tags that change at every poll, used when no
# [[mqtt.rbe]] rule matches: the success counter about once a minute at 1 Hz polling
# (the failure counters, comm and demoted go on every change), the response time when it
# moved more than 20 ms.  Without them these two were a fifth of the demo site's samples.
_HEALTH_DEADBANDS = {"success": 59.0, "response_ms": 20.0}


def _health_point(tag: str) -> str | None:
    parts = tag.split(".")
    if len(parts) == 4 and parts[0] == "_sys" and parts[1] != "forwardd":
        return parts[3]
    return None


@dataclass(frozen=True, slots=True)
class MetricDef:
    name: str  # the tag name
    device: str  # NODE for node metrics
    alias: int
    datatype: int
    lane: int
    deadband: float
    heartbeat: float
    is_array: bool
    writable: bool
    properties: Mapping[str, Any] = field(default_factory=dict)
    relative: float = 0.0  # relative deadband, a fraction of the last sent value


@dataclass(frozen=True)
class Catalog:
    metrics: tuple[MetricDef, ...]
    devices: tuple[str, ...]  # sorted, without NODE
    by_name: Mapping[str, int]  # tag → index in metrics
    by_alias: Mapping[int, int]

    def of_device(self, device: str) -> list[int]:
        return [i for i, m in enumerate(self.metrics) if m.device == device]

    @property
    def key(self) -> tuple:
        """Equal keys mean the same births (a changed key needs a rebirth)."""
        return tuple((m.name, m.device, m.alias, m.datatype) for m in self.metrics)


def device_of(tag: str, segment: str, tagmap: TagMap, devices: Sequence[str]) -> str:
    if segment == OWN_RING:
        return NODE
    if segment in SEGMENT_DEVICES:
        return SEGMENT_DEVICES[segment]
    if segment != "acq":
        return segment
    tdef = tagmap.get(tag)
    if tdef is not None:
        return tdef.device
    if tag.startswith("_sys."):
        dev = tag.split(".")[1]
        if dev in devices:
            return dev
    return NODE


def datatype_of(tag: str, tagmap: TagMap, is_array: bool) -> int:
    tdef = tagmap.get(tag)
    if is_array:
        # ring arrays are float64; cards (loads, positions) need no more than float32's
        # 7 digits, and FloatArray halves the bytes of the largest metrics we send
        return DataType.FloatArray
    if tdef is None:
        return _HEALTH_TYPES.get(_health_point(tag) or "", DataType.Double)
    if tdef.type in ("bool", "bit"):
        return DataType.Boolean
    unscaled = tdef.scale == 1.0 and tdef.offset == 0.0
    if tdef.type in _INT_TYPES and unscaled:
        return _INT_TYPES[tdef.type]
    if tdef.type == "float32" and unscaled:
        return DataType.Float  # the device's own float32: 4 bytes on the wire, lossless
    return DataType.Double


def rbe_of(tag: str, cfg: MqttSection, tagmap: TagMap) -> tuple[float, float]:
    """(deadband, heartbeat): the first [[mqtt.rbe]] match, else the tag map's deadband
    (or [mqtt] deadband) and [mqtt] heartbeat."""
    for rule in cfg.rbe:
        if fnmatchcase(tag, rule.tags):
            return rule.deadband, rule.heartbeat
    tdef = tagmap.get(tag)
    if tdef is not None and tdef.deadband > 0:
        return tdef.deadband, cfg.heartbeat
    health = _HEALTH_DEADBANDS.get(_health_point(tag) or "")
    return max(health or 0.0, cfg.deadband), cfg.heartbeat


def relative_of(tag: str, cfg: MqttSection, tagmap: TagMap, datatype: int,
                deadband: float, is_array: bool) -> float:
    """[mqtt] deadband_percent as a fraction, for float metrics that have no deadband
    from anywhere: no tag-map row (a tag map's explicit 0 means "every change"), no
    [[mqtt.rbe]] rule, no [mqtt] deadband.  In practice: calcd's results."""
    if deadband > 0 or is_array or tag in tagmap or datatype not in (DataType.Double,
                                                                      DataType.Float):
        return 0.0
    if any(fnmatchcase(tag, rule.tags) for rule in cfg.rbe):
        return 0.0
    return cfg.deadband_percent / 100.0


def properties_of(tag: str, units: str, tagmap: TagMap) -> dict[str, Any]:
    """Birth properties: engineering units, range and description (names of the
    Ignition/Tahu convention, so existing hosts show them)."""
    tdef = tagmap.get(tag)
    props: dict[str, Any] = {}
    unit = (tdef.units if tdef is not None and tdef.units else units) or ""
    if unit:
        props["engUnit"] = unit
    if tdef is not None:
        if tdef.min is not None:
            props["engLow"] = float(tdef.min)
        if tdef.max is not None:
            props["engHigh"] = float(tdef.max)
        if tdef.description:
            props["Documentation"] = tdef.description
    return props


def build_catalog(entries: Sequence[tuple[str, str, str, bool]], tagmap: TagMap,
                  cfg: MqttSection, devices: Sequence[str]) -> Catalog:
    """*entries*: (tag, segment, units, is_array) of every ring slot to publish."""
    rows = []
    for tag, segment, units, is_array in entries:
        device = device_of(tag, segment, tagmap, devices)
        if segment == "alarm":
            lane = LANE_ALARMS
        elif segment == "calc" or is_array:
            lane = LANE_CALC
        else:
            lane = LANE_TRENDS
        deadband, heartbeat = rbe_of(tag, cfg, tagmap)
        tdef = tagmap.get(tag)
        datatype = datatype_of(tag, tagmap, is_array)
        rows.append((device, tag, datatype, lane, deadband,
                     heartbeat, is_array, bool(tdef is not None and tdef.writable),
                     properties_of(tag, units, tagmap),
                     relative_of(tag, cfg, tagmap, datatype, deadband, is_array)))
    rows.sort(key=lambda r: (r[0], r[1]))
    metrics = tuple(MetricDef(name=r[1], device=r[0], alias=i + 1, datatype=r[2], lane=r[3],
                              deadband=r[4], heartbeat=r[5], is_array=r[6], writable=r[7],
                              properties=r[8], relative=r[9])
                    for i, r in enumerate(rows))
    return Catalog(metrics, tuple(sorted({m.device for m in metrics} - {NODE})),
                   {m.name: i for i, m in enumerate(metrics)},
                   {m.alias: i for i, m in enumerate(metrics)})


def to_value(datatype: int, raw: float) -> Any:
    """A ring float as the metric's Python value (None for NaN: is_null)."""
    if raw != raw:  # NaN
        return None
    if datatype == DataType.Boolean:
        return bool(raw)
    if datatype in (DataType.Double, DataType.Float):
        return float(raw)
    return int(raw)


def sparkplug_quality(status: int) -> int:
    """OPC UA StatusCode → the spec's Quality property: 192 good, 500 stale, 0 bad."""
    severity = (status >> 30) & 0x3
    return 192 if severity == 0 else (0 if severity == 2 else 500)
