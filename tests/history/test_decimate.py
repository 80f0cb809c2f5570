"""Decimation keeps the shape: spikes survive min/max, LTTB equals the reference algorithm."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemons.core.history.decimate import lttb, minmax
from daemons.core.quality import Quality

NS = 1_000_000_000


def _series(n, seed=0):
    rng = np.random.default_rng(seed)
    ts = np.arange(n, dtype=np.int64) * NS
    v = np.sin(np.arange(n) / 3000.0) * 100 + rng.normal(0, 1, n)
    return ts, v, np.zeros(n, np.uint32)


def test_minmax_keeps_one_second_spikes_anywhere():
    ts, v, q = _series(86_400)
    for where in (0, 1, 12_345, 43_200, 86_399):
        spiky = v.copy()
        spiky[where] = 5_000.0
        spiky[(where + 7_000) % 86_400] = -5_000.0
        d = minmax(ts, spiky, q, 0, 86_400 * NS, 1000)
        assert len(d) <= 1000
        assert d.value.max() == 5_000.0 and d.ts[np.argmax(d.value)] == ts[where]
        assert d.value.min() == -5_000.0
        assert np.all(np.diff(d.ts) >= 0)


def test_minmax_each_bucket_gives_its_true_extremes():
    ts, v, q = _series(10_000, seed=3)
    d = minmax(ts, v, q, 0, 10_000 * NS, 100)  # 50 buckets of 200 samples
    for b in range(50):
        seg = v[b * 200:(b + 1) * 200]
        inside = (d.ts >= b * 200 * NS) & (d.ts < (b + 1) * 200 * NS)
        assert sorted(d.value[inside]) == sorted([seg.min(), seg.max()])
        assert np.all(d.min[inside] == seg.min()) and np.all(d.max[inside] == seg.max())
        # The extreme that happens first is drawn first.
        assert list(d.ts[inside]) == sorted(d.ts[inside])


def test_minmax_bad_samples_are_gaps_not_values():
    ts, v, q = _series(1_000)
    q = q.copy()
    v = v.copy()
    q[400:600] = Quality.BAD_NO_COMMUNICATION
    v[400:600] = 1e9  # a value a failed poll left behind must not be plotted
    d = minmax(ts, v, q, 0, 1_000 * NS, 20)  # 10 buckets of 100
    assert d.value[np.isfinite(d.value)].max() < 1e9
    gaps = np.isnan(d.value)
    assert gaps.sum() == 2  # buckets 4 and 5 hold nothing usable
    assert set(d.quality[gaps]) == {Quality.BAD_NO_COMMUNICATION}
    assert all(400 * NS <= t < 600 * NS for t in d.ts[gaps])


def test_minmax_uncertain_is_plotted_and_flagged():
    ts, v, q = _series(100)
    q = q.copy()
    v = v.copy()
    v[50] = 1e6
    q[50] = Quality.UNCERTAIN_LAST_USABLE
    d = minmax(ts, v, q, 0, 100 * NS, 10)
    i = int(np.argmax(d.value))
    assert d.value[i] == 1e6 and d.quality[i] == Quality.UNCERTAIN_LAST_USABLE


def test_minmax_edge_cases():
    ts, v, q = _series(5)
    assert len(minmax(ts[:0], v[:0], q[:0], 0, 10, 100)) == 0
    d = minmax(ts, v, q, 0, 5 * NS, 1000)  # more points than samples: all of them
    assert list(d.ts) == list(ts)


def _lttb_reference(x, y, threshold):
    """Steinarsson's LTTB written out sample by sample, as in the thesis' pseudo-code."""
    n = len(x)
    if threshold >= n or threshold < 3:
        return list(range(n))
    a = 0
    out = [0]

    def edge(k):  # floor(k * every) + 1, every = (n-2)/(threshold-2), in exact integers
        return k * (n - 2) // (threshold - 2) + 1

    for i in range(threshold - 2):
        avg_start = edge(i + 1)
        avg_end = min(edge(i + 2), n)
        avg_x = sum(x[avg_start:avg_end]) / (avg_end - avg_start)
        avg_y = sum(y[avg_start:avg_end]) / (avg_end - avg_start)
        lo = edge(i)
        hi = edge(i + 1)
        best, best_area = lo, -1.0
        for j in range(lo, hi):
            area = abs((x[a] - avg_x) * (y[j] - y[a]) - (x[a] - x[j]) * (avg_y - y[a]))
            if area > best_area:
                best, best_area = j, area
        out.append(best)
        a = best
    out.append(n - 1)
    return out


@settings(max_examples=60, deadline=None)
@given(n=st.integers(5, 400), points=st.integers(3, 120), seed=st.integers(0, 10_000))
def test_lttb_matches_the_reference(n, points, seed):
    rng = np.random.default_rng(seed)
    ts = np.cumsum(rng.integers(1, 5, n)).astype(np.int64) * NS
    # Unrounded values: exact ties between two areas (which float rounding of the bucket
    # average may break either way) practically never occur.
    v = rng.normal(0, 10, n)
    d = lttb(ts, v, np.zeros(n, np.uint32), points)
    x = [float(t - ts[0]) for t in ts]
    expected = _lttb_reference(x, list(v), points)
    assert list(d.ts) == [int(ts[i]) for i in expected]
    assert list(d.value) == [float(v[i]) for i in expected]


def test_lttb_keeps_shape_and_drops_bad():
    ts, v, q = _series(20_000, seed=1)
    q = q.copy()
    q[5_000:5_100] = Quality.BAD
    v = v.copy()
    v[5_000:5_100] = np.nan
    d = lttb(ts, v, q, 500)
    assert len(d) == 500
    assert np.all(np.isfinite(d.value))
    assert d.ts[0] == ts[0] and d.ts[-1] == ts[-1]
    # The decimated sine follows the original within the noise band.
    interp = np.interp(ts.astype(float), d.ts.astype(float), d.value)
    smooth = np.sin(np.arange(20_000) / 3000.0) * 100
    assert np.max(np.abs(interp - smooth)[q == 0]) < 6
    assert np.all(d.min <= d.value) and np.all(d.value <= d.max)


def test_lttb_only_bad_samples_gives_one_gap_marker():
    ts, v, _ = _series(10)
    q = np.full(10, Quality.BAD_NOT_CONNECTED, np.uint32)
    d = lttb(ts, v, q, 5)
    assert len(d) == 1 and math.isnan(d.value[0]) and d.quality[0] == Quality.BAD_NOT_CONNECTED


@pytest.mark.parametrize("points", [1, 2])
def test_lttb_tiny_point_counts(points):
    ts, v, q = _series(50)
    d = lttb(ts, v, q, points)
    assert list(d.ts) == [ts[0], ts[-1]][:points]


def test_minmax_over_a_year_keeps_every_bucket():
    # 500 buckets x a year in ns overflows int64 if the edges multiply first.
    start, year = 1_767_225_600 * NS, 365 * 86_400 * NS
    ts = start + np.arange(0, year, 3600 * NS, dtype=np.int64)
    v = np.sin(np.arange(ts.size) / 50.0)
    d = minmax(ts, v, np.zeros(ts.size, np.uint32), start, start + year, 1000)
    assert len(d) == 1000 and d.ts[-1] > start + year - 20 * 3600 * NS
