"""Decoding and encoding, checked against the simulator's independent struct-based encoder
(daemons/sim/bank.py) and against published register vectors."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemons.acqd.decode import (
    BlockDecoder,
    EncodeError,
    Gather,
    decode_tag,
    encode_value,
    raw_value,
    value_bytes,
)
from daemons.acqd.plan import Block, plan_blocks
from daemons.core.tagmap import TagDef
from daemons.sim import bank

ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
NUMERIC = ("int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64")
RANGES = {"int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1),
          "int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1),
          "int64": (-(2**53), 2**53), "uint64": (0, 2**53)}  # bank.encode goes via float


def tag(name: str, address: int, type_: str, *, order: str = "ABCD", scale: float = 1.0,
        offset: float = 0.0, count: int = 1, bit: int | None = None, strings: int = 0,
        table: str = "hr", units: str = "") -> TagDef:
    return TagDef(name, "dev", 1, table, address, type_, bit=bit, count=count,
                  string_registers=strings, order=order, scale=scale, offset=offset,
                  units=units, scan="fast")


def block_of(*tags: TagDef) -> Block:
    [block] = plan_blocks(tags, max_gap=125)
    return block


def single(t: TagDef, words: list[int]) -> tuple[float, float]:
    eng, raw = BlockDecoder(block_of(t)).decode(words)
    return float(eng[0]), float(raw[0])


def f32(x: float) -> float:
    return struct.unpack(">f", struct.pack(">f", x))[0]


# --- published vectors ------------------------------------------------------------------

# float32 123.456 is 0x42F6E979 (IEEE 754 single; the example of docs/tagmap-reference.md
# and of most Modbus tool manuals); int32 305419896 is 0x12345678.
@pytest.mark.parametrize(("order", "float_words", "int_words"), [
    ("ABCD", [0x42F6, 0xE979], [0x1234, 0x5678]),
    ("CDAB", [0xE979, 0x42F6], [0x5678, 0x1234]),
    ("BADC", [0xF642, 0x79E9], [0x3412, 0x7856]),
    ("DCBA", [0x79E9, 0xF642], [0x7856, 0x3412]),
])
def test_reference_table_of_word_orders(order, float_words, int_words):
    assert single(tag("f", 0, "float32", order=order), float_words)[0] == f32(123.456)
    assert single(tag("i", 0, "int32", order=order), int_words)[0] == 305419896
    assert encode_value(tag("f", 0, "float32", order=order), 123.456) == float_words
    assert encode_value(tag("i", 0, "int32", order=order), 305419896) == int_words


def test_more_published_vectors():
    # IEEE 754: 1.0f = 0x3F800000, -2.5f = 0xC0200000, pi (double) = 0x400921FB54442D18.
    assert single(tag("a", 0, "float32"), [0x3F80, 0x0000])[0] == 1.0
    assert single(tag("a", 0, "float32"), [0xC020, 0x0000])[0] == -2.5
    assert single(tag("a", 0, "float64"), [0x4009, 0x21FB, 0x5444, 0x2D18])[0] == math.pi
    assert single(tag("a", 0, "float64", order="CDAB"),
                  [0x2D18, 0x5444, 0x21FB, 0x4009])[0] == math.pi
    # Two's complement: 0xFFFF = -1, 0x8000 = -32768, 0xFFFFFFFE = -2.
    assert single(tag("a", 0, "int16"), [0xFFFF])[0] == -1
    assert single(tag("a", 0, "int16"), [0x8000])[0] == -32768
    assert single(tag("a", 0, "uint16"), [0x8000])[0] == 32768
    assert single(tag("a", 0, "int32"), [0xFFFF, 0xFFFE])[0] == -2
    assert single(tag("a", 0, "int16", order="BADC"), [0xFEFF])[0] == -2
    assert single(tag("a", 0, "int64"), [0xFFFF] * 4)[0] == -1


def test_uint64_above_2_53_raw_float_is_nearest_and_raw_value_is_exact():
    t = tag("total", 0, "uint64")
    value = 2**53 + 1  # 0x0020_0000_0000_0001: not a float64
    words = [0x0020, 0x0000, 0x0000, 0x0001]
    eng, raw = single(t, words)
    assert raw == float(2**53) and eng == float(2**53)  # the documented caveat
    assert raw_value(t, words) == value
    assert encode_value(t, value) == words  # an int is written exactly
    top = [0xFFFF] * 4
    assert raw_value(t, top) == 2**64 - 1 and single(t, top)[1] == 2.0**64


# --- round trips against bank.encode --------------------------------------------------------

@st.composite
def typed_values(draw):
    type_ = draw(st.sampled_from(NUMERIC))
    order = draw(st.sampled_from(ORDERS))
    if type_ in RANGES:
        lo, hi = RANGES[type_]
        value: float = draw(st.integers(lo, hi))
    elif type_ == "float32":
        value = f32(draw(st.floats(-3e38, 3e38, allow_nan=False)))
    else:
        value = draw(st.floats(allow_nan=False, allow_infinity=False))
    return type_, order, value


@settings(max_examples=400, deadline=None)
@given(typed_values())
def test_every_type_and_order_round_trips_with_the_independent_encoder(case):
    type_, order, value = case
    t = tag("x", 0, type_, order=order)
    words = bank.encode(type_, value, order)
    eng, raw = single(t, words)
    assert raw == value and eng == value
    assert raw_value(t, words) == value
    assert encode_value(t, value) == words


@st.composite
def mixed_blocks(draw):
    """Tags of every kind at random places of one block, and what the bank stores there."""
    tags, image, expected = [], [0] * 125, {}
    address = 0
    for i in range(draw(st.integers(1, 30))):
        type_, order, value = draw(typed_values())
        scale = draw(st.sampled_from([1.0, 0.1, -2.5, 0.001]))
        offset = draw(st.sampled_from([0.0, 14.7, -40.0]))
        size = bank.registers_of(type_)
        if address + size > 125:
            break
        t = tag(f"t{i}", address, type_, order=order, scale=scale, offset=offset)
        image[address:address + size] = bank.encode(type_, value, order)
        tags.append(t)
        expected[t.name] = (value, value * scale + offset)
        address += size + draw(st.integers(0, 3))
    return tags, image, expected


@settings(max_examples=150, deadline=None)
@given(mixed_blocks(), st.booleans())
def test_mixed_block_decodes_every_tag(case, as_array):
    tags, image, expected = case
    block = Block("dev", 1, "hr", 0, 125, tuple(tags), "fast")
    decoder = BlockDecoder(block)
    words = np.array(image, dtype=np.uint16) if as_array else image
    eng, raw = decoder.decode(words)
    assert sorted(t.name for t in decoder.scalar_tags) == sorted(expected)
    for i, t in enumerate(decoder.scalar_tags):
        value, engineering = expected[t.name]
        assert raw[i] == value
        assert eng[i] == pytest.approx(engineering, rel=1e-12, abs=1e-300) or (
            math.isinf(engineering) and eng[i] == engineering)
        assert decoder.index[t.name] == i


# --- bits, strings, arrays, scaling ------------------------------------------------------------

def test_bits_of_a_register_and_of_a_byte_swapped_register():
    tags = [tag(f"b{n}", 20, "bit", bit=n) for n in (0, 1, 8, 15)]
    tags.append(tag("s9", 21, "bit", bit=9, order="BADC", scale=10.0))  # scale ignored
    decoder = BlockDecoder(block_of(*tags))
    word = 0b1000_0001_0000_0010
    swapped = ((1 << 9) >> 8) | (((1 << 9) & 0xFF) << 8)  # bit 9 as a BADC device stores it
    eng, raw = decoder.decode([word, swapped])
    got = dict(zip([t.name for t in decoder.scalar_tags], eng.tolist(), strict=True))
    assert got == {"b0": 0.0, "b1": 1.0, "b8": 1.0, "b15": 1.0, "s9": 1.0}
    assert np.array_equal(eng, raw)


def test_coils_with_padded_bits_reply():
    tags = [tag("c0", 100, "bool", table="co"), tag("c3", 103, "bool", table="co"),
            tag("c10", 110, "bool", table="co")]
    decoder = BlockDecoder(block_of(*tags))
    assert decoder.block.count == 11
    reply = [True, False, False, True] + [False] * 6 + [True] + [True] * 5  # padded to 16
    eng, raw = decoder.decode(reply)
    assert eng.tolist() == [1.0, 1.0, 1.0] and raw.tolist() == [1.0, 1.0, 1.0]
    eng, _ = decoder.decode(np.zeros(11, dtype=bool))
    assert eng.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="expects 11 bits"):
        decoder.decode([True] * 8)


def test_strings_trimmed_and_byte_swapped():
    tags = [tag("id", 0, "string", strings=5), tag("pad", 5, "string", strings=4),
            tag("swapped", 9, "string", strings=3, order="BADC"),
            tag("list", 12, "string", strings=2, count=3)]
    words = bank.encode_string("WELL-101", 5) + bank.encode_string("  P1  ", 4)
    words += [0x4157, 0x4C4C, 0x0045]  # "WALLE" as a BADC device stores it, low byte first
    words += bank.encode_string("AB", 2) + bank.encode_string("C", 2) + [0x4445, 0x4600]
    decoder = BlockDecoder(block_of(*tags))
    got = dict(decoder.strings(words))
    assert got[tags[0]] == "WELL-101"
    assert got[tags[1]] == "P1"
    assert got[tags[2]] == "WALLE"
    assert got[tags[3]] == "AB\nC\nDEF"
    assert decode_tag(tags[3], words[12:18]) == ("AB", "C", "DEF")
    assert decode_tag(tags[0], words[:5]) == "WELL-101"
    assert decoder.scalar_tags == ()


def test_non_ascii_bytes_are_replaced_not_fatal():
    t = tag("s", 0, "string", strings=2)
    assert decode_tag(t, [0x41FF, 0x4200]) == "A\ufffdB"


def test_arrays_scaled_with_orders_and_raw():
    values = [-1.5, 0.0, 2.25, 1e6]
    t = tag("card", 4, "float32", order="CDAB", count=4, scale=2.0, offset=1.0)
    u = tag("codes", 12, "int16", count=3, scale=0.5)
    words = [0] * 4 + [w for v in values for w in bank.encode("float32", v, "CDAB")]
    words += [w for v in (-7, 0, 9) for w in bank.encode("int16", v)]
    decoder = BlockDecoder(Block("dev", 1, "hr", 0, 15, (t, u), "fast"))
    arrays = dict(decoder.arrays(words))
    assert arrays[t].tolist() == [v * 2 + 1 for v in values]
    assert arrays[u].tolist() == [-3.5, 0.0, 4.5]
    assert dict(decoder.arrays(words, raw=True))[u].tolist() == [-7, 0, 9]


def test_scale_and_offset_apply_to_engineering_not_raw():
    t = tag("temp", 0, "int16", scale=0.1, offset=-40.0)
    eng, raw = single(t, bank.encode("int16", 1234))
    assert raw == 1234 and eng == pytest.approx(83.4)


def test_wrong_reply_sizes_are_errors():
    decoder = BlockDecoder(block_of(tag("a", 0, "float32")))
    with pytest.raises(ValueError, match="expects 2 registers"):
        decoder.decode([1, 2, 3])
    with pytest.raises(ValueError, match="expects 2 registers"):
        decoder.decode(np.zeros(3, dtype=np.uint16))
    with pytest.raises(ValueError, match="0-65535"):
        decoder.decode([1, 70000])
    with pytest.raises(ValueError, match="bool belongs on co/di"):
        BlockDecoder(Block("dev", 1, "hr", 0, 1, (tag("b", 0, "bool"),), "fast"))


def test_gather_joins_pieces_of_one_tick_only():
    card = tag("card", 0, "int16", count=300, table="ir")
    blocks = plan_blocks([card], max_gap=0)
    image = np.array([w for v in range(300) for w in bank.encode("int16", v - 150)],
                     dtype=np.uint16)
    pieces = [p for b in blocks for p in BlockDecoder(b).parts(image[b.start:b.end])]
    assert len(pieces) == 3
    gather = Gather()
    assert gather.add(*pieces[0], tick=1) is None
    assert gather.add(*pieces[1], tick=1) is None
    assert gather.add(*pieces[2], tick=2) is None  # a newer tick starts over
    assert gather.add(*pieces[0], tick=2) is None
    whole = gather.add(*pieces[1], tick=2)
    assert whole is not None
    assert np.array_equal(decode_tag(card, whole), np.arange(300) - 150)
    gather.add(*pieces[0], tick=3)
    gather.discard(card)
    assert gather.add(*pieces[1], tick=3) is None


# --- encoding for writes -------------------------------------------------------------------

@st.composite
def scaled_writes(draw):
    type_ = draw(st.sampled_from(NUMERIC))
    lo, hi = RANGES.get(type_, (-(2**31), 2**31))
    raw = draw(st.integers(max(lo, -(2**31)), min(hi, 2**31)))
    scale = draw(st.sampled_from([1.0, 0.1, 0.01, 2.5, -0.5]))
    offset = draw(st.sampled_from([0.0, -40.0, 14.7]))
    order = draw(st.sampled_from(ORDERS))
    if type_ == "float32":
        raw = f32(raw)
    return tag("sp", 0, type_, order=order, scale=scale, offset=offset), raw


@settings(max_examples=300, deadline=None)
@given(scaled_writes())
def test_encode_value_inverts_scaling_like_the_independent_encoder(case):
    t, raw = case
    words = encode_value(t, raw * t.scale + t.offset)
    if t.type.startswith("float"):
        assert raw_value(t, words) == pytest.approx(raw, rel=1e-6, abs=1e-6)
    else:
        assert words == bank.encode(t.type, raw, t.order)
    assert len(words) == bank.registers_of(t.type)


def test_rounding_half_away_from_zero():
    t = tag("sp", 0, "int16")
    assert encode_value(t, 12.5) == bank.encode("int16", 13)
    assert encode_value(t, -12.5) == bank.encode("int16", -13)
    assert encode_value(t, 12.49) == bank.encode("int16", 12)
    assert encode_value(tag("sp", 0, "int16", scale=0.1), 123.4) == [1234]


def test_range_errors_name_the_tag_and_the_limit():
    t = tag("W101.SPM_SP", 0, "int16", scale=0.1, units="spm")
    with pytest.raises(EncodeError) as err:
        encode_value(t, 4000.0)
    assert "W101.SPM_SP" in str(err.value) and "32767" in str(err.value)
    assert "3276.7 spm" in str(err.value) and "límite" in err.value.message("es")
    with pytest.raises(ValueError, match=r"below the uint16 limit 0"):
        encode_value(tag("u", 0, "uint16"), -1)
    with pytest.raises(ValueError, match="float32 limit"):
        encode_value(tag("f", 0, "float32"), 1e39)
    with pytest.raises(ValueError, match="finite"):
        encode_value(tag("f", 0, "float64"), math.nan)
    with pytest.raises(ValueError, match="above the int32 limit 2147483647"):
        encode_value(tag("i", 0, "int32"), 2**31)
    assert encode_value(tag("i", 0, "int32"), 2**31 - 1) == bank.encode("int32", 2**31 - 1)
    with pytest.raises(ValueError, match="above the int16 limit"):
        encode_value(tag("i", 0, "int16", scale=0.5), 10**400)  # too big even for a float
    with pytest.raises(ValueError, match="float64 limit"):
        encode_value(tag("f", 0, "float64", scale=1e-10), 1e308)
    with pytest.raises(ValueError, match="not a number"):
        encode_value(tag("a", 0, "int16", count=2), [1, "2"])
    # numpy scalars are numbers like any other
    assert encode_value(tag("i", 0, "int16", scale=2.0), np.float32(5)) == [3]
    assert encode_value(tag("c", 0, "bool", table="co"), np.bool_(True)) == [1]


def test_encode_bits_coils_strings_arrays():
    bit = tag("b", 0, "bit", bit=3)
    assert encode_value(bit, 1, current=0b1_0000_0001) == [0b1_0000_1001]
    assert encode_value(bit, 0, current=0xFFFF) == [0xFFF7]
    swapped = tag("b", 0, "bit", bit=9, order="BADC")
    assert encode_value(swapped, 1, current=0) == [0x0002]  # bit 9 = bit 1 of the low byte
    with pytest.raises(ValueError, match="current"):
        encode_value(bit, 1)
    with pytest.raises(ValueError, match="0 or 1"):
        encode_value(bit, 2, current=0)
    assert encode_value(tag("c", 0, "bool", table="co"), 1) == [1]
    assert encode_value(tag("c", 0, "bool", table="co"), 0.0) == [0]
    s = tag("s", 0, "string", strings=3)
    assert encode_value(s, "PUMP") == bank.encode_string("PUMP", 3)
    assert encode_value(tag("s", 0, "string", strings=1, order="BADC"), "AB") == [0x4241]
    with pytest.raises(ValueError, match="exceeds the limit 6"):
        encode_value(s, "TOO LONG")
    with pytest.raises(ValueError, match="ASCII"):
        encode_value(s, "año")
    with pytest.raises(ValueError, match="not a number"):
        encode_value(tag("x", 0, "int16"), "12")
    arr = tag("a", 0, "int16", count=3, scale=0.5)
    assert encode_value(arr, [1.0, -2.0, 3.5]) == [2, 0xFFFC, 7]
    with pytest.raises(ValueError, match="expects 3 values"):
        encode_value(arr, [1.0])


def test_value_bytes_layout():
    assert value_bytes(0, 2, "ABCD") == [0, 1, 2, 3]
    assert value_bytes(0, 2, "CDAB") == [2, 3, 0, 1]
    assert value_bytes(0, 2, "BADC") == [1, 0, 3, 2]
    assert value_bytes(1, 2, "DCBA") == [5, 4, 3, 2]
