"""From MQTT bytes to hostd's plain payloads, with the shared codec (daemons/core/sparkplug).

Data messages may leave out a metric's datatype (the host knows it from the birth), so
decoding asks the node's session for it; a metric whose alias the session does not know
comes out with datatype 0 and no value, and the session then asks for a Rebirth.
Quality: the spec's ``Quality`` property (Int32: 0 bad, 192 good, 500 stale) or an OPC UA
``StatusCode`` property (UInt32) become our OPC UA StatusCode (daemons/core/quality.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from daemons.core.quality import Quality
from daemons.core.sparkplug import (
    DataType,
    Payload,
    PayloadError,
    SparkplugValueError,
    decode_payload,
    get_value,
    read_property_set,
)
from daemons.hostd.model import SpMetric, SpPayload

DatatypeOf = Callable[[int | None, str | None], int | None]
_SPARKPLUG_QUALITY = {192: Quality.GOOD, 500: Quality.UNCERTAIN_LAST_USABLE, 0: Quality.BAD}


def quality_of(props: dict[str, Any]) -> int:
    code = props.get("StatusCode")
    if isinstance(code, int) and not isinstance(code, bool) and 0 <= code <= 0xFFFFFFFF:
        return code
    q = props.get("Quality")
    if not isinstance(q, int) or isinstance(q, bool):
        return Quality.GOOD
    if q in _SPARKPLUG_QUALITY:
        return int(_SPARKPLUG_QUALITY[q])
    # Other OPC DA quality bytes: the top two bits are the severity (11 good, 01 uncertain).
    top = q & 0xC0
    return int(Quality.GOOD if top == 0xC0 else Quality.UNCERTAIN if top == 0x40
               else Quality.BAD)


def to_plain(p: Payload, datatype_of: DatatypeOf | None = None) -> SpPayload:
    """The plain form of a decoded protobuf payload; `PayloadError` for a bad metric.

    Doubles and floats without properties (nearly every data metric) are read directly;
    everything else goes through the codec's `get_value`/`read_property_set`.  This is
    the hot path of hostd: about half of its CPU per sample went to the generic reader.
    """
    out = SpPayload(timestamp_ms=p.timestamp if p.HasField("timestamp") else None,
                    seq=p.seq if p.HasField("seq") else None)
    append = out.metrics.append
    for m in p.metrics:
        alias = m.alias if m.HasField("alias") else None
        name = m.name if m.HasField("name") else None
        if m.HasField("datatype"):
            dt = m.datatype
        else:
            known = datatype_of(alias, name) if datatype_of is not None else None
            if known is None:
                append(SpMetric(name=name, alias=alias))  # unknown: the session decides
                continue
            dt = known
        ts = m.timestamp if m.HasField("timestamp") else None
        field = m.WhichOneof("value")
        if m.HasField("properties"):
            try:
                props = read_property_set(m.properties)
            except (SparkplugValueError, ValueError) as exc:
                raise PayloadError(f"metric {name or alias!r}: {exc}") from exc
        else:
            props = {}
        if m.is_null:
            value = None
        elif dt == DataType.Double and field == "double_value":
            value = m.double_value
        elif dt == DataType.Float and field == "float_value":
            value = m.float_value
        else:
            try:
                value = get_value(m, dt)
            except (SparkplugValueError, ValueError) as exc:
                raise PayloadError(f"metric {name or alias!r}: {exc}") from exc
        append(SpMetric(name, alias, ts, dt, value, m.is_null, m.is_historical, props,
                        quality_of(props) if props else 0))
    return out


def decode(data: bytes, datatype_of: DatatypeOf | None = None) -> SpPayload:
    """Bytes → SpPayload; raises `PayloadError` (a ValueError) for anything malformed."""
    try:
        return to_plain(decode_payload(data), datatype_of)
    except PayloadError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        raise PayloadError(f"malformed payload: {exc}") from exc
