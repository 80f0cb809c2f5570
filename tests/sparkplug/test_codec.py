"""The shared Sparkplug B codec: datatypes, integer rules, arrays, compression, topics."""

from __future__ import annotations

import math
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemons.core.sparkplug import (
    BDSEQ,
    COMPRESSED_UUID,
    DataType,
    Payload,
    PayloadError,
    SparkplugValueError,
    TopicError,
    add_metric,
    build_topic,
    decode_payload,
    encode_payload,
    new_payload,
    next_seq,
    pack_array,
    parse_state,
    parse_topic,
    protobuf_backend,
    read_metric,
    state_json,
    state_topic,
    unpack_array,
)
from daemons.core.sparkplug.values import INT_TYPES


def roundtrip(datatype, value, **kw):
    p = new_payload(1_700_000_000_000, seq=0)
    add_metric(p, datatype, value, name="m", alias=1, timestamp_ms=5, **kw)
    q = decode_payload(encode_payload(p))
    return read_metric(q.metrics[0])


def test_backend_is_upb():
    assert protobuf_backend() == "upb"


@pytest.mark.parametrize("datatype,value", [
    (DataType.Int8, -128), (DataType.Int8, 127), (DataType.Int16, -32768),
    (DataType.Int32, -(2**31)), (DataType.Int32, 2**31 - 1), (DataType.Int64, -(2**63)),
    (DataType.Int64, 2**63 - 1), (DataType.UInt8, 255), (DataType.UInt16, 65535),
    (DataType.UInt32, 2**32 - 1), (DataType.UInt64, 2**64 - 1),
    (DataType.DateTime, 1_733_000_000_123), (DataType.Float, 1.5),
    (DataType.Double, -2.25e300), (DataType.Boolean, True), (DataType.Boolean, False),
    (DataType.String, "señal ñ"), (DataType.Text, "x" * 300),
    (DataType.UUID, "123e4567-e89b-12d3-a456-426614174000"), (DataType.Bytes, b"\x00\xff"),
    (DataType.File, b"abc"),
    (DataType.Int8Array, [-23, 123]), (DataType.Int16Array, [-30000, 30000]),
    (DataType.Int32Array, [123456789, -987654321]), (DataType.Int64Array, [-(2**63), 1]),
    (DataType.UInt8Array, [0, 255]), (DataType.UInt16Array, [0, 65535]),
    (DataType.UInt32Array, [0, 2**32 - 1]), (DataType.UInt64Array, [2**64 - 1]),
    (DataType.FloatArray, [1.5, -0.25]), (DataType.DoubleArray, [math.pi, -1e-300]),
    (DataType.BooleanArray, [True, False, True]), (DataType.StringArray, ["ab", "", "ñ"]),
    (DataType.DateTimeArray, [1_733_000_000_000, 0]),
    (DataType.DataSet, {"columns": ["a", "b"], "types": [DataType.Int32, DataType.String],
                        "rows": [[1, "x"], [-2, "y"]]}),
    (DataType.Double, None),
])
def test_every_datatype_roundtrips(datatype, value):
    m = roundtrip(datatype, value)
    assert m.datatype == datatype
    assert m.value == value
    assert m.is_null is (value is None)
    assert (m.name, m.alias, m.timestamp_ms) == ("m", 1, 5)


def test_small_ints_go_in_int_value_as_32_bit_twos_complement():
    p = Payload()
    add_metric(p, DataType.Int8, -1, alias=1)
    add_metric(p, DataType.UInt32, 4_000_000_000, alias=2)
    add_metric(p, DataType.Int64, -1, alias=3)
    add_metric(p, DataType.DateTime, 5, alias=4)
    assert p.metrics[0].WhichOneof("value") == "int_value"
    assert p.metrics[0].int_value == 0xFFFFFFFF
    assert p.metrics[1].WhichOneof("value") == "int_value"
    assert p.metrics[2].long_value == 2**64 - 1
    assert p.metrics[3].WhichOneof("value") == "long_value"


def test_decoder_accepts_low_bits_and_long_value_forms():
    p = Payload()
    m = p.metrics.add(alias=1, datatype=DataType.Int8)
    m.int_value = 0xFF  # Tahu-Python: only the low bits of -1
    m = p.metrics.add(alias=2, datatype=DataType.UInt32)
    m.long_value = 4_000_000_000  # Tahu-Java / Ignition / JS put UInt32 in long_value
    m = p.metrics.add(alias=3, datatype=DataType.Int16)
    m.int_value = 0xFFFF8000  # sign-extended -32768
    values = [read_metric(x).value for x in p.metrics]
    assert values == [-1, 4_000_000_000, -32768]


@given(st.sampled_from(sorted(INT_TYPES)), st.data())
def test_integers_roundtrip_over_their_whole_range(datatype, data):
    bits, signed = INT_TYPES[datatype]
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    value = data.draw(st.integers(lo, hi))
    assert roundtrip(datatype, value).value == value


@pytest.mark.parametrize("datatype,value", [
    (DataType.Int8, 128), (DataType.UInt8, -1), (DataType.UInt32, 2**32),
    (DataType.Int32, "12"), (DataType.Int16, True), (DataType.Int8Array, [300]),
])
def test_out_of_range_values_are_refused(datatype, value):
    with pytest.raises(SparkplugValueError):
        add_metric(Payload(), datatype, value, alias=1)


def test_array_encodings_match_the_spec_examples():
    assert pack_array(DataType.Int8Array, [-23, 123]) == bytes([0xE9, 0x7B])
    assert pack_array(DataType.Int32Array, [123456789, 987654321]) == bytes(
        [0x15, 0xCD, 0x5B, 0x07, 0xB1, 0x68, 0xDE, 0x3A])
    bools = [False, False, True, True, False, True, False, False, True, True, False, True]
    assert pack_array(DataType.BooleanArray, bools) == bytes([0x0C, 0, 0, 0, 0x34, 0xD0])
    assert pack_array(DataType.StringArray, ["ABC", "hello"]) == b"ABC\x00hello\x00"
    assert pack_array(DataType.FloatArray, [1.1]) == struct.pack("<f", 1.1)


@pytest.mark.parametrize("datatype,data", [
    (DataType.BooleanArray, b"\x09\x00\x00\x00\x01"), (DataType.BooleanArray, b"\x01"),
    (DataType.Int32Array, b"\x01\x02\x03"), (DataType.StringArray, b"abc"),
    (DataType.StringArray, b"\xff\x00"),
])
def test_malformed_arrays_are_rejected(datatype, data):
    with pytest.raises(SparkplugValueError):
        unpack_array(datatype, data)


@pytest.mark.parametrize("algorithm", ["DEFLATE", "GZIP"])
def test_compression_convention(algorithm):
    p = new_payload(123, seq=7)
    for i in range(50):
        add_metric(p, DataType.Double, float(i), alias=i, timestamp_ms=123)
    wire = encode_payload(p, compression=algorithm)
    outer = Payload.FromString(wire)
    assert outer.uuid == COMPRESSED_UUID and outer.seq == 7
    assert [(m.name, m.string_value) for m in outer.metrics] == [("algorithm", algorithm)]
    assert len(wire) < len(p.SerializeToString())
    assert decode_payload(wire) == p
    if algorithm == "DEFLATE":
        assert zlib.decompress(outer.body) == p.SerializeToString()


def test_garbage_and_zip_bombs_are_payload_errors():
    with pytest.raises(PayloadError):
        decode_payload(b"\xff\xff\xff")
    bomb = Payload(uuid=COMPRESSED_UUID, body=zlib.compress(b"\x00" * (80 * 1024 * 1024)))
    with pytest.raises(PayloadError, match="inflates past"):
        decode_payload(bomb.SerializeToString())
    bad = Payload(uuid=COMPRESSED_UUID, body=b"not deflate")
    with pytest.raises(PayloadError, match="does not inflate"):
        decode_payload(bad.SerializeToString())


def test_properties_roundtrip():
    m = roundtrip(DataType.Double, 1.0, properties={
        "engUnit": "psi", "engLow": 0.0, "engHigh": 3000.0, "Quality": (DataType.Int32, 192)})
    assert m.properties == {"engUnit": "psi", "engLow": 0.0, "engHigh": 3000.0, "Quality": 192}


def test_seq_wraps_at_255():
    assert next_seq(254) == 255 and next_seq(255) == 0


def test_topics_build_and_parse():
    t = build_topic("G1", "DDATA", "edge-7", "pump_1")
    assert t == "spBv1.0/G1/DDATA/edge-7/pump_1"
    parsed = parse_topic(t)
    assert (parsed.group_id, parsed.message_type, parsed.edge_node_id, parsed.device_id) == (
        "G1", "DDATA", "edge-7", "pump_1")
    assert str(parsed) == t
    assert parse_topic("spBv1.0/G1/NBIRTH/e").device_id is None
    assert parse_topic(state_topic("scada")).host_id == "scada"


@pytest.mark.parametrize("topic", [
    "spAv1.0/G/NDATA/e", "spBv1.0/G/NDATA", "spBv1.0/G/NDATA/e/d", "spBv1.0/G/DDATA/e",
    "spBv1.0/G/XDATA/e", "spBv1.0//NDATA/e", "spBv1.0/G/NDATA/e/d/x", "spBv1.0/G+/NDATA/e",
])
def test_bad_topics_are_rejected(topic):
    with pytest.raises(TopicError):
        parse_topic(topic)


@pytest.mark.parametrize("bad", ["", "a/b", "a+", "#"])
def test_bad_ids_are_refused(bad):
    with pytest.raises(TopicError):
        build_topic(bad or "", "NDATA", "e") if bad != "" else build_topic("G", "NDATA", "")


def test_state_json():
    assert parse_state(state_json(True, 42)) == (True, 42)
    for bad in (b"{", b"[]", b'{"online": 1, "timestamp": 1}', b'{"online": true}',
                b'{"online": true, "timestamp": -1}', b"\xff"):
        with pytest.raises(PayloadError):
            parse_state(bad)


def test_bdseq_metric_is_int64():
    p = Payload()
    add_metric(p, DataType.Int64, 255, name=BDSEQ)
    m = read_metric(decode_payload(encode_payload(p)).metrics[0])
    assert (m.name, m.datatype, m.value) == (BDSEQ, DataType.Int64, 255)
