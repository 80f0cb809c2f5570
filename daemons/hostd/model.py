"""Plain data hostd works on: a decoded Sparkplug payload, a metric's identity, a sample.

The session logic and the PostgreSQL writer see only these, not protobuf messages:
daemons/hostd/decode.py turns the shared codec's output into them, and the tests and
the benchmark build them directly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Sparkplug B datatype codes (spec 3.0, section 6.4.16) -> the name stored in metrics.datatype
DATATYPES: dict[int, str] = {
    0: "Unknown", 1: "Int8", 2: "Int16", 3: "Int32", 4: "Int64", 5: "UInt8", 6: "UInt16",
    7: "UInt32", 8: "UInt64", 9: "Float", 10: "Double", 11: "Boolean", 12: "String",
    13: "DateTime", 14: "Text", 15: "UUID", 16: "DataSet", 17: "Bytes", 18: "File",
    19: "Template", 20: "PropertySet", 21: "PropertySetList", 22: "Int8Array",
    23: "Int16Array", 24: "Int32Array", 25: "Int64Array", 26: "UInt8Array",
    27: "UInt16Array", 28: "UInt32Array", 29: "UInt64Array", 30: "FloatArray",
    31: "DoubleArray", 32: "BooleanArray", 33: "StringArray", 34: "DateTimeArray",
}
TEXT_TYPES = frozenset({12, 14, 15})


@dataclass(slots=True)
class SpMetric:
    """One metric of a payload; `value` already a Python value (None when is_null)."""

    name: str | None = None
    alias: int | None = None
    timestamp_ms: int | None = None
    datatype: int = 0
    value: Any = None
    is_null: bool = False
    is_historical: bool = False
    properties: Mapping[str, Any] = field(default_factory=dict)
    quality: int = 0  # OPC UA StatusCode (daemons/core/quality.py); 0 = Good


@dataclass(slots=True)
class SpPayload:
    timestamp_ms: int | None = None
    seq: int | None = None
    metrics: list[SpMetric] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class MetricRef:
    """A metric as the database knows it; `db_id` is set by the writer at birth.

    One object per (node, device, name) per session: samples point at it, so a sample
    queued behind a birth gets the id that birth produced without a lookup.
    """

    schema: str
    node: str
    device: str | None
    name: str
    alias: int | None
    datatype: int
    units: str | None = None
    description: str | None = None
    low: float | None = None
    high: float | None = None
    db_id: int | None = None


# One row for samples: (time in ms since the epoch, numeric value, metric, quality,
# is_historical, text value).  A tuple, not an object: 100,000 of them a second.
Sample = tuple[int, float | None, MetricRef, int, bool, str | None]


def sample_of(ref: MetricRef, m: SpMetric, fallback_ms: int) -> Sample:
    """The row for one metric value: numbers as double, text and arrays as text."""
    ts = m.timestamp_ms if m.timestamp_ms is not None else fallback_ms
    quality = m.quality
    if quality > 0x7FFFFFFF:  # store the 32-bit StatusCode in a signed integer column
        quality -= 1 << 32
    v = m.value
    if m.is_null or v is None:
        return (ts, None, ref, quality, m.is_historical, None)
    if isinstance(v, bool):
        return (ts, 1.0 if v else 0.0, ref, quality, m.is_historical, None)
    if isinstance(v, int | float):
        return (ts, float(v), ref, quality, m.is_historical, None)
    if isinstance(v, str):  # PostgreSQL text cannot hold NUL
        return (ts, None, ref, quality, m.is_historical, v.replace("\x00", "\ufffd"))
    if isinstance(v, bytes):
        return (ts, None, ref, quality, m.is_historical, v.hex())
    if isinstance(v, list | tuple):
        return (ts, None, ref, quality, m.is_historical,
                json.dumps(list(v), default=str))  # json escapes NUL as \u0000
    return (ts, None, ref, quality, m.is_historical, str(v).replace("\x00", "\ufffd"))
