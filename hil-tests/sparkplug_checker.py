"""A Sparkplug B 3.0 edge-node conformance checker that watches the broker.

The Eclipse TCK cannot run here (PITFALLS), so this is ours: `Recorder` is a plain MQTT
subscriber on ``spBv1.0/#`` (gmqtt, its own thread and event loop) that keeps every
message with its QoS and retain flag; `check_edge_node` replays the recording through the
edge-node rules one by one and returns the violations, plus every sample it saw per
(device, metric), so a test can prove nothing was lost or duplicated.

Every payload is decoded twice: with wellgate's codec and with an independent
implementation (pysparkplug's schema and value decoding); any disagreement is a violation.

Rules checked (ids in the violation text):
  topic       topics and ids of the namespace; only our group/edge node
  nbirth      seq 0; bdSeq (Int64); Node Control/Rebirth (Boolean); every metric with name,
              alias, datatype, timestamp and value or is_null
  seq         every message but NDEATH has seq, +1 per message, 0–255 wrapping
  bdseq       each new session's bdSeq is the previous + 1 (mod 256); NDEATH's bdSeq is the
              session's; a Rebirth keeps it
  alias       aliases unique per node across NBIRTH and DBIRTHs
  dbirth      DBIRTH before any DDATA of that device (and again after a DDEATH)
  names       names only in births; data metrics by alias, each with a timestamp
  order       a metric that appears more than once in one live DATA payload (a batch)
              appears in time order, so a host keeping the last value it reads is right
  qos         NDEATH delivered at QoS 1, births and data at QoS 0, nothing retained
  decode      our decoder and the independent one agree
"""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from gmqtt import Client

from daemons.core.sparkplug import (
    BDSEQ,
    COMPRESSED_UUID,
    REBIRTH,
    DataType,
    Payload,
    PayloadError,
    TopicError,
    decode_payload,
    parse_topic,
    read_metric,
)

try:  # the independent decoder
    import pysparkplug as _ps
except ImportError:  # pragma: no cover - pyproject's test extra installs it
    _ps = None


@dataclass(frozen=True)
class Msg:
    at: float
    topic: str
    payload: bytes
    qos: int
    retain: bool


class Recorder:
    """Records every message on spBv1.0/# of one broker (start/stop from any thread)."""

    def __init__(self, host: str, port: int, topic: str = "spBv1.0/#") -> None:
        self.host, self.port, self.topic = host, port, topic
        self.messages: list[Msg] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._client: Client | None = None

    def start(self) -> Recorder:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._connect(), self._loop).result(15)
        return self

    async def _connect(self) -> None:
        client = Client(f"checker-{time.monotonic_ns()}", clean_session=True)

        def on_message(_c: Any, topic: str, payload: bytes, qos: int, props: Any) -> int:
            retain = bool(props.get("retain")) if isinstance(props, dict) else False
            with self._lock:
                self.messages.append(Msg(time.monotonic(), topic, payload, qos, retain))
            return 0

        client.on_message = on_message
        await client.connect(self.host, self.port, keepalive=10, version=4)
        client.subscribe(self.topic, qos=1)
        await asyncio.sleep(0.3)
        self._client = client

    def stop(self) -> None:
        if not self._thread.is_alive():
            return  # stopped already (tests stop a recorder early, then again in cleanup)

        async def _stop() -> None:
            if self._client is not None:
                await self._client.disconnect()
            # gmqtt's reconnect after a broker outage sleeps in a task of its own, which
            # disconnect() leaves pending ("Task was destroyed but it is pending!").
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(5)
        except Exception:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def snapshot(self) -> list[Msg]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, predicate: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.snapshot()):
                return True
            time.sleep(0.1)
        return False


def count(msgs: list[Msg], message_type: str) -> int:
    return sum(1 for m in msgs if f"/{message_type}/" in m.topic)


@dataclass
class Sample:
    ts_ms: int
    value: Any
    historical: bool
    kind: str  # NBIRTH DBIRTH NDATA DDATA


@dataclass
class Report:
    violations: list[str] = field(default_factory=list)
    samples: dict[tuple[str, str], list[Sample]] = field(default_factory=lambda:
                                                       defaultdict(list))
    bdseqs: list[int] = field(default_factory=list)  # of each NBIRTH (session or rebirth)
    sessions: int = 0
    messages: int = 0

    def add(self, rule: str, msg: Msg | None, text: str) -> None:
        where = f" [{msg.topic}]" if msg is not None else ""
        self.violations.append(f"{rule}: {text}{where}")

    def unique(self, key: tuple[str, str]) -> dict[int, Any]:
        """Samples of one metric by timestamp (a host stores each (metric, ts) once)."""
        out: dict[int, Any] = {}
        for s in self.samples.get(key, []):
            out.setdefault(s.ts_ms, s.value)
        return out


def _inflate(raw: bytes) -> bytes:
    p = Payload.FromString(raw)
    if p.uuid != COMPRESSED_UUID:
        return raw
    return zlib.decompress(p.body)


def _independent(kind: str, raw: bytes, birth: Any) -> Any:
    if _ps is None:
        return None
    raw = _inflate(raw)
    cls = {"NBIRTH": _ps.NBirth, "DBIRTH": _ps.DBirth, "NDATA": _ps.NData,
           "DDATA": _ps.DData}[kind]
    return cls.decode(raw, birth=birth)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def check_edge_node(msgs: list[Msg], group_id: str, edge_node_id: str) -> Report:
    r = Report()
    seq: int | None = None
    bdseq: int | None = None
    aliases: dict[int, tuple[str, str, int]] = {}  # alias → (device, name, datatype)
    born: set[str] = set()
    ind_births: dict[str, Any] = {}
    for msg in msgs:
        r.messages += 1
        try:
            t = parse_topic(msg.topic)
        except TopicError as exc:
            r.add("topic", msg, str(exc))
            continue
        if t.is_state:
            continue
        if (t.group_id, t.edge_node_id) != (group_id, edge_node_id):
            r.add("topic", msg, "message of another edge node")
            continue
        if msg.retain:
            r.add("qos", msg, "retained")
        kind = t.message_type
        if kind in ("NCMD", "DCMD"):
            continue
        want_qos = 1 if kind == "NDEATH" else 0
        if msg.qos != want_qos:
            r.add("qos", msg, f"{kind} delivered at QoS {msg.qos}, expected {want_qos}")
        try:
            p = decode_payload(msg.payload)
        except PayloadError as exc:
            r.add("decode", msg, str(exc))
            continue
        if kind == "NDEATH":
            names = {m.name: m for m in p.metrics}
            if BDSEQ not in names or names[BDSEQ].datatype != DataType.Int64:
                r.add("bdseq", msg, "NDEATH without an Int64 bdSeq")
            elif seq is not None and bdseq is not None and \
                    read_metric(names[BDSEQ]).value != bdseq:
                # Ending a live session, NDEATH carries that session's bdSeq.  (A Will of
                # a later connection that never reached its NBIRTH carries its own.)
                r.add("bdseq", msg, f"NDEATH bdSeq {read_metric(names[BDSEQ]).value} "
                      f"ends the session of bdSeq {bdseq}")
            if p.HasField("seq"):
                r.add("seq", msg, "NDEATH carries a seq")
            seq = None
            born.clear()
            continue
        if not p.HasField("seq"):
            r.add("seq", msg, f"{kind} without seq")
        elif kind == "NBIRTH":
            if p.seq != 0:
                r.add("nbirth", msg, f"NBIRTH seq {p.seq}, expected 0")
        elif seq is None:
            r.add("seq", msg, f"{kind} before any NBIRTH")
        elif p.seq != (seq + 1) % 256:
            r.add("seq", msg, f"seq {p.seq} after {seq}")
        seq = p.seq if p.HasField("seq") else seq
        if kind == "NBIRTH":
            _nbirth(r, msg, p, aliases, born)
            new_bdseq = r.bdseqs[-1] if r.bdseqs else None
            if bdseq is not None and new_bdseq is not None and new_bdseq not in (
                    bdseq, (bdseq + 1) % 256):
                r.add("bdseq", msg, f"bdSeq {new_bdseq} after {bdseq}")
            if new_bdseq != bdseq:
                r.sessions += 1
            bdseq = new_bdseq
            ind_births = {}
        device = t.device_id or ""
        if kind == "DBIRTH":
            born.add(device)
            _birth_metrics(r, msg, p, device, aliases)
        if kind == "DDEATH":
            born.discard(device)
            continue
        if kind == "DDATA" and device not in born:
            r.add("dbirth", msg, f"DDATA of {device!r} before its DBIRTH")
        is_birth = kind in ("NBIRTH", "DBIRTH")
        ours = []
        newest: dict[int, int] = {}  # alias → newest live timestamp read in this payload
        for m in p.metrics:
            if not is_birth and not m.is_historical and m.HasField("timestamp"):
                if m.timestamp < newest.get(m.alias, 0):
                    r.add("order", msg, f"alias {m.alias} at {m.timestamp} after "
                          f"{newest[m.alias]} in one payload")
                newest[m.alias] = max(m.timestamp, newest.get(m.alias, 0))
            if not is_birth:
                if m.HasField("name") and m.name:
                    r.add("names", msg, f"name {m.name!r} in {kind}")
                if not m.HasField("timestamp"):
                    r.add("names", msg, f"metric alias {m.alias} without timestamp")
                if m.alias not in aliases:
                    r.add("alias", msg, f"unknown alias {m.alias}")
                    continue
                dev, name, dt = aliases[m.alias]
                if dev != device:
                    r.add("alias", msg, f"alias {m.alias} belongs to device {dev!r}")
            else:
                if m.name == BDSEQ or not m.HasField("alias"):
                    continue
                dev, name, dt = device, m.name, m.datatype
            try:
                v = read_metric(m, dt)
            except PayloadError as exc:
                r.add("decode", msg, str(exc))
                continue
            ours.append((name, v))
            r.samples[(device, name)].append(Sample(v.timestamp_ms or 0, v.value,
                                                    v.is_historical, kind))
        _compare(r, msg, kind, device, ours, ind_births)
    return r


def _nbirth(r: Report, msg: Msg, p: Any, aliases: dict, born: set) -> None:
    names = {m.name: m for m in p.metrics}
    if BDSEQ not in names or names[BDSEQ].datatype != DataType.Int64:
        r.add("nbirth", msg, "no Int64 bdSeq metric")
    else:
        r.bdseqs.append(read_metric(names[BDSEQ]).value)
    reb = names.get(REBIRTH)
    if reb is None or reb.datatype != DataType.Boolean:
        r.add("nbirth", msg, f"no Boolean {REBIRTH!r} metric")
    aliases.clear()
    born.clear()
    _birth_metrics(r, msg, p, "", aliases)


def _birth_metrics(r: Report, msg: Msg, p: Any, device: str, aliases: dict) -> None:
    for m in p.metrics:
        if m.name == BDSEQ:
            continue
        for fld in ("name", "alias", "datatype", "timestamp"):
            if not m.HasField(fld):
                r.add("nbirth", msg, f"metric {m.name or m.alias!r} without {fld}")
        if m.WhichOneof("value") is None and not m.is_null:
            r.add("nbirth", msg, f"metric {m.name!r} has neither a value nor is_null")
        if m.alias in aliases and aliases[m.alias][:2] != (device, m.name):
            r.add("alias", msg, f"alias {m.alias} used for {aliases[m.alias][1]!r} and "
                  f"{m.name!r}")
        aliases[m.alias] = (device, m.name, m.datatype)


def _compare(r: Report, msg: Msg, kind: str, device: str, ours: list, births: dict) -> None:
    """The independent decoder must read the same names, values and timestamps."""
    if _ps is None:
        return
    try:
        if kind in ("NBIRTH", "DBIRTH"):
            theirs = _independent(kind, msg.payload, None)
            births[device] = theirs
        else:
            theirs = _independent(kind, msg.payload, births.get(device))
    except Exception as exc:
        r.add("decode", msg, f"independent decoder failed: {exc!r}")
        return
    got = [(m.name, m.value, m.timestamp, m.is_historical) for m in theirs.metrics
           if m.name != BDSEQ and (kind not in ("NBIRTH", "DBIRTH") or m.alias is not None)]
    want = [(n, v.value, v.timestamp_ms, v.is_historical) for n, v in ours]
    if len(got) != len(want) or not all(
            g[0] == w[0] and _same(_norm(g[1]), _norm(w[1])) and g[2] == w[2] and g[3] == w[3]
            for g, w in zip(got, want, strict=False)):
        r.add("decode", msg, f"decoders disagree: ours {want[:3]}… theirs {got[:3]}…")


def _norm(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    return v
