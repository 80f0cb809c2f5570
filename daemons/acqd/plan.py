"""Request planning: the tags of each (device, unit, table, scan) as the fewest reads.

Every Modbus request costs a round trip: on RS-485 a request frame, two silent intervals
and the slave's turnaround; over TCP a packet each way and a context switch.  So tags are
coalesced into blocks of at most `max_registers` (or `max_bits`), reading through unused
registers when the gap between two tags is cheaper to read than a new request.  A tag
larger than one request (a dynamometer card of 407 registers) is split over consecutive
blocks, on element boundaries where possible; each piece is a `Segment` and
`daemons/acqd/decode.py`'s `Gather` puts the pieces together again.

Devices answer exception 02 (illegal data address) when a block reads through a register
they do not implement.  `Planner.split` halves such a block on tag boundaries and
remembers the cut, so the next plan of the same map keeps those tags apart; a single tag
that is still refused is a tag-map error, marked bad and retried only every 10 minutes.
The derivation of the break-even gap is in docs/acqd-planning.md.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from daemons.core.config import DeviceConfig
from daemons.core.tagmap import BIT_TABLES, TagDef

# Modbus Application Protocol V1.1b3 §6.1-6.4: the largest quantities one read may ask for.
PROTOCOL_MAX_REGISTERS = 125
PROTOCOL_MAX_BITS = 2000

TCP_DEFAULT_GAP = 16  # TCP requests are cheap, but fewer round trips still win
DEFAULT_TURNAROUND_S = 0.010  # a typical slave's time to start answering (PITFALLS.md)
BAD_RETRY_S = 600.0  # how long a refused single tag waits before it is tried again

# Line-time model of one RTU read (Modbus over Serial Line V1.02 §2.5.1): the request is
# unit + function + address(2) + quantity(2) + CRC(2) = 8 bytes; the reply adds unit +
# function + byte count + CRC(2) = 5 bytes to its data, 2 bytes per register.
REQUEST_FRAME_BYTES = 8
REPLY_OVERHEAD_BYTES = 5
BYTES_PER_REGISTER = 2
# Silent interval between frames: 3.5 character times up to 19200 baud, a fixed 1.75 ms
# above (Modbus over Serial Line V1.02 §2.5.1.1, "t3.5").
SILENT_CHARS = 3.5
FAST_BAUD_LIMIT = 19200
FAST_SILENT_S = 0.00175
# A coil or input costs 1/8 byte against a register's 2 bytes: a gap of N registers is
# worth N * 16 bits on a bit table.
BITS_PER_GAP_REGISTER = 16

_Cut = tuple[int, int]  # (end of the tags before, start of the tags after): never joined
_GroupKey = tuple[str, int, str]  # (device, unit, table)


@dataclass(frozen=True, slots=True)
class Segment:
    """The part of a tag too large for one request that one block reads.

    Offsets and length are in registers (bits on co/di): the block's words
    [block_offset, block_offset + length) are the tag's words [tag_offset, ... + length).
    """

    tag: TagDef
    tag_offset: int
    block_offset: int
    length: int


@dataclass(frozen=True, slots=True)
class Block:
    """One read request, and what its reply holds."""

    device: str
    unit: int
    table: str
    start: int
    count: int
    tags: tuple[TagDef, ...]  # the tags wholly inside the block, in address order
    scan: str  # scan class of these tags
    segments: tuple[Segment, ...] = ()  # pieces of tags larger than one request

    @property
    def end(self) -> int:
        """First address after the block (exclusive)."""
        return self.start + self.count

    @property
    def key(self) -> tuple[str, int, str, int, int]:
        """(device, unit, table, start, count): what the request asks for."""
        return (self.device, self.unit, self.table, self.start, self.count)

    @property
    def is_bits(self) -> bool:
        return self.table in BIT_TABLES

    @property
    def empty(self) -> bool:
        """Reads nothing anyone asked for (no tags, no segments)."""
        return not self.tags and not self.segments

    def offset(self, tag: TagDef) -> int:
        """Where a tag wholly inside the block starts in its reply."""
        return tag.address - self.start


@dataclass(frozen=True, slots=True)
class _Piece:
    """A whole tag, or a contiguous part of one, as the planner places it."""

    tag: TagDef
    start: int
    end: int

    @property
    def whole(self) -> bool:
        return self.start == self.tag.address and self.end == self.tag.end_address


def break_even_gap(baud: int, parity: str, stop_bits: int,
                   turnaround_s: float = DEFAULT_TURNAROUND_S) -> int:
    """Unused registers worth reading through rather than starting a new RTU request.

    A character is start + 8 data + parity + stop bits.  A gap register costs 2 characters
    of line time; a new request costs the request frame (8), the reply's overhead (5), two
    silent intervals and the slave's turnaround.  The break-even gap is their ratio,
    rounded down: at 11 bits a character and 10 ms turnaround it is 14 at 9600 baud, 18 at
    19200 and 77 at 115200 (as PITFALLS.md quotes; derivation in docs/acqd-planning.md).
    """
    if baud <= 0:
        raise ValueError(f"baud must be positive, got {baud}")
    if parity.upper() not in ("N", "E", "O"):
        raise ValueError(f"parity must be N, E or O, got {parity!r}")
    if stop_bits not in (1, 2):
        raise ValueError(f"stop bits must be 1 or 2, got {stop_bits}")
    if not turnaround_s >= 0:
        raise ValueError(f"turnaround must be 0 or more seconds, got {turnaround_s}")
    char_bits = 1 + 8 + (0 if parity.upper() == "N" else 1) + stop_bits
    char_s = char_bits / baud
    silent_s = SILENT_CHARS * char_s if baud <= FAST_BAUD_LIMIT else FAST_SILENT_S
    request_s = ((REQUEST_FRAME_BYTES + REPLY_OVERHEAD_BYTES) * char_s + 2 * silent_s
                 + turnaround_s)
    return math.floor(request_s / (BYTES_PER_REGISTER * char_s))


def default_gap(device: DeviceConfig) -> int:
    """The device's max_gap: as configured, else the break-even gap (RTU) or 16 (TCP)."""
    if device.max_gap is not None:
        return device.max_gap
    if device.protocol == "modbus-rtu":
        return break_even_gap(device.baud, device.parity, device.stop_bits)
    return TCP_DEFAULT_GAP


def _split_tag(tag: TagDef, start: int, room: int, limit: int) -> int:
    """How many of the tag's words from `start` go into a block with `room` words left.

    Whole elements where an element fits one request (so each piece decodes on its own and
    a value is never torn between two reads); single words where it does not.  0 means
    not even one element fits the room: the piece must start a new block.
    """
    take = min(room, tag.end_address - start)
    size = tag.registers_per_value
    if size <= limit:
        take -= take % size  # pieces start on element boundaries, so they end on one too
    return take


class _GroupPlanner:
    """Greedy coalescing of one (device, unit, table, scan) group, tags in address order.

    A block holds a contiguous run of pieces in address order, and any contiguous part of
    a valid run is valid too (same or smaller span, same gaps), so closing a block only
    when the next piece cannot join it gives the fewest blocks for whole tags.  A tag too
    large for one request first fills what is left of the open block.
    """

    def __init__(self, limit: int, gap: int, cuts: Sequence[_Cut]) -> None:
        self.limit, self.gap, self.cuts = limit, gap, cuts
        self.blocks: list[list[_Piece]] = []
        self.start = self.end = 0

    def _joinable(self, start: int, end: int) -> bool:
        if not self.blocks:
            return False
        if start >= self.end:  # a real gap (or adjacent): check its size and the cuts
            if start - self.end > self.gap:
                return False
            if any(lo <= start and hi >= self.end for lo, hi in self.cuts):
                return False
        return max(end, self.end) - self.start <= self.limit

    def _add(self, piece: _Piece, new_block: bool) -> None:
        if new_block:
            self.blocks.append([piece])
            self.start, self.end = piece.start, piece.end
        else:
            self.blocks[-1].append(piece)
            self.end = max(self.end, piece.end)

    def add(self, tag: TagDef) -> None:
        if tag.total_registers <= self.limit:
            whole = _Piece(tag, tag.address, tag.end_address)
            self._add(whole, not self._joinable(tag.address, tag.end_address))
            return
        pos = tag.address
        while pos < tag.end_address:
            take = 0
            if self._joinable(pos, pos + 1):
                take = _split_tag(tag, pos, self.limit - (pos - self.start), self.limit)
            new_block = take <= 0
            if new_block:
                take = _split_tag(tag, pos, self.limit, self.limit)
            self._add(_Piece(tag, pos, pos + take), new_block)
            pos += take


def _block(pieces: Sequence[_Piece], scan: str) -> Block:
    first = pieces[0].tag
    start = min(p.start for p in pieces)
    end = max(p.end for p in pieces)
    tags = tuple(sorted({p.tag for p in pieces if p.whole},
                        key=lambda t: (t.address, t.bit or 0, t.name)))
    segments = tuple(Segment(p.tag, p.start - p.tag.address, p.start - start, p.end - p.start)
                     for p in pieces if not p.whole)
    return Block(first.device, first.unit, first.table, start, end - start, tags, scan,
                 segments)


def _pieces_of(block: Block) -> list[_Piece]:
    pieces = [_Piece(t, t.address, t.end_address) for t in block.tags]
    pieces += [_Piece(s.tag, s.tag.address + s.tag_offset,
                      s.tag.address + s.tag_offset + s.length) for s in block.segments]
    return sorted(pieces, key=lambda p: (p.start, p.end, p.tag.name))


def plan_blocks(tags: Iterable[TagDef], *, max_registers: int = PROTOCOL_MAX_REGISTERS,
                max_bits: int = PROTOCOL_MAX_BITS, max_gap: int,
                max_bit_gap: int | None = None,
                cuts: Mapping[_GroupKey, Sequence[_Cut]] | None = None) -> list[Block]:
    """The fewest blocks that read every tag, grouped by (device, unit, table, scan).

    `max_gap` is in registers; on coils and discrete inputs the gap is `max_bit_gap` bits,
    by default the same line time (max_gap * 16).  `cuts` are boundaries learned from
    exception 02 (see `Planner`): (end, start) pairs that no block may read across.
    Blocks come sorted by device, unit, scan, table and address.
    """
    if not 1 <= max_registers <= PROTOCOL_MAX_REGISTERS:
        raise ValueError(f"max_registers must be 1-{PROTOCOL_MAX_REGISTERS}, got {max_registers}")
    if not 1 <= max_bits <= PROTOCOL_MAX_BITS:
        raise ValueError(f"max_bits must be 1-{PROTOCOL_MAX_BITS}, got {max_bits}")
    if max_gap < 0:
        raise ValueError(f"max_gap must be 0 or more, got {max_gap}")
    bit_gap = max_gap * BITS_PER_GAP_REGISTER if max_bit_gap is None else max_bit_gap
    groups: dict[tuple[str, int, str, str], list[TagDef]] = {}
    for t in tags:
        groups.setdefault((t.device, t.unit, t.scan, t.table), []).append(t)
    blocks: list[Block] = []
    for (device, unit, scan, table), members in sorted(groups.items(), key=lambda kv: kv[0]):
        bits = table in BIT_TABLES
        group = _GroupPlanner(max_bits if bits else max_registers, bit_gap if bits else max_gap,
                              (cuts or {}).get((device, unit, table), ()))
        for t in sorted(members, key=lambda t: (t.address, t.end_address, t.bit or 0, t.name)):
            group.add(t)
        blocks.extend(_block(pieces, scan) for pieces in group.blocks)
    return blocks


class Planner:
    """Plans each device's reads and remembers what exception 02 taught it.

    Splits are kept as cuts per (device, unit, table), by address, so they survive a
    tag-map reload that leaves those tags where they were.  Not thread-safe: one per
    acqd, used from its event loop.
    """

    def __init__(self, *, bad_retry_s: float = BAD_RETRY_S) -> None:
        self.bad_retry_s = bad_retry_s
        self._cuts: dict[_GroupKey, set[_Cut]] = {}
        self._bad: dict[tuple[str, int, str, int, int], float] = {}  # block key -> retry at

    def plan(self, tags: Iterable[TagDef], device: DeviceConfig) -> list[Block]:
        """Blocks for the tags of `device` (others are ignored), honouring learned splits.

        Planning again (start, reload) also clears the device's bad marks, so a reload
        retries a refused tag at once rather than after the retry period.
        """
        mine = [t for t in tags if t.device == device.name]
        self._bad = {k: v for k, v in self._bad.items() if k[0] != device.name}
        cuts = {k: tuple(sorted(v)) for k, v in self._cuts.items() if k[0] == device.name}
        return plan_blocks(mine, max_registers=device.max_registers, max_bits=device.max_bits,
                           max_gap=default_gap(device), cuts=cuts)

    def split(self, block: Block, now: float | None = None) -> list[Block]:
        """Answer to exception 02 on `block`: its two halves, split on a tag boundary.

        Tags that share a register (bit:N) stay together.  A block of one tag (or one such
        group) cannot be split: it is marked bad until `bad_retry_s` has passed and `[]` is
        returned; its tags are a tag-map error (Bad config-error).
        """
        clusters: list[list[_Piece]] = []
        for p in _pieces_of(block):
            if clusters and p.start < max(q.end for q in clusters[-1]):
                clusters[-1].append(p)
            else:
                clusters.append([p])
        if len(clusters) < 2:
            clock = time.monotonic() if now is None else now
            self._bad[block.key] = clock + self.bad_retry_s
            return []
        middle = block.start + block.count / 2
        i = min(range(1, len(clusters)), key=lambda k: abs(clusters[k][0].start - middle))
        first = [p for c in clusters[:i] for p in c]
        second = [p for c in clusters[i:] for p in c]
        cut = (max(p.end for p in first), second[0].start)
        self._cuts.setdefault((block.device, block.unit, block.table), set()).add(cut)
        return [_block(first, block.scan), _block(second, block.scan)]

    def is_bad(self, block: Block, now: float | None = None) -> bool:
        """Whether `block` was refused as a single tag and its retry time has not come."""
        until = self._bad.get(block.key)
        if until is None:
            return False
        if (time.monotonic() if now is None else now) >= until:
            del self._bad[block.key]
            return False
        return True

    def cuts(self) -> Mapping[_GroupKey, tuple[_Cut, ...]]:
        """The learned splits, for status output and tests."""
        return MappingProxyType({k: tuple(sorted(v)) for k, v in self._cuts.items()})

    def forget(self, device: str) -> None:
        """Drop what was learned about a device (it was removed or re-addressed)."""
        self._cuts = {k: v for k, v in self._cuts.items() if k[0] != device}
        self._bad = {k: v for k, v in self._bad.items() if k[0] != device}
