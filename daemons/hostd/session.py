"""Per-edge-node Sparkplug sessions as the primary host sees them (spec 3.0, chapter 5).

For each (group, edge node): the bdSeq of its current session, the seq expected next,
its aliases (one map for the node and all its devices: aliases are unique per node) and
which devices have sent their DBIRTH.  Every message goes through `Sessions.handle`,
which hands births, deaths and samples to a `Sink` (the PostgreSQL writer) and asks for
a Rebirth (NCMD `Node Control/Rebirth`) when the host cannot trust what it has:
a seq gap, an unknown alias, or data before a birth.  Rebirth requests are limited to
one per node per `rebirth_min_interval_s`, so a flood of bad messages is not answered
with a flood of commands.

This module is I/O free: the tests drive it with plain payloads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from daemons.hostd.model import MetricRef, Sample, SpMetric, SpPayload, sample_of
from daemons.hostd.store import BirthOp, DeathOp, SampleBatch

BDSEQ = "bdSeq"
_MAX_ALIAS = (1 << 63) - 1  # metrics.alias is a bigint
DATA_KINDS = ("NDATA", "DDATA")


class Sink(Protocol):
    def birth(self, op: BirthOp) -> None: ...

    def death(self, op: DeathOp) -> None: ...

    def samples(self, batch: SampleBatch) -> bool: ...

    def rebirth_requested(self, schema: str, node: str) -> None: ...


@dataclass
class NodeSession:
    group: str
    node: str
    schema: str
    born: bool = False
    bdseq: int | None = None
    expected_seq: int | None = None
    aliases: dict[int, MetricRef] = field(default_factory=dict)
    names: dict[tuple[str | None, str], MetricRef] = field(default_factory=dict)
    devices: set[str] = field(default_factory=set)
    last_rebirth_request: float = float("-inf")
    last_stale_death_log: float = float("-inf")
    birth_ms: int | None = None
    death_ms: int | None = None
    last_message_ms: int | None = None


class Sessions:
    """Every edge node's session, fed one decoded message at a time."""

    def __init__(self, schemas: dict[str, str], sink: Sink,
                 request_rebirth: Callable[[str, str], None], log: Any, *,
                 instance: str = "", rebirth_min_interval_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.schemas = schemas  # group_id -> tenant schema
        self.sink = sink
        self.request_rebirth = request_rebirth
        self.log = log
        self.instance = instance
        self.rebirth_min_interval_s = rebirth_min_interval_s
        self.clock = clock
        self.nodes: dict[tuple[str, str], NodeSession] = {}
        self.rejected = 0

    def session(self, group: str, node: str) -> NodeSession | None:
        return self.nodes.get((group, node))

    def datatype_of(self, group: str, node: str,
                    device: str | None) -> Callable[[int | None, str | None], int | None]:
        """For decoding data messages that leave out the datatype (known from the birth)."""
        s = self.nodes.get((group, node))

        def lookup(alias: int | None, name: str | None) -> int | None:
            if s is None:
                return None
            ref = s.aliases.get(alias) if alias is not None else (
                s.names.get((device, name)) if name else None)
            return None if ref is None or ref.device != device else ref.datatype

        return lookup

    def handle(self, group: str, kind: str, node: str, device: str | None,
               payload: SpPayload, received_ms: int) -> None:
        schema = self.schemas.get(group)
        if schema is None:
            return  # not one of this instance's tenants
        s = self.nodes.get((group, node))
        if s is None:
            s = self.nodes[(group, node)] = NodeSession(group, node, schema)
        s.last_message_ms = received_ms
        if kind == "NBIRTH":
            self._nbirth(s, payload, received_ms)
        elif kind == "NDEATH":
            self._ndeath(s, payload, received_ms)
        elif not s.born:
            self._rebirth(s, f"{kind} before NBIRTH")
        elif kind == "DBIRTH":
            self._check_seq(s, payload, kind)
            self._dbirth(s, device, payload, received_ms)
        elif kind in DATA_KINDS:
            self._check_seq(s, payload, kind)
            self._data(s, device if kind == "DDATA" else None, payload, received_ms)
        elif kind == "DDEATH":
            self._check_seq(s, payload, kind)
            if device is not None:
                s.devices.discard(device)
                self.sink.death(DeathOp(schema, node, device, received_ms))
        # NCMD/DCMD are other hosts' commands: nothing to track.

    # -- births -------------------------------------------------------------------------
    def _refs(self, s: NodeSession, device: str | None, payload: SpPayload) -> list[MetricRef]:
        refs: list[MetricRef] = []
        seen_names: set[str] = set()
        seen_aliases: set[int] = set()
        for m in payload.metrics:
            if not m.name:
                raise ValueError("a metric without a name in a birth certificate")
            if "\x00" in m.name:
                raise ValueError(f"metric name {m.name!r} contains NUL")
            if m.alias is not None and m.alias > _MAX_ALIAS:
                raise ValueError(f"alias {m.alias} of '{m.name}' does not fit in 63 bits")
            if m.name in seen_names:
                raise ValueError(f"metric '{m.name}' twice in one birth certificate")
            seen_names.add(m.name)
            if m.alias is not None:
                other = s.aliases.get(m.alias)
                if m.alias in seen_aliases or (
                        other is not None and other.device != device
                        and (other.device is None or other.device in s.devices)):
                    raise ValueError(f"alias {m.alias} of '{m.name}' is not unique in the node")
                seen_aliases.add(m.alias)
            props = m.properties or {}
            refs.append(MetricRef(
                s.schema, s.node, device, m.name, m.alias, m.datatype,
                units=_text(props.get("engUnit", props.get("EngUnit"))),
                description=_text(props.get("Documentation", props.get("description"))),
                low=_number(props.get("engLow", props.get("EngLow"))),
                high=_number(props.get("engHigh", props.get("EngHigh")))))
        return refs

    def _register(self, s: NodeSession, refs: list[MetricRef]) -> None:
        for ref in refs:
            if ref.alias is not None:
                s.aliases[ref.alias] = ref
            s.names[(ref.device, ref.name)] = ref

    def _nbirth(self, s: NodeSession, payload: SpPayload, received_ms: int) -> None:
        bdseq = next((m.value for m in payload.metrics if m.name == BDSEQ), None)
        if not isinstance(bdseq, int) or isinstance(bdseq, bool):
            s.born = False
            self._reject(s, "NBIRTH without an integer bdSeq metric")
            return
        try:
            refs = self._refs(NodeSession(s.group, s.node, s.schema), None, payload)
        except ValueError as exc:
            s.born = False
            self._rebirth(s, f"invalid NBIRTH: {exc}")
            return
        # A new session: the previous one's aliases and devices are forgotten.
        s.aliases.clear()
        s.names.clear()
        s.devices.clear()
        s.born, s.bdseq, s.birth_ms = True, bdseq, received_ms
        s.expected_seq = None if payload.seq is None else (payload.seq + 1) % 256
        self._register(s, refs)
        self.sink.birth(BirthOp(s.schema, s.node, None, received_ms, refs, bdseq=bdseq,
                                instance=self.instance))
        self._store(s, _valued(refs, payload), payload, received_ms)

    def _dbirth(self, s: NodeSession, device: str | None, payload: SpPayload,
                received_ms: int) -> None:
        if device is None:
            self._reject(s, "DBIRTH without a device id")
            return
        # A device's rebirth replaces its own aliases only.
        old = [k for k, r in s.aliases.items() if r.device == device]
        for k in old:
            del s.aliases[k]
        try:
            refs = self._refs(s, device, payload)
        except ValueError as exc:
            s.devices.discard(device)
            self._rebirth(s, f"invalid DBIRTH of {device}: {exc}")
            return
        self._register(s, refs)
        s.devices.add(device)
        self.sink.birth(BirthOp(s.schema, s.node, device, received_ms, refs))
        self._store(s, _valued(refs, payload), payload, received_ms)

    def _ndeath(self, s: NodeSession, payload: SpPayload, received_ms: int) -> None:
        bdseq = next((m.value for m in payload.metrics if m.name == BDSEQ), None)
        if s.bdseq is not None and bdseq != s.bdseq:
            # The Will of an older connection, delivered late: the current session lives on.
            # (Logged at most every 10 s per node: a flood of them must not flood the log.)
            now = self.clock()
            if now - s.last_stale_death_log >= 10.0:
                s.last_stale_death_log = now
                self.log.info("stale NDEATH ignored", group=s.group, node=s.node,
                              bdseq=bdseq, session_bdseq=s.bdseq)
            return
        s.born = False
        s.devices.clear()
        s.death_ms = received_ms
        self.sink.death(DeathOp(s.schema, s.node, None, received_ms))

    # -- data ---------------------------------------------------------------------------
    def _check_seq(self, s: NodeSession, payload: SpPayload, kind: str) -> None:
        seq = payload.seq
        if seq is None or not 0 <= seq <= 255:
            self._rebirth(s, f"{kind} without a valid seq ({seq})")
            return
        if s.expected_seq is not None and seq != s.expected_seq:
            self._rebirth(s, f"seq gap: expected {s.expected_seq}, got {seq}")
        s.expected_seq = (seq + 1) % 256

    def _data(self, s: NodeSession, device: str | None, payload: SpPayload,
              received_ms: int) -> None:
        if device is not None and device not in s.devices:
            self._rebirth(s, f"DDATA of {device} before its DBIRTH")
            return
        pairs: list[tuple[MetricRef, SpMetric]] = []
        unknown: list[str] = []
        for m in payload.metrics:
            ref = s.aliases.get(m.alias) if m.alias is not None else (
                s.names.get((device, m.name)) if m.name else None)
            if ref is None or ref.device != device:
                unknown.append(str(m.alias if m.alias is not None else m.name))
                continue
            pairs.append((ref, m))
        if unknown:
            self._rebirth(s, f"unknown metric(s) {', '.join(unknown[:5])}"
                          + (f" of device {device}" if device else ""))
        self._store(s, pairs, payload, received_ms)

    def _store(self, s: NodeSession, pairs: Any, payload: SpPayload,
               received_ms: int) -> None:
        fallback = payload.timestamp_ms or received_ms
        rows: list[Sample] = []
        historical = 0
        newest: int | None = None
        for ref, m in pairs:
            if m.name == BDSEQ and ref.device is None:
                continue  # session bookkeeping, not a process value
            row = sample_of(ref, m, fallback)
            rows.append(row)
            if m.is_historical:
                historical += 1
            elif newest is None or row[0] > newest:
                newest = row[0]
        if not rows:
            return
        batch = SampleBatch(s.schema, s.node, rows, received_ms, payload.seq, historical,
                            newest)
        if not self.sink.samples(batch):
            self.rejected += len(rows)

    # -- rebirth and rejects ------------------------------------------------------------
    def _rebirth(self, s: NodeSession, reason: str) -> None:
        now = self.clock()
        if now - s.last_rebirth_request < self.rebirth_min_interval_s:
            return
        s.last_rebirth_request = now
        self.log.warning("rebirth requested", group=s.group, node=s.node, reason=reason)
        self.request_rebirth(s.group, s.node)
        self.sink.rebirth_requested(s.schema, s.node)

    def _reject(self, s: NodeSession, reason: str) -> None:
        self.rejected += 1
        self._rebirth(s, reason)


def _text(v: Any) -> str | None:
    return v.replace("\x00", "\ufffd") if isinstance(v, str) else None  # no NUL in text


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _valued(refs: list[MetricRef], payload: SpPayload) -> list[tuple[MetricRef, Any]]:
    """A birth's metrics that carry a value.  A birth lists every metric the node will
    send; one with is_null has no value yet (never written since the edge started), which
    is metadata, not a sample: stored, it would be a NULL at the birth's time that the
    device never produced.  A null in NDATA/DDATA (a value that became unknown) is kept."""
    return [(r, m) for r, m in zip(refs, payload.metrics, strict=True) if not m.is_null]
