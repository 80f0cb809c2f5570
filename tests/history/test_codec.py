"""Chunk and staging codecs: lossless round trips, gaps, quality runs, damaged blobs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from daemons.core.history.codec import (
    CHUNK_V1,
    CodecError,
    decode_chunk,
    decode_staging,
    encode_chunk,
    encode_staging,
)
from daemons.core.quality import Quality

NS = 1_000_000_000
T0 = 1_767_225_600 * NS  # 2026-01-01T00:00:00Z


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-exact equality (NaN == NaN, -0.0 != 0.0)."""
    if a.dtype.kind == "f":
        return a.dtype == b.dtype and np.array_equal(a.view(np.int64), b.view(np.int64))
    return np.array_equal(a, b)


def _roundtrip(ts, values, quality, kind):
    codec, blob = encode_chunk(ts, values, quality, kind)
    assert codec == CHUNK_V1
    out = decode_chunk(codec, blob, kind)
    assert _same(out[0], np.asarray(ts, np.int64))
    assert _same(out[1], np.asarray(values, np.int64 if kind == "int" else np.float64))
    assert _same(out[2], np.asarray(quality, np.uint32))
    return blob


def test_noisy_register_with_gap_and_quality_change_is_exact():
    rng = np.random.default_rng(1)
    ts = T0 + np.arange(600, dtype=np.int64) * NS
    ts[200:] += 37 * NS  # a 37 s gap (device offline)
    ts[400:] += 1  # and a 1 ns irregularity
    v = 30_000 + np.cumsum(rng.normal(0, 0.3, 600)).round().astype(np.int64) + \
        rng.integers(-2, 3, 600)
    q = np.zeros(600, np.uint32)
    q[150:160] = Quality.BAD_NO_COMMUNICATION
    q[160] = Quality.UNCERTAIN_LAST_USABLE
    blob = _roundtrip(ts, v, q, "int")
    assert len(blob) < 600  # well under 1 byte per point for a noisy 16-bit register


def test_aligned_timestamps_and_constant_status_cost_a_few_bytes():
    ts = T0 + np.arange(600, dtype=np.int64) * NS
    blob = _roundtrip(ts, np.full(600, 3, np.int64), np.zeros(600, np.uint32), "int")
    assert len(blob) < 80


def test_floats_keep_nan_inf_negative_zero_and_float32_values():
    rng = np.random.default_rng(2)
    ts = T0 + np.arange(300, dtype=np.int64) * NS
    v = rng.normal(50, 3, 300)
    v[[3, 5, 7, 9]] = [np.nan, np.inf, -np.inf, -0.0]
    _roundtrip(ts, v, np.zeros(300, np.uint32), "float")
    v32 = rng.normal(50, 3, 300).astype(np.float32).astype(np.float64)
    blob32 = _roundtrip(ts, v32, np.zeros(300, np.uint32), "float")
    blob64 = _roundtrip(ts, rng.normal(50, 3, 300), np.zeros(300, np.uint32), "float")
    assert len(blob32) < len(blob64)  # float32-exact values are stored as float32


def test_single_sample_and_extreme_integers():
    _roundtrip(np.array([T0]), np.array([7]), np.array([0]), "int")
    extremes = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0, -1], np.int64)
    _roundtrip(T0 + np.arange(4, dtype=np.int64), extremes, np.zeros(4, np.uint32), "int")


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 700), data=st.data())
def test_any_int_chunk_roundtrips(n, data):
    steps = data.draw(hnp.arrays(np.int64, n, elements=st.sampled_from([NS, NS, NS, 2 * NS,
                                                                       1, 0, 10**12])))
    ts = T0 + np.cumsum(steps)
    values = data.draw(hnp.arrays(np.int64, n, elements=st.integers(-2**63, 2**63 - 1)))
    quality = data.draw(hnp.arrays(np.uint32, n, elements=st.sampled_from(
        [0, int(Quality.BAD_NO_COMMUNICATION), int(Quality.UNCERTAIN)])))
    _roundtrip(ts, values, quality, "int")


@settings(max_examples=40, deadline=None)
@given(values=hnp.arrays(np.float64, st.integers(1, 400)))
def test_any_float_chunk_roundtrips(values):
    n = len(values)
    _roundtrip(T0 + np.arange(n, dtype=np.int64) * NS, values, np.zeros(n, np.uint32),
               "float")


def test_staging_batch_roundtrips_int_and_float():
    rng = np.random.default_rng(3)
    sid = np.repeat(np.arange(1, 101, dtype=np.int64), 10)
    ts = np.tile(T0 + np.arange(10, dtype=np.int64) * NS, 100)
    q = rng.choice(np.array([0, 0x80310000], np.uint32), 1000)
    for values in (rng.integers(-1000, 1000, 1000), rng.normal(size=1000)):
        codec, blob = encode_staging(sid, ts, values, q)
        s2, t2, v2, q2 = decode_staging(codec, blob)
        assert _same(s2, sid) and _same(t2, ts) and _same(q2, q)
        assert _same(v2, values.astype(v2.dtype)) and v2.dtype.kind == values.dtype.kind


def test_damaged_blobs_are_refused_not_misread():
    ts = T0 + np.arange(100, dtype=np.int64) * NS
    codec, blob = encode_chunk(ts, np.arange(100), np.zeros(100, np.uint32), "int")
    with pytest.raises(CodecError):
        decode_chunk(codec, blob[:-5], "int")
    with pytest.raises(CodecError):
        decode_chunk(codec, b"XX" + blob[2:], "int")
    with pytest.raises(CodecError):
        decode_chunk(99, blob, "int")
    scodec, sblob = encode_staging(np.ones(5, np.int64), ts[:5], np.arange(5),
                                   np.zeros(5, np.uint32))
    with pytest.raises(CodecError):
        decode_staging(scodec, sblob[:-3])
    with pytest.raises(ValueError):
        encode_chunk(ts, np.arange(99), np.zeros(100, np.uint32), "int")
