"""Chunk codecs: one tag's samples of one window, and the flush-time staging batches.

Chosen by measurement (bench/history.py, figures in docs/history.md).  On 600-sample
chunks of 1 Hz signals at register resolution, pcodec (https://github.com/pcodec/pcodec,
"Pcodec: better compression for numerical sequences", Loncaric 2024) gave 0.29–0.54 B/pt
for analog, temperatures and totalizers, against 0.42–0.80 for integer delta + zstd, and
3–5 B/pt for Gorilla XOR of the scaled floats (Pelkonen et al., VLDB 2015, §4.1: 1.37 B/pt
on Facebook's data; XOR is defeated by decimal scaling, see PITFALLS.md).  Status words
that change rarely are better as runs, and so are aligned timestamps and quality.

Chunk blob (codec CHUNK_V1): magic b"H1", count (u32), then three sections — timestamps,
values, quality — each ``method (u8) + length (u32) + payload``.  Methods:
- RUNS: run-length pairs (value i64/f64/u32 and length u32); for timestamps the runs are of
  the *deltas* after the first timestamp, so aligned ticks cost a few bytes per chunk and a
  gap is one more run — both exact.
- PCO: pcodec standalone of the column (timestamps, int64, float32 when every value is
  exactly a float32, else float64).
Everything is lossless: a decoded chunk equals the encoded arrays bit for bit.
"""

from __future__ import annotations

import struct
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np

CHUNK_V1 = 1  # the codec id stored in chunks.codec
CHUNK_FAST = 4  # the same layout, values encoded for speed (to be compacted)
STAGING_V1 = 2  # the codec id stored in staging.codec

_MAGIC = b"H1"
_HEAD = struct.Struct("<2sI")
_SECTION = struct.Struct("<BI")
_RUNS, _PCO_I64, _PCO_F64, _PCO_F32, _PCO_U32, _DELTA_ZSTD = 1, 2, 3, 4, 5, 6
_INT_KINDS = ("int", "float")
# Runs beat pcodec only while they are few; above this share of the count use pcodec.
_RUNS_SHARE = 16


# pcodec and zstandard are imported on first use, not with this module: a daemon that
# only reads the ring (opcuad, webd until someone asks for a trend) would otherwise hold
# their extension modules, about 1.7 MB of RSS, without decoding a single chunk.
@cache
def _zstd() -> ModuleType:
    import zstandard

    return zstandard


@cache
def _pco() -> tuple[Any, Any]:
    """(pcodec.standalone, the ChunkConfig every column is compressed with)."""
    import pcodec
    from pcodec import standalone

    return standalone, pcodec.ChunkConfig()


def _pco_compress(values: np.ndarray) -> bytes:
    standalone, config = _pco()
    return bytes(standalone.simple_compress(values, config))
_ZSTD_CHUNK_LEVEL = 6  # 19: 6 % smaller analog chunks, twice the ingest CPU (bench)


class CodecError(ValueError):
    """A blob that is not what its codec id says (damaged or from a newer program)."""


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run values and lengths of a 1-D array (NaN-safe for floats: compares bits)."""
    if len(values) == 0:
        return values, np.empty(0, np.uint32)
    bits = values.view(np.int64) if values.dtype == np.float64 else values
    starts = np.flatnonzero(np.concatenate(([True], bits[1:] != bits[:-1])))
    lengths = np.diff(np.append(starts, len(values))).astype(np.uint32)
    return values[starts], lengths


def _section(method: int, payload: bytes) -> bytes:
    return _SECTION.pack(method, len(payload)) + payload


def _runs_payload(run_values: np.ndarray, lengths: np.ndarray) -> bytes:
    return struct.pack("<I", len(lengths)) + run_values.tobytes() + lengths.tobytes()


def _delta_zstd(values: np.ndarray, level: int = _ZSTD_CHUNK_LEVEL) -> bytes | None:
    """First value, then zigzag deltas at the narrowest width (1, 2 or 4 bytes), zstd."""
    d = np.diff(values)
    z = ((d << 1) ^ (d >> 63)).view(np.uint64)
    top = int(z.max(initial=0))
    if top >= 1 << 32:
        return None
    width = 1 if top < 1 << 8 else 2 if top < 1 << 16 else 4
    packed = z.astype({1: np.uint8, 2: np.uint16, 4: np.uint32}[width]).tobytes()
    body = _zstd().ZstdCompressor(level=level, write_checksum=False,
                                    write_content_size=True).compress(packed)
    return struct.pack("<qB", int(values[0]), width) + body


def _encode_column(values: np.ndarray, dtype: type, pco_method: int) -> bytes:
    run_values, lengths = _runs(values)
    if len(lengths) * _RUNS_SHARE <= len(values):
        return _section(_RUNS, _runs_payload(run_values.astype(dtype, copy=False), lengths))
    pco = _pco_compress(values)
    if dtype is np.int64 and len(values) > 1:
        # Neither wins everywhere (bench/history.py): pcodec on drifting or trending
        # signals, delta + zstd on small-step ones; try both once per chunk, keep the smaller.
        dz = _delta_zstd(values)
        if dz is not None and len(dz) < len(pco):
            return _section(_DELTA_ZSTD, dz)
    return _section(pco_method, pco)


def _encode_ts(ts: np.ndarray) -> bytes:
    deltas = np.diff(ts)
    run_values, lengths = _runs(deltas)
    if len(lengths) * _RUNS_SHARE <= max(len(ts), 1):
        payload = struct.pack("<q", int(ts[0])) + _runs_payload(run_values, lengths)
        return _section(_RUNS, payload)
    return _section(_PCO_I64, _pco_compress(ts))


def encode_chunk(ts_ns: np.ndarray, values: np.ndarray, quality: np.ndarray,
                 kind: str, *, fast: bool = False) -> tuple[int, bytes]:
    """Encode one series' samples (time-ordered) losslessly; returns (codec id, blob).

    ``kind`` 'int' stores int64 raw values; 'float' stores float64 (as float32 when every
    value is exactly one, which halves the mantissa noise pcodec has to carry).
    ``fast``: integer values as delta + zstd level 1 alone, without trying pcodec (whose
    call costs most of an encode) — for the ten-minute chunks that live an hour at most
    before compaction re-encodes them (codec id CHUNK_FAST tells the compactor so).
    """
    if kind not in _INT_KINDS:
        raise ValueError(f"kind must be 'int' or 'float', not {kind!r}")
    ts = np.ascontiguousarray(ts_ns, dtype=np.int64)
    n = len(ts)
    if n == 0 or len(values) != n or len(quality) != n:
        raise ValueError("a chunk needs at least one sample and equal-length columns")
    q = np.ascontiguousarray(quality, dtype=np.uint32)
    codec = CHUNK_V1
    if kind == "int":
        v = np.ascontiguousarray(values, dtype=np.int64)
        dz = _delta_zstd(v, level=1) if fast and n > 1 else None
        if dz is not None:
            vsec, codec = _section(_DELTA_ZSTD, dz), CHUNK_FAST
        else:
            vsec = _encode_column(v, np.int64, _PCO_I64)
    else:
        v = np.ascontiguousarray(values, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            v32 = v.astype(np.float32)
        if np.array_equal(v32.astype(np.float64).view(np.int64), v.view(np.int64)):
            run_values, lengths = _runs(v)
            if len(lengths) * _RUNS_SHARE <= n:
                vsec = _section(_RUNS, _runs_payload(run_values, lengths))
            else:
                vsec = _section(_PCO_F32, _pco_compress(v32))
        else:
            vsec = _encode_column(v, np.float64, _PCO_F64)
    qruns, qlengths = _runs(q)
    qsec = _section(_RUNS, _runs_payload(qruns, qlengths))
    return codec, _HEAD.pack(_MAGIC, n) + _encode_ts(ts) + vsec + qsec


def _read_sections(blob: bytes) -> tuple[int, list[tuple[int, memoryview]]]:
    view = memoryview(blob)
    if len(view) < _HEAD.size:
        raise CodecError("chunk blob too short")
    magic, n = _HEAD.unpack_from(view, 0)
    if magic != _MAGIC:
        raise CodecError(f"not a history chunk (magic {bytes(magic)!r})")
    pos, out = _HEAD.size, []
    for _ in range(3):
        if pos + _SECTION.size > len(view):
            raise CodecError("chunk blob truncated")
        method, size = _SECTION.unpack_from(view, pos)
        pos += _SECTION.size
        if pos + size > len(view):
            raise CodecError("chunk blob truncated")
        out.append((method, view[pos:pos + size]))
        pos += size
    return n, out


def _expand_runs(payload: memoryview, dtype: type, n: int) -> np.ndarray:
    (runs,) = struct.unpack_from("<I", payload, 0)
    width = np.dtype(dtype).itemsize
    values = np.frombuffer(payload, dtype=dtype, count=runs, offset=4)
    lengths = np.frombuffer(payload, dtype=np.uint32, count=runs, offset=4 + runs * width)
    if int(lengths.sum()) != n:
        raise CodecError("run lengths do not add up to the chunk's count")
    return np.repeat(values, lengths)


def _decode_column(method: int, payload: memoryview, dtype: type, n: int) -> np.ndarray:
    if method == _RUNS:
        return _expand_runs(payload, dtype, n)
    if method == _DELTA_ZSTD:
        first, width = struct.unpack_from("<qB", payload, 0)
        try:
            raw = _zstd().ZstdDecompressor().decompress(bytes(payload[9:]))
        except _zstd().ZstdError as exc:
            raise CodecError(f"chunk column damaged: {exc}") from exc
        if len(raw) != (n - 1) * width:
            raise CodecError("delta column length differs from the chunk's count")
        z = np.frombuffer(raw, {1: np.uint8, 2: np.uint16, 4: np.uint32}[width]).astype(
            np.int64)
        out = np.empty(n, np.int64)
        out[0] = first
        np.cumsum((z >> 1) ^ -(z & 1), out=out[1:])
        out[1:] += first
        return out
    if method in (_PCO_I64, _PCO_F64, _PCO_F32, _PCO_U32):
        out = np.asarray(_pco()[0].simple_decompress(bytes(payload))).astype(dtype, copy=False)
        if len(out) != n:
            raise CodecError("pcodec column length differs from the chunk's count")
        return out
    raise CodecError(f"unknown section method {method}")


def _decode_ts(method: int, payload: memoryview, n: int) -> np.ndarray:
    if method != _RUNS:
        return _decode_column(method, payload, np.int64, n)
    (first,) = struct.unpack_from("<q", payload, 0)
    deltas = _expand_runs(payload[8:], np.int64, n - 1)
    ts = np.empty(n, np.int64)
    ts[0] = first
    np.cumsum(deltas, out=ts[1:])
    ts[1:] += first
    return ts


def decode_chunk(codec: int, blob: bytes, kind: str) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
    """(ts int64, values int64 for 'int' / float64 for 'float', quality uint32)."""
    if codec not in (CHUNK_V1, CHUNK_FAST):
        raise CodecError(f"unknown chunk codec {codec}")
    n, ((tm, tp), (vm, vp), (qm, qp)) = _read_sections(blob)
    ts = _decode_ts(tm, tp, n)
    values = _decode_column(vm, vp, np.int64 if kind == "int" else np.float64, n)
    quality = _decode_column(qm, qp, np.uint32, n)
    return ts, values, quality


# --- staging batches -------------------------------------------------------------------
# A flush writes, per block of series ids, the samples since the last flush sorted by
# (series, time).  Columns are delta-coded (sorted ids and aligned ticks become runs of
# zeros) and the values XOR-ed with the previous one, byte-transposed and zstd-compressed at
# a fast level: it is written every 10 s and deleted after ≤ 10 minutes, so speed matters
# more than the last byte; it still keeps eMMC writes to a few bytes per point.
_STAGE_HEAD = struct.Struct("<2sBI")
_STAGE_MAGIC = b"S1"
_ZSTD_LEVEL = 1


def _transpose(a: np.ndarray) -> bytes:
    return a.view(np.uint8).reshape(-1, a.itemsize).T.tobytes()


def _untranspose(raw: bytes, dtype: type, n: int) -> np.ndarray:
    width = np.dtype(dtype).itemsize
    return np.frombuffer(raw, np.uint8).reshape(width, n).T.copy().view(dtype).reshape(n)


def encode_staging(series_ids: np.ndarray, ts_ns: np.ndarray, values: np.ndarray,
                   quality: np.ndarray) -> tuple[int, bytes]:
    """One staging batch; arrays already sorted by (series, time). Values int64 or float64."""
    n = len(series_ids)
    is_float = values.dtype.kind == "f"
    v = np.ascontiguousarray(values, dtype=np.float64 if is_float else np.int64)
    bits = v.view(np.int64)
    vx = bits.copy()
    vx[1:] ^= bits[:-1]
    sid = np.ascontiguousarray(series_ids, dtype=np.int64)
    ts = np.ascontiguousarray(ts_ns, dtype=np.int64)
    dsid = np.diff(sid, prepend=0).astype(np.int32)
    dts = np.diff(ts, prepend=0)
    q = np.ascontiguousarray(quality, dtype=np.uint32)
    raw = b"".join((_transpose(dsid), _transpose(dts), _transpose(vx), _transpose(q)))
    body = _zstd().ZstdCompressor(level=_ZSTD_LEVEL).compress(raw)
    return STAGING_V1, _STAGE_HEAD.pack(_STAGE_MAGIC, int(is_float), n) + body


def decode_staging(codec: int, blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                     np.ndarray]:
    """(series_id int64, ts int64, values int64 or float64, quality uint32)."""
    if codec != STAGING_V1:
        raise CodecError(f"unknown staging codec {codec}")
    magic, is_float, n = _STAGE_HEAD.unpack_from(blob, 0)
    if magic != _STAGE_MAGIC:
        raise CodecError("not a staging batch")
    try:
        raw = _zstd().ZstdDecompressor().decompress(blob[_STAGE_HEAD.size:],
                                                      max_output_size=n * 24)
    except _zstd().ZstdError as exc:
        raise CodecError(f"staging batch damaged: {exc}") from exc
    if len(raw) != n * 24:
        raise CodecError("staging batch has the wrong size")
    sid = np.cumsum(_untranspose(raw[:4 * n], np.int32, n).astype(np.int64))
    ts = np.cumsum(_untranspose(raw[4 * n:12 * n], np.int64, n))
    vx = _untranspose(raw[12 * n:20 * n], np.int64, n)
    bits = np.bitwise_xor.accumulate(vx)
    values = bits.view(np.float64) if is_float else bits
    quality = _untranspose(raw[20 * n:], np.uint32, n)
    return sid, ts, values, quality


# --- materialised 1-minute rollups -----------------------------------------------------
# When raw chunks age out, their 1-minute buckets are kept (the long memory of a trend) as
# one row per aged-out chunk: columns of bucket start, count, good count, offset of the
# last Good sample in its bucket (int64), and min, max, sum, last (float64, NaN where the
# bucket had no Good sample), each with the chunk column coder above (runs, pcodec, or
# delta + zstd, whichever is smaller).  About 4–6 bytes per minute instead of ~80 for a
# row per bucket.
ROLLUP_V1 = 3  # the codec id stored in rollup_1m.codec
_ROLLUP_MAGIC = b"R1"
ROLLUP_INT_COLUMNS = ("bucket_ns", "count", "good", "last_offset_ns")
ROLLUP_FLOAT_COLUMNS = ("min", "max", "sum", "last")


def encode_rollup(ints: dict[str, np.ndarray], floats: dict[str, np.ndarray]) -> bytes:
    """One series' buckets (every column the same length, time-ordered) as a blob."""
    n = len(ints["bucket_ns"])
    if n == 0:
        raise ValueError("a rollup blob needs at least one bucket")
    parts = [_HEAD.pack(_ROLLUP_MAGIC, n), _encode_ts(np.ascontiguousarray(
        ints["bucket_ns"], dtype=np.int64))]
    for name in ROLLUP_INT_COLUMNS[1:]:
        parts.append(_encode_column(np.ascontiguousarray(ints[name], dtype=np.int64),
                                    np.int64, _PCO_I64))
    for name in ROLLUP_FLOAT_COLUMNS:
        parts.append(_encode_column(np.ascontiguousarray(floats[name], dtype=np.float64),
                                    np.float64, _PCO_F64))
    return b"".join(parts)


def decode_rollup(codec: int, blob: bytes) -> dict[str, np.ndarray]:
    """Every column of a rollup blob by name (see ROLLUP_*_COLUMNS)."""
    if codec != ROLLUP_V1:
        raise CodecError(f"unknown rollup codec {codec}")
    view = memoryview(blob)
    if len(view) < _HEAD.size:
        raise CodecError("rollup blob too short")
    magic, n = _HEAD.unpack_from(view, 0)
    if magic != _ROLLUP_MAGIC:
        raise CodecError(f"not a rollup blob (magic {bytes(magic)!r})")
    pos, out = _HEAD.size, {}
    names = ROLLUP_INT_COLUMNS + ROLLUP_FLOAT_COLUMNS
    for i, name in enumerate(names):
        if pos + _SECTION.size > len(view):
            raise CodecError("rollup blob truncated")
        method, size = _SECTION.unpack_from(view, pos)
        pos += _SECTION.size
        payload = view[pos:pos + size]
        pos += size
        if i == 0:
            out[name] = _decode_ts(method, payload, n)
        else:
            dtype = np.int64 if name in ROLLUP_INT_COLUMNS else np.float64
            out[name] = _decode_column(method, payload, dtype, n)
    return out
