"""Registers -> values, compiled once per block so each reply costs a few numpy calls.

At plan time a `BlockDecoder` turns its block's tags into one byte permutation: applied
to the reply's bytes (each register high byte first, as on the wire), it lays every
scalar out big-endian and grouped by type, so each type group is one `.view('>f4')`-style
reinterpretation and scaling is one multiply-add over all scalars.  No Python runs per tag
for the common scalar types.

Word orders, by the bytes A (most significant) .. D of a 32-bit value; the same rules
extend to 64-bit values over four registers (docs/tagmap-reference.md):

    ABCD  registers [AB, CD]   big-endian, the Modbus standard (spec V1.1b3 §4.2)
    CDAB  registers [CD, AB]   words reversed
    BADC  registers [BA, DC]   bytes swapped inside each word
    DCBA  registers [DC, BA]   both: fully little-endian

On one-register types only the byte swap has an effect (BADC and DCBA); strings follow it
too.  engineering = raw x scale + offset; bool and bit:N are 0/1, never scaled.

`raw` is kept beside the engineering value for the historian, which stores integers at
the tag's resolution.  It is a float64: exact for every integer type up to 32 bits and
for 64-bit integers up to 2**53 in magnitude; beyond that it is the nearest float64, and
`raw_value` gives the exact Python int (e.g. for a totaliser read back after a write).
"""

from __future__ import annotations

import math
import numbers
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from daemons.acqd.plan import Block, Segment
from daemons.core.tagmap import TagDef

Words = Sequence[int] | np.ndarray

# Big-endian numpy dtype and value range of each numeric type.
DTYPES = MappingProxyType({
    "int16": np.dtype(">i2"), "uint16": np.dtype(">u2"), "int32": np.dtype(">i4"),
    "uint32": np.dtype(">u4"), "int64": np.dtype(">i8"), "uint64": np.dtype(">u8"),
    "float32": np.dtype(">f4"), "float64": np.dtype(">f8"),
})
INT_RANGES = MappingProxyType({
    "int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1),
})
FLOAT_MAX = MappingProxyType({"float32": float(np.finfo(np.float32).max),
                              "float64": float(np.finfo(np.float64).max)})
# Scalars are laid out in this order of types (bit:N last, as 16-bit words).
_SCALAR_ORDER = ("float64", "float32", "int64", "uint64", "int32", "uint32", "int16",
                 "uint16", "bit")


def value_bytes(offset: int, registers: int, order: str) -> list[int]:
    """Positions, in a big-endian register image, of one value's bytes, most significant first.

    The value's words are at `offset`..`offset + registers - 1`; CDAB/DCBA store them last
    word first, BADC/DCBA store each word low byte first.
    """
    words = range(offset, offset + registers)
    if order in ("CDAB", "DCBA"):
        words = reversed(words)
    swap = order in ("BADC", "DCBA")
    return [b for w in words for b in ((2 * w + 1, 2 * w) if swap else (2 * w, 2 * w + 1))]


def _string_bytes(offset: int, registers: int, order: str) -> list[int]:
    """A string's bytes in reading order: first character in the high byte (byte swap
    honoured, word order not: text has no significance order)."""
    swap = order in ("BADC", "DCBA")
    return [b for w in range(offset, offset + registers)
            for b in ((2 * w + 1, 2 * w) if swap else (2 * w, 2 * w + 1))]


def _text(data: bytes) -> str:
    """ASCII up to the first NUL, surrounding spaces trimmed; other bytes become U+FFFD."""
    return data.split(b"\0", 1)[0].decode("ascii", "replace").strip(" ")


def _is_scalar(tag: TagDef) -> bool:
    return tag.count == 1 and tag.type != "string"


@dataclass(frozen=True, slots=True)
class _ArrayPlan:
    tag: TagDef
    perm: np.ndarray
    dtype: np.dtype


class BlockDecoder:
    """Decodes replies to one block: scalars vectorised, arrays and strings per tag."""

    def __init__(self, block: Block) -> None:
        self.block = block
        self.segments: tuple[Segment, ...] = block.segments
        scalars = [t for t in block.tags if _is_scalar(t)]
        rank = {name: i for i, name in enumerate(_SCALAR_ORDER)}
        scalars.sort(key=lambda t: (rank.get(t.type, -1), t.address, t.bit or 0, t.name))
        self.scalar_tags: tuple[TagDef, ...] = tuple(scalars)
        self.index = {t.name: i for i, t in enumerate(scalars)}
        self._pack = struct.Struct(f">{block.count}H")
        wrong = [t.name for t in scalars if (t.type == "bool") != block.is_bits]
        if wrong:  # the tag-map parser refuses these; a hand-made Block might not
            raise ValueError(f"block {block.key}: bool belongs on co/di and only there "
                             f"({', '.join(wrong)})")
        if block.is_bits:
            self._bit_offsets = np.array([block.offset(t) for t in scalars], dtype=np.intp)
        else:
            self._compile_scalars(scalars)
        self._arrays = [self._compile_array(t) for t in block.tags
                        if t.count > 1 and t.type != "string"]
        self._strings = [(t, np.array(_string_bytes(block.offset(t), t.total_registers,
                                                    t.order), dtype=np.intp))
                         for t in block.tags if t.type == "string"]

    def _compile_scalars(self, scalars: Sequence[TagDef]) -> None:
        perm: list[int] = []
        # (dtype or None for bits, first byte, end byte, first output, end output)
        groups: list[tuple[np.dtype | None, int, int, int, int]] = []
        for kind in _SCALAR_ORDER:
            members = [t for t in scalars if t.type == kind]
            if not members:
                continue
            first_byte, first_out = len(perm), self.index[members[0].name]
            for t in members:
                perm += value_bytes(self.block.offset(t), t.registers_per_value, t.order)
            groups.append((DTYPES.get(kind), first_byte, len(perm), first_out,
                           first_out + len(members)))
        self._perm = np.array(perm, dtype=np.intp)
        self._groups = tuple(groups)
        bits = [t for t in scalars if t.type == "bit"]
        self._shifts = np.array([t.bit or 0 for t in bits], dtype=np.uint16)
        # bool and bit:N read 0/1: scale and offset mean nothing for them (tag reference).
        self._scale = np.array([1.0 if t.type == "bit" else t.scale for t in scalars])
        self._offset = np.array([0.0 if t.type == "bit" else t.offset for t in scalars])

    def _compile_array(self, tag: TagDef) -> _ArrayPlan:
        size, base = tag.registers_per_value, self.block.offset(tag)
        perm = [b for i in range(tag.count)
                for b in value_bytes(base + i * size, size, tag.order)]
        return _ArrayPlan(tag, np.array(perm, dtype=np.intp), DTYPES[tag.type])

    def _image(self, registers: Words) -> np.ndarray:
        """The reply as bytes, each register high byte first (wire order)."""
        count = self.block.count
        if isinstance(registers, np.ndarray):
            if registers.shape != (count,):
                raise ValueError(f"block {self.block.key} expects {count} registers, got "
                                 f"shape {registers.shape}")
            return registers.astype(">u2", copy=False).view(np.uint8)
        try:
            return np.frombuffer(self._pack.pack(*registers), dtype=np.uint8)
        except struct.error as exc:
            raise ValueError(f"block {self.block.key} expects {count} registers of 0-65535, "
                             f"got {len(registers)}: {exc}") from exc

    def _bits(self, bits: Words) -> np.ndarray:
        # Bit replies come padded to whole bytes (pymodbus returns multiples of 8).
        if len(bits) < self.block.count:
            raise ValueError(f"block {self.block.key} expects {self.block.count} bits, got "
                             f"{len(bits)}")
        return np.asarray(bits, dtype=np.uint8)

    def decode(self, registers: Words) -> tuple[np.ndarray, np.ndarray]:
        """(engineering, raw) of `scalar_tags`, both float64 and in that order."""
        if self.block.is_bits:
            raw = self._bits(registers)[self._bit_offsets].astype(np.float64)
            return raw.copy(), raw
        laid = self._image(registers)[self._perm]
        raw = np.empty(len(self.scalar_tags))
        for dtype, b0, b1, o0, o1 in self._groups:
            if dtype is None:  # bit:N: the 16-bit word as the order gives it, then bit N
                raw[o0:o1] = (laid[b0:b1].view(">u2") >> self._shifts) & 1
            else:
                raw[o0:o1] = laid[b0:b1].view(dtype)
        # A device may send any float: inf after scaling is the honest result, not a
        # warning to log once per poll.
        with np.errstate(over="ignore", invalid="ignore"):
            eng = raw * self._scale
            eng += self._offset
        return eng, raw

    def arrays(self, registers: Words, *, raw: bool = False) -> list[tuple[TagDef, np.ndarray]]:
        """Engineering values (or raw, as float64) of each array tag wholly in the block."""
        if not self._arrays:
            return []
        image = self._image(registers)
        out = []
        for plan in self._arrays:
            values = image[plan.perm].view(plan.dtype).astype(np.float64)
            if not raw:
                with np.errstate(over="ignore", invalid="ignore"):
                    values *= plan.tag.scale
                    values += plan.tag.offset
            out.append((plan.tag, values))
        return out

    def strings(self, registers: Words) -> list[tuple[TagDef, str]]:
        """Each string tag's text; a string array's elements are joined with newlines."""
        if not self._strings:
            return []
        image = self._image(registers)
        out = []
        for tag, perm in self._strings:
            data = image[perm].tobytes()
            size = 2 * tag.string_registers
            out.append((tag, "\n".join(_text(data[i:i + size])
                                       for i in range(0, len(data), size))))
        return out

    def parts(self, registers: Words) -> list[tuple[Segment, np.ndarray]]:
        """The words (uint16, wire values) of each segment, for `Gather`."""
        if not self.segments:
            return []
        if self.block.is_bits:
            words = self._bits(registers)[: self.block.count].astype(np.uint16)
        else:
            words = self._image(registers).view(">u2").astype(np.uint16)
        return [(s, words[s.block_offset: s.block_offset + s.length].copy())
                for s in self.segments]


class Gather:
    """Joins the pieces of tags split over several blocks, one scan tick at a time.

    `add` each piece with the tick it was read for; when the last piece of a tick arrives
    the tag's whole register vector comes back (decode it with `decode_tag`).  A piece of
    a newer tick discards an incomplete older one, so a value is never stitched together
    from two different scans.
    """

    def __init__(self) -> None:
        self._open: dict[str, tuple[int, np.ndarray, np.ndarray]] = {}

    def add(self, segment: Segment, words: Words, tick: int) -> np.ndarray | None:
        tag = segment.tag
        entry = self._open.get(tag.name)
        if entry is None or entry[0] != tick or len(entry[1]) != tag.total_registers:
            entry = (tick, np.zeros(tag.total_registers, dtype=np.uint16),
                     np.zeros(tag.total_registers, dtype=bool))
            self._open[tag.name] = entry
        _, buf, have = entry
        end = segment.tag_offset + segment.length
        buf[segment.tag_offset:end] = words
        have[segment.tag_offset:end] = True
        if not have.all():
            return None
        del self._open[tag.name]
        return buf

    def discard(self, tag: TagDef) -> None:
        """Forget a tag's incomplete pieces (a piece could not be read)."""
        self._open.pop(tag.name, None)


def _whole_block(tag: TagDef) -> Block:
    return Block(tag.device, tag.unit, tag.table, tag.address, tag.total_registers, (tag,),
                 tag.scan)


def decode_tag(tag: TagDef, registers: Words) -> float | str | tuple[str, ...] | np.ndarray:
    """One tag from its own registers (bits on co/di): engineering float, array or text.

    For the commissioning CLI, write read-back and `Gather`; the hot path uses BlockDecoder.
    String arrays come back as a tuple of strings.
    """
    decoder = BlockDecoder(_whole_block(tag))
    if tag.type == "string":
        text = decoder.strings(registers)[0][1]
        return tuple(text.split("\n")) if tag.count > 1 else text
    if tag.count > 1:
        return decoder.arrays(registers)[0][1]
    return float(decoder.decode(registers)[0][0])


def raw_value(tag: TagDef, registers: Words) -> int | float:
    """The exact raw value of a scalar: a Python int for integer types (64-bit included),
    0/1 for bool and bit:N, a float for floats."""
    if tag.type == "string" or tag.count != 1:
        raise ValueError(f"{tag.name}: raw_value is for scalars, not {tag.type_spec}")
    words = [int(w) for w in registers]
    if len(words) != tag.total_registers:
        raise ValueError(f"{tag.name}: expects {tag.total_registers} registers, got "
                         f"{len(words)}")
    if tag.type == "bool":
        return 1 if words[0] else 0
    data = b"".join(w.to_bytes(2, "big") for w in words)
    value = bytes(data[i] for i in value_bytes(0, tag.registers_per_value, tag.order))
    if tag.type == "bit":
        return (int.from_bytes(value, "big") >> (tag.bit or 0)) & 1
    if tag.type in ("float32", "float64"):
        return float(np.frombuffer(value, dtype=DTYPES[tag.type])[0])
    return int.from_bytes(value, "big", signed=not tag.type.startswith("u"))


class EncodeError(ValueError):
    """A value that cannot be written to a tag, with the reason in English and Spanish."""

    def __init__(self, en: str, es: str) -> None:
        super().__init__(en)
        self.en, self.es = en, es

    def message(self, lang: str = "en") -> str:
        return self.es if lang == "es" else self.en


def _round_half_away(x: float) -> int:
    # Setpoints round the way a technician does by hand: 12.5 -> 13, -12.5 -> -13.
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def _to_raw(tag: TagDef, value: float) -> int | float:
    """Engineering -> raw of one numeric element, rounded and range-checked."""
    if not isinstance(value, numbers.Real):
        raise EncodeError(f"{tag.name}: {value!r} is not a number",
                          f"{tag.name}: {value!r} no es un número")
    raw: int | float
    if isinstance(value, numbers.Integral) and tag.scale == 1 and tag.offset == 0:
        raw = int(value)  # exact, even for 64-bit values a float64 cannot hold
    else:
        try:
            number = float(value)
        except OverflowError:
            number = math.inf if value > 0 else -math.inf
        if math.isnan(number) or (math.isinf(number) and not isinstance(value, numbers.Integral)):
            raise EncodeError(f"{tag.name}: {value} is not a finite number",
                              f"{tag.name}: {value} no es un número finito")
        raw = (number - tag.offset) / tag.scale
        if tag.type not in FLOAT_MAX and math.isfinite(raw):
            raw = _round_half_away(raw)
    if tag.type in FLOAT_MAX:
        if not abs(raw) <= FLOAT_MAX[tag.type]:
            limit = FLOAT_MAX[tag.type]
            raise EncodeError(f"{tag.name}: {value} exceeds the {tag.type} limit {limit:.7g} "
                              "(raw)", f"{tag.name}: {value} excede el límite de {tag.type} "
                              f"{limit:.7g} (crudo)")
        return float(raw)
    lo, hi = INT_RANGES[tag.type]
    if not lo <= raw <= hi:
        limit, word_en, word_es = (lo, "below", "menor que") if raw < lo else (hi, "above",
                                                                               "mayor que")
        eng = limit * tag.scale + tag.offset
        raise EncodeError(
            f"{tag.name}: {value} is {word_en} the {tag.type} limit {limit} (raw), "
            f"{eng:g} {tag.units}".rstrip(),
            f"{tag.name}: {value} es {word_es} el límite de {tag.type} {limit} (crudo), "
            f"{eng:g} {tag.units}".rstrip())
    return raw


def _words(tag: TagDef, raw: int | float) -> list[int]:
    data = np.array([raw], dtype=DTYPES[tag.type]).tobytes()  # big-endian, A first
    image = bytearray(len(data))
    for src, dst in enumerate(value_bytes(0, tag.registers_per_value, tag.order)):
        image[dst] = data[src]
    return [int.from_bytes(image[i:i + 2], "big") for i in range(0, len(image), 2)]


def _bit_value(tag: TagDef, value: float) -> int:
    if value not in (0, 1):
        raise EncodeError(f"{tag.name}: a bit takes 0 or 1, not {value}",
                          f"{tag.name}: un bit toma 0 o 1, no {value}")
    return int(value)


def _encode_string(tag: TagDef, text: str) -> list[int]:
    size = 2 * tag.string_registers
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise EncodeError(f"{tag.name}: only ASCII text can be written ({text!r})",
                          f"{tag.name}: solo se puede escribir texto ASCII ({text!r})") from exc
    if len(data) > size:
        raise EncodeError(f"{tag.name}: text of {len(data)} characters exceeds the limit "
                          f"{size}", f"{tag.name}: el texto de {len(data)} caracteres excede "
                          f"el límite {size}")
    data = data.ljust(size, b"\0")
    if tag.order in ("BADC", "DCBA"):
        data = bytes(data[i ^ 1] for i in range(size))
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, size, 2)]


def encode_value(tag: TagDef, value: float | str | Sequence[float], *,
                 current: int | None = None) -> list[int]:
    """Engineering value -> the registers (or the coil, as [0] / [1]) to write.

    raw = (value - offset) / scale, rounded half away from zero for integer types and
    checked against the type's range (EncodeError, a ValueError naming the tag and the
    limit).  bit:N needs `current`, the register as last read: writing one bit writes the
    whole register.  Strings take text; arrays take a sequence of `count` values.  An int
    value with scale 1 and offset 0 is written exactly, even a 64-bit one above 2**53.
    """
    if isinstance(value, np.generic):  # numpy scalars (np.float32, np.bool_) as Python's
        value = value.item()
    if tag.type == "string":
        items = [value] if tag.count == 1 else list(value)  # type: ignore[arg-type]
        if len(items) != tag.count or not all(isinstance(v, str) for v in items):
            raise EncodeError(f"{tag.name}: expects {tag.count} text value(s)",
                              f"{tag.name}: espera {tag.count} valor(es) de texto")
        return [w for v in items for w in _encode_string(tag, v)]  # type: ignore[arg-type]
    if isinstance(value, str):
        raise EncodeError(f"{tag.name}: {value!r} is not a number",
                          f"{tag.name}: {value!r} no es un número")
    if tag.count > 1:
        items = list(value)  # type: ignore[arg-type]
        if len(items) != tag.count:
            raise EncodeError(f"{tag.name}: expects {tag.count} values, got {len(items)}",
                              f"{tag.name}: espera {tag.count} valores, recibió {len(items)}")
        return [w for v in items for w in _words(tag, _to_raw(tag, v))]
    if not isinstance(value, numbers.Real):
        raise EncodeError(f"{tag.name}: {value!r} is not a number",
                          f"{tag.name}: {value!r} no es un número")
    if tag.type == "bool":
        return [_bit_value(tag, value)]
    if tag.type == "bit":
        if current is None:
            raise ValueError(f"{tag.name}: writing bit {tag.bit} needs the register's current "
                             "value")
        logical = raw_value(_whole_word(tag), [current])
        mask = 1 << (tag.bit or 0)
        word = (int(logical) | mask) if _bit_value(tag, value) else (int(logical) & ~mask)
        return _words(_whole_word(tag), word)
    return _words(tag, _to_raw(tag, value))


def _whole_word(tag: TagDef) -> TagDef:
    """The register a bit:N tag lives in, as a uint16 of the same byte order."""
    return TagDef(tag.name, tag.device, tag.unit, tag.table, tag.address, "uint16",
                  order=tag.order)
