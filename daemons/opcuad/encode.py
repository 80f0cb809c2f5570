"""A specialised binary encoder for the notifications opcuad sends most: a scalar number.

asyncua encodes every MonitoredItemNotification through its generic, reflective dataclass
serializer (field by field, optional-field mask by getattr): the largest single cost of
publishing 10,000 changes a second in the profile.  A notification of a scalar number,
bool or null with a StatusCode and two timestamps is packed here with struct in one go;
anything else (arrays, strings, picoseconds) goes to asyncua's serializer.  The bytes are
the same (OPC 10000-6 §5.2.2.17 DataValue, §5.2.2.16 Variant; tested against asyncua).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from asyncua import ua
from asyncua.ua import ua_binary

_SCALARS = {
    ua.VariantType.Boolean: struct.Struct("<B?"),
    ua.VariantType.SByte: struct.Struct("<Bb"), ua.VariantType.Byte: struct.Struct("<BB"),
    ua.VariantType.Int16: struct.Struct("<Bh"), ua.VariantType.UInt16: struct.Struct("<BH"),
    ua.VariantType.Int32: struct.Struct("<Bi"), ua.VariantType.UInt32: struct.Struct("<BI"),
    ua.VariantType.Int64: struct.Struct("<Bq"), ua.VariantType.UInt64: struct.Struct("<BQ"),
    ua.VariantType.Float: struct.Struct("<Bf"), ua.VariantType.Double: struct.Struct("<Bd"),
}
_VT_ID = {vt: vt.value for vt in _SCALARS}
_HEAD = struct.Struct("<IB")  # ClientHandle, DataValue encoding mask
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_NULL = ua.VariantType.Null
_pack_time = ua_binary.Primitives.DateTime.pack


def _encode(n: ua.MonitoredItemNotification, generic: Callable[[Any], bytes]) -> bytes:
    dv = n.Value
    var = dv.Value
    if dv.SourcePicoseconds is not None or dv.ServerPicoseconds is not None:
        return generic(n)
    parts: list[bytes] = []
    mask = 0
    if var is not None:
        if var.is_array or var.Dimensions is not None:
            return generic(n)
        vt = var.VariantType
        if vt is _NULL:
            parts.append(b"\x00")
        else:
            fmt = _SCALARS.get(vt)
            if fmt is None or var.Value is None:
                return generic(n)
            parts.append(fmt.pack(_VT_ID[vt], var.Value))
        mask |= 0x01
    if dv.StatusCode is not None:
        parts.append(_U32.pack(dv.StatusCode.value))
        mask |= 0x02
    if dv.SourceTimestamp is not None:
        parts.append(_pack_time(dv.SourceTimestamp))
        mask |= 0x04
    if dv.ServerTimestamp is not None:
        parts.append(_pack_time(dv.ServerTimestamp))
        mask |= 0x08
    return _HEAD.pack(n.ClientHandle, mask) + b"".join(parts)


def install() -> None:
    """Serve MonitoredItemNotification with `_encode` wherever asyncua looks it up."""
    original = ua_binary.create_type_serializer
    if getattr(original, "wellgate_fast", False):
        return
    generic = ua_binary.create_dataclass_serializer(ua.MonitoredItemNotification)

    def fast(n: ua.MonitoredItemNotification) -> bytes:
        return _encode(n, generic)

    def create_type_serializer(uatype: type) -> Callable[[Any], bytes]:
        if uatype is ua.MonitoredItemNotification:
            return fast
        return original(uatype)

    create_type_serializer.wellgate_fast = True  # type: ignore[attr-defined]
    ua_binary.create_type_serializer = create_type_serializer  # type: ignore[assignment]
