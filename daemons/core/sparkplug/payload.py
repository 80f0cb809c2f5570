"""Sparkplug B payloads: build, read, encode, decode, DEFLATE/GZIP compression, STATE.

Compression follows the convention of Eclipse Tahu (the reference implementation; the
spec names compression but leaves the wire form to it): the whole encoded payload is
compressed into the ``body`` of an outer payload whose ``uuid`` is ``SPBV1.0_COMPRESSED``,
with a String metric ``algorithm`` = ``DEFLATE`` (zlib stream, RFC 1950) or ``GZIP``; the
outer payload repeats ``seq`` and ``timestamp`` so a host can check order without
inflating.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError

from .properties import fill_property_set, read_property_set
from .sparkplug_b_pb2 import Payload
from .values import DataType, SparkplugValueError, get_value, set_value

BDSEQ = "bdSeq"
REBIRTH = "Node Control/Rebirth"
COMPRESSED_UUID = "SPBV1.0_COMPRESSED"
ALGORITHM_METRIC = "algorithm"
ALGORITHMS = ("DEFLATE", "GZIP")
MAX_INFLATED = 64 * 1024 * 1024  # a compressed payload may not inflate past this (zip bombs)

Metric = Payload.Metric


class PayloadError(ValueError):
    """Bytes that are not a valid Sparkplug B payload (or not one we can read)."""


def next_seq(seq: int) -> int:
    """The message sequence number after *seq* (0–255, wrapping)."""
    return (seq + 1) % 256


def new_payload(timestamp_ms: int, seq: int | None = None) -> Payload:
    p = Payload()
    p.timestamp = timestamp_ms
    if seq is not None:
        p.seq = seq
    return p


def add_metric(payload: Payload, datatype: int, value: Any, *, name: str | None = None,
               alias: int | None = None, timestamp_ms: int | None = None,
               is_historical: bool = False, is_transient: bool = False,
               properties: Mapping[str, Any] | None = None,
               with_datatype: bool = True) -> Metric:
    """Append a metric.  Births carry name, alias and datatype; data carries the alias only
    (``with_datatype=False`` saves the byte where the host knows the type from the birth).
    """
    m = payload.metrics.add()
    if name is not None:
        m.name = name
    if alias is not None:
        m.alias = alias
    if timestamp_ms is not None:
        m.timestamp = timestamp_ms
    if with_datatype:
        m.datatype = int(datatype)
    if is_historical:
        m.is_historical = True
    if is_transient:
        m.is_transient = True
    if properties:
        fill_property_set(m.properties, properties)
    set_value(m, datatype, value)
    return m


@dataclass(frozen=True)
class MetricValue:
    """One decoded metric.  ``datatype`` comes from the metric or, in data messages, from
    the birth (passed to `read_metric`)."""

    name: str | None
    alias: int | None
    datatype: int
    value: Any
    timestamp_ms: int | None
    is_historical: bool
    is_transient: bool
    is_null: bool
    properties: dict[str, Any]


def read_metric(m: Metric, datatype: int | None = None) -> MetricValue:
    """Decode one metric; *datatype* is used when the metric carries none."""
    dt = m.datatype if m.HasField("datatype") else datatype
    if dt is None:
        raise PayloadError(f"metric {m.name or m.alias!r} has no datatype and none is known")
    try:
        value = get_value(m, dt)
        props = read_property_set(m.properties) if m.HasField("properties") else {}
    except (SparkplugValueError, ValueError) as exc:
        raise PayloadError(f"metric {m.name or m.alias!r}: {exc}") from exc
    return MetricValue(
        name=m.name if m.HasField("name") else None,
        alias=m.alias if m.HasField("alias") else None,
        datatype=int(dt), value=value,
        timestamp_ms=m.timestamp if m.HasField("timestamp") else None,
        is_historical=m.is_historical, is_transient=m.is_transient, is_null=m.is_null,
        properties=props)


def encode_payload(payload: Payload, compression: str | None = None, *,
                   smaller_only: bool = False) -> bytes:
    """The wire bytes, compressed by the spec's convention when *compression* is given
    (with *smaller_only*, only if that shrinks them: a host tells by the uuid)."""
    raw = payload.SerializeToString()
    if compression is None:
        return raw
    packed = compress(raw, compression, seq=payload.seq if payload.HasField("seq") else None,
                      timestamp_ms=payload.timestamp if payload.HasField("timestamp")
                      else None)
    return raw if smaller_only and len(packed) >= len(raw) else packed


def compress(raw: bytes, algorithm: str = "DEFLATE", *, seq: int | None = None,
             timestamp_ms: int | None = None) -> bytes:
    algorithm = algorithm.upper()
    if algorithm == "DEFLATE":
        body = zlib.compress(raw, 9)
    elif algorithm == "GZIP":
        body = gzip.compress(raw, 9, mtime=0)
    else:
        raise PayloadError(f"unknown compression algorithm {algorithm!r} (DEFLATE or GZIP)")
    outer = Payload()
    if timestamp_ms is not None:
        outer.timestamp = timestamp_ms
    if seq is not None:
        outer.seq = seq
    outer.uuid = COMPRESSED_UUID
    outer.body = body
    add_metric(outer, DataType.String, algorithm, name=ALGORITHM_METRIC)
    return outer.SerializeToString()


def _inflate(body: bytes, algorithm: str) -> bytes:
    if algorithm == "DEFLATE":
        d = zlib.decompressobj()
    elif algorithm == "GZIP":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    else:
        raise PayloadError(f"compressed payload uses unknown algorithm {algorithm!r}")
    try:
        out = d.decompress(body, MAX_INFLATED)
    except zlib.error as exc:
        raise PayloadError(f"compressed body does not inflate ({algorithm}): {exc}") from exc
    if d.unconsumed_tail:
        raise PayloadError(f"compressed body inflates past {MAX_INFLATED} bytes")
    return out


def decode_payload(data: bytes) -> Payload:
    """Parse a payload, inflating a compressed one; raise `PayloadError` when malformed."""
    p = Payload()
    try:
        p.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise PayloadError(f"not a Sparkplug B protobuf payload: {exc}") from exc
    if p.uuid != COMPRESSED_UUID:
        return p
    algorithm = "DEFLATE"  # Tahu's default when the metric is absent
    for m in p.metrics:
        if m.name == ALGORITHM_METRIC and m.WhichOneof("value") == "string_value":
            algorithm = m.string_value.upper()
    inner = Payload()
    try:
        inner.ParseFromString(_inflate(p.body, algorithm))
    except DecodeError as exc:
        raise PayloadError(f"inflated body is not a Sparkplug B payload: {exc}") from exc
    return inner


def state_json(online: bool, timestamp_ms: int) -> bytes:
    """A primary host's STATE payload (spec 3.0: UTF-8 JSON, online + timestamp)."""
    return json.dumps({"online": online, "timestamp": timestamp_ms}).encode()


def parse_state(data: bytes) -> tuple[bool, int]:
    """``(online, timestamp_ms)`` of a STATE payload; `PayloadError` when malformed."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"STATE payload is not UTF-8 JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise PayloadError("STATE payload is not a JSON object")
    online, ts = doc.get("online"), doc.get("timestamp")
    if not isinstance(online, bool):
        raise PayloadError("STATE payload: 'online' must be true or false")
    if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
        raise PayloadError("STATE payload: 'timestamp' must be a non-negative integer (ms)")
    return online, ts
