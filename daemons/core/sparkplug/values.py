"""Sparkplug B values: datatypes, where each goes in the protobuf, arrays as packed bytes.

Encoding follows spec 3.0 §6.4.16–6.4.17:
- Int8/16/32 and UInt8/16/32 go in ``int_value`` (a uint32).  The spec leaves negative
  values unspecified (spec issue #453); we write the 32-bit two's complement, which is
  what Tahu-Java sends (sign-extended).  Decoding keeps only the datatype's width and
  sign-interprets it, so Tahu-Python's low-bits form (-1 as Int8 → 0xFF) reads the same.
- Int64, UInt64 and DateTime (ms since the epoch) go in ``long_value`` (64-bit two's
  complement for negatives).  Tahu-Java, Ignition and the JS library put UInt32 in
  ``long_value`` (issue #102): decoding accepts any integer field for any integer type.
- Arrays use ``bytes_value``, little-endian packed; BooleanArray is a UInt32 LE count
  followed by the bits, most significant bit first (the spec's example
  [F,F,T,T,F,T,F,F,T,T,F,T] → 0C 00 00 00 34 D0); StringArray is NUL-terminated UTF-8
  strings; DateTimeArray is Int64 ms.
The same oneof field names exist on Metric, PropertyValue, DataSetValue and Template
Parameter, so `set_value`/`get_value` serve all of them.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from enum import IntEnum
from typing import Any


class DataType(IntEnum):
    Unknown = 0
    Int8 = 1
    Int16 = 2
    Int32 = 3
    Int64 = 4
    UInt8 = 5
    UInt16 = 6
    UInt32 = 7
    UInt64 = 8
    Float = 9
    Double = 10
    Boolean = 11
    String = 12
    DateTime = 13
    Text = 14
    UUID = 15
    DataSet = 16
    Bytes = 17
    File = 18
    Template = 19
    PropertySet = 20
    PropertySetList = 21
    Int8Array = 22
    Int16Array = 23
    Int32Array = 24
    Int64Array = 25
    UInt8Array = 26
    UInt16Array = 27
    UInt32Array = 28
    UInt64Array = 29
    FloatArray = 30
    DoubleArray = 31
    BooleanArray = 32
    StringArray = 33
    DateTimeArray = 34


class SparkplugValueError(ValueError):
    """A value that does not fit its Sparkplug datatype, or bytes that do not decode."""

# datatype → (bits, signed) for the integer types
INT_TYPES: dict[int, tuple[int, bool]] = {
    DataType.Int8: (8, True), DataType.Int16: (16, True), DataType.Int32: (32, True),
    DataType.Int64: (64, True), DataType.UInt8: (8, False), DataType.UInt16: (16, False),
    DataType.UInt32: (32, False), DataType.UInt64: (64, False), DataType.DateTime: (64, True),
}
_IN_INT_VALUE = {DataType.Int8, DataType.Int16, DataType.Int32,
                 DataType.UInt8, DataType.UInt16, DataType.UInt32}
_STRING_TYPES = {DataType.String, DataType.Text, DataType.UUID}
_BYTES_TYPES = {DataType.Bytes, DataType.File}
# array datatype → struct code of one element (booleans and strings are special)
ARRAY_CODES: dict[int, str] = {
    DataType.Int8Array: "b", DataType.Int16Array: "h", DataType.Int32Array: "i",
    DataType.Int64Array: "q", DataType.UInt8Array: "B", DataType.UInt16Array: "H",
    DataType.UInt32Array: "I", DataType.UInt64Array: "Q", DataType.FloatArray: "f",
    DataType.DoubleArray: "d", DataType.DateTimeArray: "q",
}
ARRAY_TYPES = frozenset(ARRAY_CODES) | {DataType.BooleanArray, DataType.StringArray}
_INT_FIELDS = ("int_value", "long_value")


def _check_range(datatype: int, value: int) -> None:
    bits, signed = INT_TYPES[datatype]
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not lo <= value <= hi:
        raise SparkplugValueError(
            f"{value} does not fit {DataType(datatype).name} ({lo}..{hi})")


def to_signed(raw: int, bits: int, signed: bool) -> int:
    """Keep the low *bits* of *raw* and sign-interpret them when *signed*."""
    raw &= (1 << bits) - 1
    if signed and raw >= 1 << (bits - 1):
        raw -= 1 << bits
    return raw


def pack_array(datatype: int, values: Sequence[Any]) -> bytes:
    """The ``bytes_value`` of an array metric."""
    if datatype == DataType.BooleanArray:
        out = bytearray(struct.pack("<I", len(values)))
        out += bytes((len(values) + 7) // 8)
        for i, v in enumerate(values):
            if v:
                out[4 + i // 8] |= 0x80 >> (i % 8)
        return bytes(out)
    if datatype == DataType.StringArray:
        parts = []
        for v in values:
            encoded = str(v).encode("utf-8")
            if b"\x00" in encoded:
                raise SparkplugValueError("a StringArray element may not contain NUL")
            parts.append(encoded + b"\x00")
        return b"".join(parts)
    code = ARRAY_CODES.get(datatype)
    if code is None:
        raise SparkplugValueError(f"{datatype} is not an array datatype")
    try:
        return struct.pack(f"<{len(values)}{code}", *values)
    except struct.error as exc:
        raise SparkplugValueError(
            f"{DataType(datatype).name}: element out of range or of the wrong type: {exc}"
        ) from exc


def unpack_array(datatype: int, data: bytes) -> list[Any]:
    """The elements of an array metric's ``bytes_value``."""
    if datatype == DataType.BooleanArray:
        if len(data) < 4:
            raise SparkplugValueError("BooleanArray shorter than its 4-byte count")
        (count,) = struct.unpack_from("<I", data)
        if len(data) - 4 < (count + 7) // 8:
            raise SparkplugValueError(
                f"BooleanArray says {count} values but has {len(data) - 4} bytes of bits")
        return [bool(data[4 + i // 8] & (0x80 >> (i % 8))) for i in range(count)]
    if datatype == DataType.StringArray:
        if not data:
            return []
        if not data.endswith(b"\x00"):
            raise SparkplugValueError("StringArray does not end with NUL")
        try:
            return [p.decode("utf-8") for p in data[:-1].split(b"\x00")]
        except UnicodeDecodeError as exc:
            raise SparkplugValueError(f"StringArray is not UTF-8: {exc}") from exc
    code = ARRAY_CODES.get(datatype)
    if code is None:
        raise SparkplugValueError(f"{datatype} is not an array datatype")
    size = struct.calcsize(code)
    if len(data) % size:
        raise SparkplugValueError(
            f"{DataType(datatype).name}: {len(data)} bytes is not a multiple of {size}")
    return list(struct.unpack(f"<{len(data) // size}{code}", data))


def set_value(msg: Any, datatype: int, value: Any) -> None:
    """Put *value* in the right field of a Metric/PropertyValue/DataSetValue/Parameter.

    None sets ``is_null`` where the message has it (Metric, PropertyValue).
    """
    if value is None:
        if hasattr(msg, "is_null"):
            msg.is_null = True
            return
        raise SparkplugValueError("this message type cannot carry a null value")
    if datatype in INT_TYPES:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise SparkplugValueError(
                    f"{DataType(datatype).name} needs an integer, got {value!r}")
        _check_range(datatype, value)
        if datatype in _IN_INT_VALUE:
            msg.int_value = value & 0xFFFFFFFF
        else:
            msg.long_value = value & 0xFFFFFFFFFFFFFFFF
    elif datatype == DataType.Float:
        msg.float_value = float(value)
    elif datatype == DataType.Double:
        msg.double_value = float(value)
    elif datatype == DataType.Boolean:
        msg.boolean_value = bool(value)
    elif datatype in _STRING_TYPES:
        msg.string_value = str(value)
    elif datatype in _BYTES_TYPES:
        msg.bytes_value = bytes(value)
    elif datatype in ARRAY_TYPES:
        msg.bytes_value = pack_array(datatype, value)
    elif datatype == DataType.DataSet:
        from .properties import fill_dataset

        fill_dataset(msg.dataset_value, value)
    elif datatype == DataType.Template:
        msg.template_value.CopyFrom(value)
    elif datatype == DataType.PropertySet:
        from .properties import fill_property_set

        fill_property_set(msg.propertyset_value, value)
    else:
        raise SparkplugValueError(f"cannot encode datatype {datatype}")


def get_value(msg: Any, datatype: int) -> Any:
    """The Python value of a Metric/PropertyValue/DataSetValue/Parameter (None if null)."""
    if getattr(msg, "is_null", False):
        return None
    field = msg.WhichOneof("value")
    if datatype in INT_TYPES:
        if field not in _INT_FIELDS:
            raise SparkplugValueError(
                f"{DataType(datatype).name} value expected in int_value or long_value, "
                f"found {field or 'no value'}")
        bits, signed = INT_TYPES[datatype]
        return to_signed(getattr(msg, field), bits, signed)
    if datatype == DataType.Float:
        return _expect(msg, field, "float_value", datatype)
    if datatype == DataType.Double:
        # Some encoders send a Double as float_value; the value is still right.
        if field == "float_value":
            return float(msg.float_value)
        return _expect(msg, field, "double_value", datatype)
    if datatype == DataType.Boolean:
        return _expect(msg, field, "boolean_value", datatype)
    if datatype in _STRING_TYPES:
        return _expect(msg, field, "string_value", datatype)
    if datatype in _BYTES_TYPES:
        return bytes(_expect(msg, field, "bytes_value", datatype))
    if datatype in ARRAY_TYPES:
        return unpack_array(datatype, _expect(msg, field, "bytes_value", datatype))
    if datatype == DataType.DataSet:
        from .properties import read_dataset

        return read_dataset(_expect(msg, field, "dataset_value", datatype))
    if datatype == DataType.Template:
        return _expect(msg, field, "template_value", datatype)
    if datatype == DataType.PropertySet:
        from .properties import read_property_set

        return read_property_set(_expect(msg, field, "propertyset_value", datatype))
    raise SparkplugValueError(f"cannot decode datatype {datatype}")


def _expect(msg: Any, field: str | None, wanted: str, datatype: int) -> Any:
    if field != wanted:
        raise SparkplugValueError(
            f"{DataType(datatype).name} value expected in {wanted}, found {field or 'no value'}")
    return getattr(msg, wanted)


def datatype_name(datatype: int) -> str:
    try:
        return DataType(datatype).name
    except ValueError:
        return f"datatype {datatype}"
