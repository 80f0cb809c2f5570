"""Byte layout of a ring file, and the checksums that make reads whole.

A ring file (see docs/ring.md for a drawing) is, in order, all little-endian and every
region aligned to 64 bytes:

    header      256 bytes: magic, layout version, tag-map version, slot counts, history
                depth, region offsets, a CRC of the static part; then the two mutable
                words (superseded flag, writer pid) that the CRC leaves out
    slot table  per slot: offset/length of its name and units in the text blob, array
                length (0 = scalar), offset of its array region
    text blob   UTF-8 names and units
    live[0..1]  two copies of the latest-values block (double buffer); each is
                [generation u64, crc u64] + values f64[n] + ts i64[n] + quality u32[n]
    history     five [depth, n] arrays: value f64, ts i64, seq u64, quality u32, check u32
    counts      u64[n]: samples ever written per slot (the writer's own bookkeeping, kept
                in the file so that a successor continues each tag's sequence)
    arrays      per array slot, two buffers of [seq u64, ts i64, quality u32, count u32,
                crc u64] + f64[length]

Consistency without memory barriers.  Readers run in other processes, maybe on other
cores of a weakly ordered CPU (ARM64), and Python gives us no fences: a reader may see the
writer's stores in any order, so "generation unchanged before and after the copy" (a
seqlock) proves nothing there.  Every published unit therefore carries a checksum of its
own content, and a reader accepts a copy only if the copy matches its checksum:

* a live block stores CRC-32 of (generation, block body) in its header.  Whatever subset
  of the writer's stores a reader happens to see, a copy that mixes two states fails the
  CRC (odds of a false match 2**-32 per torn copy, and torn copies need a writer that is
  rewriting that very buffer during the microseconds of the copy);
* an array buffer stores CRC-32 of its header fields and elements, the same way;
* a history record (value, ts, quality, seq) stores a 32-bit hash of its four fields, so
  a record half overwritten by the next lap is dropped, and seq orders what is left.

The check is always computed over the reader's private copy, never over the mapping (which
may change between the check and the use).  Nothing here depends on the order in which
stores become visible, so it holds on ARM64 as on x86-64; readers also refuse a whole copy
older than one they already returned (reader.py), which weak ordering could otherwise show.

The CRC is zlib's (ISO 3309 / ITU-T V.42 polynomial), ~5 GB/s here: 2 MB for 100k tags
costs ~0.4 ms.  The record hash is MurmurHash3's 64-bit finalizer (fmix64, Austin
Appleby, public domain) over a linear combination of the fields, vectorised in numpy.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"WGRING\x00\x01"
LAYOUT_VERSION = 1
HEADER_SIZE = 256
ALIGN = 64
MAX_TEXT_BYTES = 0xFFFF  # one name or units string, UTF-8 encoded

# Static header: magic, layout version, header size, tag-map version, n slots, n arrays,
# history depth, text blob size, then offsets of: slot table, text, live[0], history,
# counts, arrays; live block size; total size; created (ns).  CRC-32 of these bytes, the
# slot table and the text follows at STATIC_CRC_AT.
_STATIC = struct.Struct("<8sIIqIIII9Q")
STATIC_CRC_AT = _STATIC.size  # u32
SUPERSEDED_AT = 128  # u32, outside the CRC: set once, when a newer file replaces this one
WRITER_PID_AT = 132  # u32, outside the CRC

LIVE_HEAD = 16  # generation u64, crc u64
ARRAY_HEAD = 32  # seq u64, ts i64, quality u32, count u32, crc u64
ARRAY_CRC_SPAN = 24  # the header bytes covered by the array CRC (all but the CRC itself)

SLOT_DTYPE = np.dtype([("text_off", "<u4"), ("name_len", "<u2"), ("units_len", "<u2"),
                       ("length", "<u4"), ("array_no", "<i4"), ("array_off", "<u8")])


class RingError(Exception):
    """A ring file is missing, foreign, damaged or of another layout version."""

    def __init__(self, path: Path | str, what: str) -> None:
        self.path = str(path)
        self.what = what
        super().__init__(f"{path}: {what}")


class RingBusyError(RingError):
    """No consistent copy could be taken within the reader's time bound."""


@dataclass(frozen=True, slots=True)
class SlotSpec:
    """One tag of a ring: a scalar (length 0) or an array of up to `length` float64."""

    name: str
    length: int = 0
    units: str = ""


def _up(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything is in a file with these slots; computed identically on both sides."""

    n_slots: int
    n_arrays: int
    history_depth: int
    text_size: int
    table_off: int
    text_off: int
    live_off: int
    live_size: int
    hist_off: int
    counts_off: int
    arrays_off: int
    total_size: int

    def live_at(self, k: int) -> int:
        return self.live_off + k * self.live_size

    def hist_at(self, field: int) -> int:
        """Offset of history field 0..4 (value, ts, seq, quality, check)."""
        n, d = self.n_slots, self.history_depth
        sizes = (8, 8, 8, 4, 4)
        return self.hist_off + sum(_up(s * n * d) for s in sizes[:field])


def array_buffer_size(length: int) -> int:
    return ARRAY_HEAD + 8 * length


def plan(slots: Sequence[SlotSpec], history_depth: int) -> tuple[Layout, np.ndarray, bytes]:
    """The layout, slot table and text blob for `slots` (validated here: programmer input)."""
    if history_depth < 0:
        raise ValueError(f"history_depth must be >= 0, not {history_depth}")
    seen: set[str] = set()
    table = np.zeros(len(slots), dtype=SLOT_DTYPE)
    text = bytearray()
    lengths = []
    for i, s in enumerate(slots):
        if not s.name or "\x00" in s.name:
            raise ValueError(f"slot {i}: a tag name must be non-empty and without NUL")
        if s.name in seen:
            raise ValueError(f"slot {i}: tag {s.name!r} appears twice")
        if s.length < 0:
            raise ValueError(f"tag {s.name!r}: array length must be >= 0, not {s.length}")
        seen.add(s.name)
        name_b, units_b = s.name.encode(), s.units.encode()
        if len(name_b) > MAX_TEXT_BYTES or len(units_b) > MAX_TEXT_BYTES:
            raise ValueError(f"tag {s.name[:40]!r}: name or units longer than "
                             f"{MAX_TEXT_BYTES} bytes")
        table[i] = (len(text), len(name_b), len(units_b), s.length, -1, 0)
        text += name_b + units_b
        lengths.append(s.length)
    n = len(slots)
    table_off = HEADER_SIZE
    text_off = _up(table_off + table.nbytes)
    live_off = _up(text_off + len(text))
    live_size = _up(LIVE_HEAD + 20 * n)
    hist_off = live_off + 2 * live_size
    hist_size = sum(_up(s * n * history_depth) for s in (8, 8, 8, 4, 4))
    counts_off = _up(hist_off + hist_size)
    arrays_off = _up(counts_off + 8 * n)
    at = arrays_off
    n_arrays = 0
    for i, length in enumerate(lengths):
        if length:
            table[i]["array_no"] = n_arrays
            table[i]["array_off"] = at
            n_arrays += 1
            at = _up(at + 2 * array_buffer_size(length))
    layout = Layout(n, n_arrays, history_depth, len(text), table_off, text_off, live_off,
                    live_size, hist_off, counts_off, arrays_off, max(at, HEADER_SIZE))
    return layout, table, bytes(text)


def pack_static(layout: Layout, tagmap_version: int, created_ns: int) -> bytes:
    return _STATIC.pack(MAGIC, LAYOUT_VERSION, HEADER_SIZE, tagmap_version, layout.n_slots,
                        layout.n_arrays, layout.history_depth, layout.text_size,
                        layout.table_off, layout.text_off, layout.live_off, layout.hist_off,
                        layout.counts_off, layout.arrays_off, layout.live_size,
                        layout.total_size, created_ns)


def static_crc(static: bytes, table: bytes, text: bytes) -> int:
    return zlib.crc32(text, zlib.crc32(table, zlib.crc32(static)))


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What the header says, after every check on it has passed."""

    layout: Layout
    tagmap_version: int
    created_ns: int
    names: tuple[str, ...]
    units: tuple[str, ...]
    lengths: np.ndarray  # uint32 per slot, 0 = scalar
    array_offs: np.ndarray  # uint64 per slot, 0 for scalars


def read_info(buf: mmap.mmap | bytes, size: int, path: Path) -> FileInfo:
    """Parse and check a file's header, slot table and names; RingError says what is wrong."""
    if size < HEADER_SIZE:
        if size >= 8 and bytes(buf[:8]) != MAGIC:
            raise RingError(path, "not a wellgate ring file (bad magic)")
        raise RingError(path, f"truncated: {size} bytes, shorter than the header")
    (magic, version, head, tagmap_version, n, n_arrays, depth, text_size, table_off,
     text_off, live_off, hist_off, counts_off, arrays_off, live_size, total,
     created) = _STATIC.unpack(
        bytes(buf[:_STATIC.size]))
    if magic != MAGIC:
        raise RingError(path, "not a wellgate ring file (bad magic)")
    if version != LAYOUT_VERSION:
        raise RingError(path, f"unsupported layout version {version} "
                              f"(this build reads version {LAYOUT_VERSION})")
    if head != HEADER_SIZE:
        raise RingError(path, f"damaged: header size {head}, expected {HEADER_SIZE}")
    if total > size or text_off + text_size > size:
        raise RingError(path, f"truncated: {size} bytes, the header says {total}")
    table_end = table_off + n * SLOT_DTYPE.itemsize
    if table_end > size:
        raise RingError(path, f"truncated: {size} bytes, the header says {total}")
    (stored,) = struct.unpack_from("<I", buf, STATIC_CRC_AT)
    table_b = bytes(buf[table_off:table_end])
    text = bytes(buf[text_off:text_off + text_size])
    if static_crc(bytes(buf[:_STATIC.size]), table_b, text) != stored:
        raise RingError(path, "damaged: header or name table checksum does not match")
    layout = Layout(n, n_arrays, depth, text_size, table_off, text_off, live_off, live_size,
                    hist_off, counts_off, arrays_off, total)
    table = np.frombuffer(table_b, dtype=SLOT_DTYPE)
    names, units = [], []
    try:
        for off, nl, ul in zip(table["text_off"].tolist(), table["name_len"].tolist(),
                               table["units_len"].tolist(), strict=True):
            names.append(text[off:off + nl].decode())
            units.append(text[off + nl:off + nl + ul].decode())
    except UnicodeDecodeError as exc:
        raise RingError(path, "damaged: a tag name is not valid UTF-8") from exc
    return FileInfo(layout, tagmap_version, created, tuple(names), tuple(units),
                    table["length"].copy(), table["array_off"].copy())


def live_crc(gen: int, body: memoryview | np.ndarray) -> int:
    """CRC of a live block: the generation is folded in, so a stale CRC cannot match."""
    return zlib.crc32(body, zlib.crc32(gen.to_bytes(8, "little")))


def live_views(buf: mmap.mmap | np.ndarray, off: int, n: int) -> tuple[np.ndarray, ...]:
    """(head u64[2], values f64[n], ts i64[n], quality u32[n]) of a live block at `off`."""
    head = np.frombuffer(buf, np.uint64, 2, off)
    values = np.frombuffer(buf, np.float64, n, off + LIVE_HEAD)
    ts = np.frombuffer(buf, np.int64, n, off + LIVE_HEAD + 8 * n)
    quality = np.frombuffer(buf, np.uint32, n, off + LIVE_HEAD + 16 * n)
    return head, values, ts, quality


def counts_view(buf: mmap.mmap, layout: Layout) -> np.ndarray:
    """Samples ever written per slot; sample s of slot i sits at row (s-1) % depth."""
    return np.frombuffer(buf, np.uint64, layout.n_slots, layout.counts_off)


def history_views(buf: mmap.mmap, layout: Layout) -> tuple[np.ndarray, ...]:
    """(value, ts, seq, quality, check), each [depth, n], sample of slot i at (seq-1) % depth."""
    shape = (layout.history_depth, layout.n_slots)
    count = shape[0] * shape[1]
    dtypes = (np.float64, np.int64, np.uint64, np.uint32, np.uint32)
    return tuple(np.frombuffer(buf, dt, count, layout.hist_at(f)).reshape(shape)
                 for f, dt in enumerate(dtypes))


_K = tuple(np.uint64(k) for k in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F,
                                   0x165667B19E3779F9, 0x27D4EB2F165667C5))
_F1, _F2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_S33, _S32 = np.uint64(33), np.uint64(32)


def record_check(values: np.ndarray, ts: np.ndarray, quality: np.ndarray,
                 seq: np.ndarray) -> np.ndarray:
    """32-bit check of history records (arrays broadcast together; result uint32).

    The linear combination uses odd multipliers, so changing any single field changes its
    input; fmix64 (MurmurHash3, a bijection on 64 bits) then spreads that change over the
    high 32 bits kept.  Torn records thus fail the check except with odds ~2**-32.
    """
    v = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    h = v * _K[0]
    h += np.asarray(ts, dtype=np.int64).astype(np.uint64) * _K[1]
    h += np.asarray(seq, dtype=np.uint64) * _K[2]
    h += np.asarray(quality, dtype=np.uint32).astype(np.uint64) * _K[3]
    h ^= h >> _S33
    h *= _F1
    h ^= h >> _S33
    h *= _F2
    h ^= h >> _S33
    return (h >> _S32).astype(np.uint32)


_ARRAY_HEAD = struct.Struct("<QqII")  # seq, ts, quality, count; the CRC (u64) follows


def write_array_buffer(mm: mmap.mmap, off: int, length: int, seq: int,
                       ts_ns: int, quality: int, values: np.ndarray) -> None:
    """Fill one array buffer and its CRC (elements past `count` are NaN)."""
    count = len(values)
    data = np.frombuffer(mm, np.float64, length, off + ARRAY_HEAD)
    data[:count] = values
    data[count:] = np.nan
    del data
    _ARRAY_HEAD.pack_into(mm, off, seq, ts_ns, quality, count)
    with memoryview(mm) as mv:
        crc = zlib.crc32(mv[off + ARRAY_HEAD:off + array_buffer_size(length)],
                         zlib.crc32(mv[off:off + ARRAY_CRC_SPAN]))
    struct.pack_into("<Q", mm, off + ARRAY_CRC_SPAN, crc)


def parse_array_buffer(raw: bytes) -> tuple[int, int, int, np.ndarray] | None:
    """(seq, ts, quality, values) of a copied array buffer, or None if it is not whole."""
    seq, ts, quality, count = _ARRAY_HEAD.unpack_from(raw, 0)
    (crc,) = struct.unpack_from("<Q", raw, ARRAY_CRC_SPAN)
    if zlib.crc32(raw[ARRAY_HEAD:], zlib.crc32(raw[:ARRAY_CRC_SPAN])) != crc:
        return None
    if 8 * count > len(raw) - ARRAY_HEAD:
        return None
    return seq, ts, quality, np.frombuffer(raw, np.float64, count, ARRAY_HEAD).copy()
