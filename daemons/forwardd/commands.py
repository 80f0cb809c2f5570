"""NCMD and DCMD: Sparkplug commands from the cloud, checked before anything is done.

- NCMD ``Node Control/Rebirth`` = true resends every birth.  Any other node command is
  rejected.
- DCMD metric writes (by name or alias) go to acqd's command API only for tags that are
  ``access=rw`` in the tag maps *and* match ``[mqtt] command_tags``, with the identity
  ``sparkplug:<primary host id>`` and source ``forwardd``; acqd then authorizes them with
  the access module (the roles and scope of the gateway user ``sparkplug-<host id>``)
  and writes the audit entry.  Without a configured primary host there is no identity to
  write as, and DCMD writes are rejected.
- Everything malformed (undecodable payload, unknown device, alias or name, wrong
  datatype, out-of-range value) is rejected with one log line; nothing raises out of here.
- A well-formed write to a known tag that this gateway does not allow (not ``access=rw``,
  not in ``[mqtt] command_tags``) is *denied*: forwardd logs it and writes a
  ``tag.write.denied`` audit entry as ``sparkplug:<host id>``, as webd and opcuad do for
  their users; it never reaches acqd.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from daemons.core.sparkplug import (
    REBIRTH,
    DataType,
    PayloadError,
    SparkplugValueError,
    Topic,
    decode_payload,
    read_metric,
)

from .catalog import Catalog

_NUMERIC = {DataType.Int8, DataType.Int16, DataType.Int32, DataType.Int64, DataType.UInt8,
            DataType.UInt16, DataType.UInt32, DataType.UInt64, DataType.Float,
            DataType.Double, DataType.Boolean}


@dataclass(frozen=True, slots=True)
class Write:
    tag: str
    value: float


@dataclass(frozen=True, slots=True)
class Denied:
    tag: str
    value: float
    why: str


@dataclass(frozen=True, slots=True)
class Decision:
    rebirth: bool = False
    writes: tuple[Write, ...] = ()
    rejected: tuple[str, ...] = ()  # one reason per malformed metric (or payload)
    denied: tuple[Denied, ...] = ()  # well-formed writes this gateway does not allow


def allowed(tag: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(tag, p) for p in patterns)


def decide(topic: Topic, payload: bytes, catalog: Catalog, *, host_id: str,
           command_tags: tuple[str, ...], writable: frozenset[str]) -> Decision:
    """What an NCMD/DCMD asks for, and what of it is refused (never raises)."""
    try:
        p = decode_payload(payload)
    except PayloadError as exc:
        return Decision(rejected=(f"{topic.message_type}: {exc}",))
    if topic.message_type == "NCMD":
        return _node(p)
    return _device(topic, p, catalog, host_id, command_tags, writable)


def _node(p: Any) -> Decision:
    rebirth, rejected = False, []
    for m in p.metrics:
        name = m.name if m.HasField("name") else None
        if name == REBIRTH:
            try:
                value = read_metric(m, DataType.Boolean).value
            except PayloadError as exc:
                rejected.append(f"NCMD {REBIRTH}: {exc}")
                continue
            if value is True:
                rebirth = True
            else:
                rejected.append(f"NCMD {REBIRTH} must be true, got {value!r}")
        else:
            rejected.append(f"NCMD metric {name or m.alias!r} is not a node command")
    if not p.metrics:
        rejected.append("NCMD without metrics")
    return Decision(rebirth=rebirth, rejected=tuple(rejected))


def _device(topic: Topic, p: Any, catalog: Catalog, host_id: str,
            command_tags: tuple[str, ...], writable: frozenset[str]) -> Decision:
    writes: list[Write] = []
    rejected: list[str] = []
    denied: list[Denied] = []
    where = f"DCMD {topic.device_id}"
    if topic.device_id not in catalog.devices:
        return Decision(rejected=(f"{where}: unknown device",))
    if not host_id:
        return Decision(rejected=(f"{where}: writes need [mqtt] primary_host_id (the "
                                  "identity commands are written as)",))
    if not p.metrics:
        return Decision(rejected=(f"{where}: no metrics",))
    for m in p.metrics:
        index = None
        if m.HasField("name") and m.name:
            index = catalog.by_name.get(m.name)
        elif m.HasField("alias"):
            index = catalog.by_alias.get(m.alias)
        label = m.name or f"alias {m.alias}"
        if index is None:
            rejected.append(f"{where}: unknown metric {label!r}")
            continue
        mdef = catalog.metrics[index]
        if mdef.device != topic.device_id:
            rejected.append(f"{where}: metric {label!r} belongs to device {mdef.device!r}")
            continue
        if mdef.datatype not in _NUMERIC:
            rejected.append(f"{where}: metric {mdef.name!r} is not writable (not a scalar)")
            continue
        datatype = mdef.datatype
        if m.HasField("datatype") and m.datatype != mdef.datatype:
            if m.datatype not in _NUMERIC:  # a number of another type is still a number
                rejected.append(f"{where}: metric {mdef.name!r} has datatype {m.datatype}, "
                                f"its birth says {mdef.datatype}")
                continue
            datatype = m.datatype
        try:
            value = read_metric(m, datatype).value
        except (PayloadError, SparkplugValueError) as exc:
            rejected.append(f"{where}: {exc}")
            continue
        if value is None:
            rejected.append(f"{where}: metric {mdef.name!r} has a null value")
            continue
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            rejected.append(f"{where}: metric {mdef.name!r} value is not finite")
            continue
        if mdef.name not in writable:
            denied.append(Denied(mdef.name, number, "not access=rw in the tag maps"))
        elif not allowed(mdef.name, command_tags):
            denied.append(Denied(mdef.name, number, "not in [mqtt] command_tags"))
        else:
            writes.append(Write(mdef.name, number))
    return Decision(writes=tuple(writes), rejected=tuple(rejected), denied=tuple(denied))
