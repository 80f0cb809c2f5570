"""Request planning: coalescing, limits, splitting of large tags, the break-even gap, and
learning from exception 02 against the simulator's register bank."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemons.acqd.decode import BlockDecoder, Gather, decode_tag
from daemons.acqd.plan import (
    BAD_RETRY_S,
    TCP_DEFAULT_GAP,
    Block,
    Planner,
    break_even_gap,
    default_gap,
    plan_blocks,
)
from daemons.core.config import DeviceConfig
from daemons.core.tagmap import TagDef
from daemons.sim.bank import RegisterBank


def tag(name: str, address: int, type_: str = "uint16", *, table: str = "hr", count: int = 1,
        unit: int = 1, device: str = "dev", scan: str = "fast", bit: int | None = None,
        strings: int = 0, order: str = "ABCD", scale: float = 1.0) -> TagDef:
    return TagDef(name, device, unit, table, address, type_, bit=bit, count=count,
                  string_registers=strings, order=order, scale=scale, scan=scan)


def device(protocol: str = "modbus-tcp", **kw) -> DeviceConfig:
    base = dict(name="dev", protocol=protocol, unit=1, timeout=1.0, retries=1,
                max_registers=125, max_bits=2000, max_gap=None, demote_after=3,
                demote_period=30.0, enabled=True, description="")
    base.update(kw)
    return DeviceConfig(**base)


def spans(blocks: list[Block]) -> list[tuple[int, int]]:
    return [(b.start, b.count) for b in blocks]


# --- coalescing --------------------------------------------------------------------------

def test_contiguous_tags_make_one_block_in_address_order():
    tags = [tag("c", 3, "float32"), tag("a", 0, "int16"), tag("b", 1, "int32")]
    [block] = plan_blocks(tags, max_gap=0)
    assert (block.start, block.count) == (0, 5)
    assert [t.name for t in block.tags] == ["a", "b", "c"]
    assert block.segments == ()


def test_gap_up_to_max_gap_is_read_through_and_one_more_is_not():
    tags = [tag("a", 0), tag("b", 11), tag("c", 23)]  # gaps of 10 and 11 registers
    assert spans(plan_blocks(tags, max_gap=10)) == [(0, 12), (23, 1)]
    assert spans(plan_blocks(tags, max_gap=11)) == [(0, 24)]
    assert spans(plan_blocks(tags, max_gap=9)) == [(0, 1), (11, 1), (23, 1)]


def test_block_never_exceeds_the_limit_and_never_cuts_a_tag():
    tags = [tag(f"t{i}", i * 2, "float32") for i in range(100)]  # 200 registers
    blocks = plan_blocks(tags, max_registers=125, max_gap=16)
    assert spans(blocks) == [(0, 124), (124, 76)]  # 125 would cut t62 in two
    assert sum(len(b.tags) for b in blocks) == 100


def test_groups_by_device_unit_table_and_scan():
    tags = [tag("a", 0), tag("b", 1, unit=2), tag("c", 2, table="ir"), tag("d", 3, scan="slow"),
            tag("e", 4, device="other"), tag("f", 5)]
    blocks = plan_blocks(tags, max_gap=16)
    groups = {(b.device, b.unit, b.table, b.scan): [t.name for t in b.tags] for b in blocks}
    assert groups == {("dev", 1, "hr", "fast"): ["a", "f"], ("dev", 2, "hr", "fast"): ["b"],
                      ("dev", 1, "ir", "fast"): ["c"], ("dev", 1, "hr", "slow"): ["d"],
                      ("other", 1, "hr", "fast"): ["e"]}


def test_bits_of_one_register_share_it():
    tags = [tag(f"s{n}", 20, "bit", bit=n) for n in (15, 0, 7)] + [tag("w", 21)]
    [block] = plan_blocks(tags, max_gap=0)
    assert (block.start, block.count) == (20, 2)
    assert [t.bit for t in block.tags[:3]] == [0, 7, 15]


def test_bit_tables_use_max_bits_and_a_gap_in_bits_of_equal_line_time():
    coils = [tag("a", 0, "bool", table="co"), tag("b", 200, "bool", table="co"),
             tag("c", 500, "bool", table="co")]
    # max_gap 16 registers = 32 bytes = 256 bits: 199 unused coils are read, 299 are not.
    assert spans(plan_blocks(coils, max_gap=16)) == [(0, 201), (500, 1)]
    assert spans(plan_blocks(coils, max_gap=16, max_bit_gap=300)) == [(0, 501)]
    assert spans(plan_blocks(coils, max_gap=16, max_bits=100)) == [(0, 1), (200, 1), (500, 1)]


def test_invalid_limits_are_refused():
    with pytest.raises(ValueError, match="max_registers"):
        plan_blocks([], max_registers=126, max_gap=0)
    with pytest.raises(ValueError, match="max_gap"):
        plan_blocks([], max_gap=-1)


# --- tags larger than one request --------------------------------------------------------

def test_card_of_407_registers_is_split_over_consecutive_blocks():
    card = tag("card", 0, "int16", table="ir", count=407)
    blocks = plan_blocks([card], max_gap=16)
    assert spans(blocks) == [(0, 125), (125, 125), (250, 125), (375, 32)]
    segments = [s for b in blocks for s in b.segments]
    assert [(s.tag_offset, s.block_offset, s.length) for s in segments] == [
        (0, 0, 125), (125, 0, 125), (250, 0, 125), (375, 0, 32)]
    assert all(b.tags == () and not b.empty for b in blocks)


def test_split_pieces_hold_whole_elements_and_fill_the_open_block():
    tags = [tag("head", 0, "float32"), tag("card", 2, "float32", count=200),
            tag("tail", 402, "uint16")]
    blocks = plan_blocks(tags, max_gap=0)
    # 125 is odd: pieces hold 62 floats (124 registers); the first fills head's block.
    assert spans(blocks) == [(0, 124), (124, 124), (248, 124), (372, 31)]
    assert [t.name for t in blocks[0].tags] == ["head"]
    assert [t.name for t in blocks[-1].tags] == ["tail"]
    assert all(s.length % 2 == 0 and s.tag_offset % 2 == 0 for b in blocks for s in b.segments)


def test_element_larger_than_a_request_is_split_by_register():
    text = tag("serial", 10, "string", strings=200)
    assert spans(plan_blocks([text], max_gap=0)) == [(10, 125), (135, 75)]
    wide = tag("total", 0, "float64")
    assert spans(plan_blocks([wide], max_registers=3, max_gap=0)) == [(0, 3), (3, 1)]


# --- property: every tag read exactly once, within limits, with no needless requests ------

@st.composite
def tag_layouts(draw):
    kinds = st.sampled_from([("uint16", 1, 0), ("float32", 1, 0), ("float64", 1, 0),
                             ("int16", 407, 0), ("float32", 200, 0), ("int32", 7, 0),
                             ("string", 1, 3), ("string", 1, 130), ("bit", 1, 0)])
    tags, address = [], draw(st.integers(0, 50))
    for i in range(draw(st.integers(1, 25))):
        type_, count, strings = draw(kinds)
        t = tag(f"t{i}", address, type_, count=count, strings=strings,
                bit=0 if type_ == "bit" else None)
        tags.append(t)
        address = t.end_address + draw(st.integers(0, 40))
    return tags


def _pieces(block: Block) -> list[tuple[int, int, TagDef]]:
    out = [(t.address, t.end_address, t) for t in block.tags]
    out += [(s.tag.address + s.tag_offset, s.tag.address + s.tag_offset + s.length, s.tag)
            for s in block.segments]
    return sorted(out, key=lambda p: p[0])


@settings(max_examples=150, deadline=None)
@given(tag_layouts(), st.integers(1, 125), st.integers(0, 30))
def test_plan_properties(tags, limit, gap):
    blocks = plan_blocks(tags, max_registers=limit, max_gap=gap)
    covered: dict[str, list[tuple[int, int]]] = {}
    previous = None
    for b in blocks:
        assert 1 <= b.count <= limit
        pieces = _pieces(b)
        assert b.start == pieces[0][0] and b.end == max(p[1] for p in pieces)
        for (_, end0, _), (start1, _, _) in itertools.pairwise(pieces):
            assert start1 - end0 <= gap
        for t in b.tags:
            covered.setdefault(t.name, []).append((0, t.total_registers))
        for s in b.segments:
            assert b.start + s.block_offset == s.tag.address + s.tag_offset
            assert s.block_offset + s.length <= b.count
            if s.tag.registers_per_value <= limit:  # whole elements per piece
                assert s.tag_offset % s.tag.registers_per_value == 0
                assert s.length % s.tag.registers_per_value == 0
            covered.setdefault(s.tag.name, []).append((s.tag_offset, s.tag_offset + s.length))
        if previous is not None:
            assert previous.end <= b.start  # blocks of a group never overlap
            # Greedy maximality: the first piece of b could not have joined (any of) it.
            first_start, first_end, first = pieces[0]
            unit = first.registers_per_value if first.registers_per_value <= limit else 1
            whole = (first_start, first_end) == (first.address, first.end_address)
            need = first_end if whole else first_start + unit
            assert first_start - previous.end > gap or need - previous.start > limit
        previous = b
    for t in tags:  # each tag exactly once: whole, or pieces tiling it end to end
        parts = sorted(covered[t.name])
        assert parts[0][0] == 0 and parts[-1][1] == t.total_registers
        assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))
    # Never more requests than reading each tag on its own would take.
    alone = 0
    for t in tags:
        size = t.registers_per_value
        alone += (math.ceil(t.count / (limit // size)) if size <= limit
                  else math.ceil(t.total_registers / limit))
    assert len(blocks) <= alone


# --- break-even gap -------------------------------------------------------------------------

def test_break_even_gap_lands_on_the_published_figures():
    # PITFALLS.md: about 14 at 9600, 18 at 19200, 77 at 115200 for a 10 ms turnaround,
    # 11-bit characters (8E1, or 8N2).
    assert break_even_gap(9600, "E", 1) == 14
    assert break_even_gap(19200, "E", 1) == 18
    assert break_even_gap(115200, "E", 1) == 77
    assert break_even_gap(19200, "N", 2) == 18


def test_break_even_gap_follows_the_formula():
    # 8N1 at 19200: char 10/19200 s; request = 13 chars + 2 x 3.5 chars + turnaround.
    char = 10 / 19200
    assert break_even_gap(19200, "N", 1, 0.0) == math.floor((13 + 7) * char / (2 * char)) == 10
    # Above 19200 baud the silent interval is a fixed 1.75 ms, not 3.5 characters.
    char = 11 / 38400
    assert break_even_gap(38400, "E", 1, 0.0) == math.floor((13 * char + 0.0035) / (2 * char))
    assert break_even_gap(9600, "E", 1, 0.050) > break_even_gap(9600, "E", 1, 0.010)


@pytest.mark.parametrize("args", [(0, "E", 1), (9600, "X", 1), (9600, "E", 3),
                                  (9600, "E", 1, -0.001)])
def test_break_even_gap_rejects_nonsense(args):
    with pytest.raises(ValueError):
        break_even_gap(*args)


def test_device_default_gaps():
    assert default_gap(device()) == TCP_DEFAULT_GAP
    assert default_gap(device("modbus-rtu", baud=19200, serial_port="/dev/x")) == 18
    assert default_gap(device("modbus-rtu", baud=9600, serial_port="/dev/x")) == 14
    assert default_gap(device(max_gap=3)) == 3
    tags = [tag("a", 0), tag("b", 19)]  # gap 18
    planner = Planner()
    assert len(planner.plan(tags, device("modbus-rtu", serial_port="/dev/x"))) == 1
    assert len(planner.plan(tags, device("modbus-rtu", baud=9600, serial_port="/dev/x"))) == 2
    assert planner.plan([*tags, tag("z", 0, device="other")], device(max_registers=10)) == \
        plan_blocks(tags, max_registers=10, max_gap=16)


# --- exception 02: split, remember, mark bad ----------------------------------------------

def test_split_halves_on_tag_boundaries_and_is_remembered():
    tags = [tag(f"t{i}", i * 10, "float32") for i in range(8)]
    planner = Planner()
    [block] = planner.plan(tags, device())
    halves = planner.split(block)
    assert [[t.name for t in h.tags] for h in halves] == [
        [f"t{i}" for i in range(4)], [f"t{i}" for i in range(4, 8)]]
    assert spans(halves) == [(0, 32), (40, 32)]
    assert planner.plan(tags, device()) == halves  # the next plan (a reload) keeps the split
    quarter = planner.split(halves[1])
    assert spans(quarter) == [(40, 12), (60, 12)]
    assert spans(planner.plan(tags, device())) == [(0, 32), (40, 12), (60, 12)]
    assert planner.cuts()[("dev", 1, "hr")] == ((32, 40), (52, 60))


def test_split_keeps_bits_of_one_register_together():
    tags = [tag("b0", 5, "bit", bit=0), tag("b1", 5, "bit", bit=1)]
    planner = Planner()
    [block] = planner.plan(tags, device())
    assert planner.split(block, now=0.0) == []
    assert planner.is_bad(block, now=1.0)


def test_single_tag_refused_is_bad_until_retry_or_replan():
    planner = Planner()
    [block] = planner.plan([tag("x", 7, "float64")], device())
    assert planner.split(block, now=100.0) == []
    assert planner.is_bad(block, now=100.0 + BAD_RETRY_S - 1)
    assert not planner.is_bad(block, now=100.0 + BAD_RETRY_S)  # retry due
    assert planner.split(block, now=1000.0) == []
    planner.plan([tag("x", 7, "float64")], device())  # a reload retries at once
    assert not planner.is_bad(block, now=1001.0)
    planner.split(block, now=1002.0)
    planner.forget("dev")
    assert not planner.is_bad(block, now=1003.0)


def test_split_of_a_block_of_pieces_cuts_between_them():
    tags = [tag("a", 0), tag("card", 1, "int16", count=200)]
    planner = Planner()
    blocks = planner.plan(tags, device())
    assert spans(blocks) == [(0, 125), (125, 76)]
    halves = planner.split(blocks[0])
    assert spans(halves) == [(0, 1), (1, 124)]
    assert halves[1].tags == () and halves[1].segments[0].length == 124
    assert spans(planner.plan(tags, device())) == [(0, 1), (1, 125), (126, 75)]


def _poll(planner: Planner, blocks: list[Block], bank: RegisterBank, now: float
          ) -> tuple[dict[str, object], int, list[Block]]:
    """What acqd does with a plan: read each block; on exception 02 split and read the parts."""
    values: dict[str, object] = {}
    gather = Gather()
    reads, pending, bad = 0, list(blocks), []
    while pending:
        block = pending.pop(0)
        if planner.is_bad(block, now):
            bad.append(block)
            continue
        reads += 1
        words = bank.read(block.table, block.start, block.count)
        if words is None:  # the simulator's exception 02
            parts = planner.split(block, now)
            pending[:0] = parts
            if not parts:
                bad.append(block)
            continue
        decoder = BlockDecoder(block)
        eng, _ = decoder.decode(words)
        values.update(zip([t.name for t in decoder.scalar_tags], eng.tolist(), strict=True))
        values.update({t.name: v for t, v in decoder.arrays(words)})
        for segment, part in decoder.parts(words):
            whole = gather.add(segment, part, tick=int(now))
            if whole is not None:
                values[segment.tag.name] = decode_tag(segment.tag, whole)
    return values, reads, bad


def test_exception_02_against_the_simulator_bank_converges_and_is_remembered():
    bank = RegisterBank()
    tags = [tag("thp", 0, "float32", order="CDAB"), tag("chp", 2, "float32", order="CDAB"),
            tag("spm", 10, "int16", scale=0.1), tag("ghost", 14, "uint16"),
            tag("runtime", 20, "uint32"), tag("card", 30, "int16", count=300)]
    bank.set_value("hr", 0, "float32", 512.5, "CDAB")
    bank.set_value("hr", 2, "float32", 88.25, "CDAB")
    bank.set_value("hr", 10, "int16", 7.3, scale=0.1)
    bank.set_value("hr", 20, "uint32", 123456)
    card = np.arange(300) * 3 - 450
    bank.set_array("hr", 30, "int16", card.tolist())
    # hr 4..9, 12..19 and 22..29 are not implemented: only 'ghost' (hr 14) is a map error,
    # the gaps are the device's holes that coalescing reads through.
    planner = Planner()
    dev = device()
    values, reads, bad = _poll(planner, planner.plan(tags, dev), bank, now=0.0)
    assert values["thp"] == 512.5 and values["chp"] == 88.25
    assert values["spm"] == pytest.approx(7.3) and values["runtime"] == 123456
    assert np.array_equal(values["card"], card)
    assert "ghost" not in values
    assert [t.name for b in bad for t in b.tags] == ["ghost"]
    assert reads > 4
    # The next scan knows the splits: no more exceptions, the bad tag is skipped.
    again = planner.plan(tags, dev)
    planner.split(next(b for b in again if b.tags and b.tags[0].name == "ghost"), now=0.0)
    values2, reads2, bad2 = _poll(planner, again, bank, now=1.0)
    assert reads2 == len(again) - 1 and values2.keys() == values.keys()
    assert all(bank.read(b.table, b.start, b.count) is not None for b in again
               if b not in bad2)
    # After the retry period the bad tag is tried (and refused) again, once.
    _, reads3, bad3 = _poll(planner, again, bank, now=BAD_RETRY_S + 1)
    assert reads3 == len(again) and len(bad3) == 1


def test_tags_changed_by_reload_keep_the_learned_cut():
    planner = Planner()
    tags = [tag("a", 0), tag("b", 5), tag("c", 10)]
    [block] = planner.plan(tags, device())
    planner.split(block)
    renamed = [replace(t, name=t.name.upper(), line=99) for t in tags]
    assert all(b.end <= 5 or b.start >= 5 for b in planner.plan(renamed, device()))
