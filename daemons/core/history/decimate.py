"""Decimation of a trend to a requested number of points, keeping its visual shape.

Two methods, both vectorised over numpy arrays (no per-sample Python):

- ``minmax``: the range is cut into ``points // 2`` equal time buckets and each bucket
  yields its minimum and its maximum sample, in time order.  A one-second pressure spike
  inside 24 h survives a 1,000-point plot, which averaging or picking every n-th sample
  would hide.  This is the "M4"-style aggregation without first/last (Jugel et al.,
  "M4: A Visualization-Oriented Time Series Data Aggregation", VLDB 2014).
- ``lttb``: Largest-Triangle-Three-Buckets (S. Steinarsson, "Downsampling Time Series for
  Visual Representation", MSc thesis, University of Iceland, 2013, §4.2): per bucket, the
  sample forming the largest triangle with the previously chosen sample and the average of
  the next bucket.  Smooth lines keep their curvature with one sample per output point.

Every output point also carries the min and max of the bucket it stands for (so a client
can draw a band) and a quality: samples that are not usable (Bad quality, or NaN) never
become a plotted value; a bucket holding only such samples yields one NaN point with the
worst quality in it, so the trend shows the gap instead of bridging it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from daemons.core.quality import SEVERITY_MASK

METHODS = ("minmax", "lttb")
_BAD = 0x80000000


@dataclass(frozen=True)
class Decimated:
    """A decimated trend: parallel arrays, time-ordered; ``source`` is raw, 1m or 1h."""

    ts: np.ndarray  # int64 ns
    value: np.ndarray  # float64, engineering units (NaN = no usable sample)
    quality: np.ndarray  # uint32 OPC UA StatusCode
    min: np.ndarray  # float64, min of the bucket the point stands for
    max: np.ndarray  # float64
    source: str = "raw"

    def __len__(self) -> int:
        return int(self.ts.size)


def empty(source: str = "raw") -> Decimated:
    f = np.empty(0, np.float64)
    return Decimated(np.empty(0, np.int64), f, np.empty(0, np.uint32), f, f, source)


def usable(values: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Samples whose value may be plotted: finite and not of Bad severity."""
    return np.isfinite(values) & ((quality.astype(np.uint32) & SEVERITY_MASK) < _BAD)


def _bucket_edges(start_ns: int, end_ns: int, buckets: int) -> np.ndarray:
    # Integer edges so that a bucket boundary never depends on float rounding of ns.
    # floor(i * span / buckets) as i * q + floor(i * r / buckets) with span = q * buckets + r:
    # i * span itself overflows int64 for ranges over about 200 days at 500 buckets.
    q, r = divmod(max(1, end_ns - start_ns), buckets)
    i = np.arange(buckets + 1, dtype=np.int64)
    return start_ns + i * q + (i * r) // buckets


def minmax(ts: np.ndarray, values: np.ndarray, quality: np.ndarray, start_ns: int,
           end_ns: int, points: int, *, source: str = "raw") -> Decimated:
    """Min and max of each of ``points // 2`` equal time buckets of [start_ns, end_ns).

    ``ts`` must be sorted and inside the range.  At most ``points`` samples come out; a
    bucket with a single usable sample yields it once.
    """
    n = ts.size
    if n == 0 or points <= 0:
        return empty(source)
    buckets = max(1, points // 2)
    edges = _bucket_edges(start_ns, end_ns, buckets)
    bucket = np.clip(np.searchsorted(edges, ts, side="right") - 1, 0, buckets - 1)
    ok = usable(values, quality)
    # ts is sorted, so each bucket is one contiguous run: every step below is a
    # reduceat over the runs, O(n) with no sort.
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    run = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, n]))
    index = np.arange(n)
    has_good = np.add.reduceat(ok.astype(np.int64), starts) > 0
    bmin = np.minimum.reduceat(np.where(ok, values, np.inf), starts)
    bmax = np.maximum.reduceat(np.where(ok, values, -np.inf), starts)
    # First sample reaching the bucket's min (max): the extreme drawn at its true time.
    i_min = np.minimum.reduceat(np.where(ok & (values == bmin[run]), index, n), starts)
    i_max = np.minimum.reduceat(np.where(ok & (values == bmax[run]), index, n), starts)
    bmin = np.where(has_good, bmin, np.nan)
    bmax = np.where(has_good, bmax, np.nan)
    # Worst sample of each bucket (Bad > Uncertain > Good, earliest on a tie): where a
    # bucket has nothing usable, it marks the gap with its own quality code.
    sev = (quality.astype(np.int64) & SEVERITY_MASK) >> 30
    worst = np.maximum.reduceat(sev, starts)
    worst_idx = np.minimum.reduceat(np.where(sev == worst[run], index, n), starts)

    # Good buckets: the two extreme samples in time order (once if they are the same).
    lo = np.minimum(i_min, i_max)  # == n only where the bucket has nothing usable
    hi = np.maximum(i_min, i_max)
    pick = np.concatenate([np.where(has_good, lo, -1), np.where(has_good & (hi != lo), hi, -1)])
    pick = pick[pick >= 0]
    band_of = np.concatenate([np.flatnonzero(has_good),
                              np.flatnonzero(has_good & (hi != lo))])
    pick_ts = ts[pick]
    out_val = values[pick]
    out_q = quality[pick].astype(np.uint32)
    out_min, out_max = bmin[band_of], bmax[band_of]
    # Buckets without a usable sample: one NaN point at its first sample, worst quality.
    gaps = np.flatnonzero(~has_good)
    all_ts = np.concatenate([pick_ts, ts[worst_idx[gaps]]])
    order_out = np.argsort(all_ts, kind="stable")
    nan = np.full(gaps.size, np.nan)
    return Decimated(
        all_ts[order_out],
        np.concatenate([out_val, nan])[order_out],
        np.concatenate([out_q, quality[worst_idx[gaps]].astype(np.uint32)])[order_out],
        np.concatenate([out_min, nan])[order_out],
        np.concatenate([out_max, nan])[order_out],
        source)


def lttb(ts: np.ndarray, values: np.ndarray, quality: np.ndarray, points: int, *,
         source: str = "raw") -> Decimated:
    """Largest-Triangle-Three-Buckets over the usable samples (Steinarsson 2013, §4.2).

    Buckets are equal in sample count, as in the thesis; the first and last samples are
    always kept.  Unusable samples are dropped first (a NaN has no triangle area).
    """
    ok = usable(values, quality)
    t_all, q_all = ts, quality
    ts, values, quality = ts[ok], values[ok], quality[ok]
    n = ts.size
    if n == 0 or points <= 0:
        if t_all.size and points > 0:  # only unusable samples: one gap marker
            q = np.array([q_all[0]], np.uint32)
            nan = np.array([np.nan])
            return Decimated(t_all[:1].astype(np.int64), nan, q, nan, nan, source)
        return empty(source)
    if points >= n or points < 3:
        keep = np.array([0, n - 1][:points]) if points < n else np.arange(n)
        v = values[keep]
        return Decimated(ts[keep], v, quality[keep].astype(np.uint32), v, v, source)
    # Relative times as float keep the triangle areas well conditioned (ns since 1970
    # squared would lose every digit of the value axis).
    x = (ts - ts[0]).astype(np.float64)
    y = values.astype(np.float64)
    # Bucket i (0..points-3) covers samples [floor(i*every)+1, floor((i+1)*every)+1) with
    # every = (n-2)/(points-2), computed in integers: a float `every` can floor the last
    # edge to n-2 and silently drop a sample from the last bucket.
    bounds = np.arange(points - 1, dtype=np.int64) * (n - 2) // (points - 2) + 1
    # Averages of each bucket (the "third" point of the next step), via cumulative sums.
    cx = np.r_[0.0, np.cumsum(x)]
    cy = np.r_[0.0, np.cumsum(y)]
    seg_lo = np.r_[bounds, n - 1]
    seg_hi = np.r_[bounds[1:], n, n]
    cnt = seg_hi - seg_lo
    avg_x = (cx[seg_hi] - cx[seg_lo]) / cnt
    avg_y = (cy[seg_hi] - cy[seg_lo]) / cnt
    chosen = np.empty(points, np.int64)
    chosen[0], chosen[-1] = 0, n - 1
    if n < _PY_LOOP_FACTOR * points:
        _choose_small(x.tolist(), y.tolist(), bounds.tolist(), avg_x.tolist(),
                      avg_y.tolist(), chosen)
    else:
        a = 0
        for i in range(points - 2):  # sequential: each choice depends on the previous one
            lo, hi = bounds[i], bounds[i + 1]
            ax, ay = x[a], y[a]
            bx, by = avg_x[i + 1], avg_y[i + 1]
            area = np.abs((ax - bx) * (y[lo:hi] - ay) - (ax - x[lo:hi]) * (by - ay))
            a = lo + int(np.argmax(area))
            chosen[i + 1] = a
    # Band per output point: min/max of the bucket the point was chosen from.
    seg_starts = np.r_[0, bounds[:-1], n - 1]
    bmin = np.minimum.reduceat(y, seg_starts)
    bmax = np.maximum.reduceat(y, seg_starts)
    return Decimated(ts[chosen], y[chosen], quality[chosen].astype(np.uint32), bmin, bmax,
                     source)


# Below this many samples per output point the loop runs on Python floats: a few numpy
# calls per bucket cost more than the arithmetic on a handful of samples.
_PY_LOOP_FACTOR = 8


def _choose_small(x: list[float], y: list[float], bounds: list[int], avg_x: list[float],
                  avg_y: list[float], chosen: np.ndarray) -> None:
    """The LTTB loop on Python floats: the same expression as the numpy loop, evaluated in
    the same order in IEEE double, and the first of equal areas kept (as np.argmax)."""
    a = 0
    for i in range(len(bounds) - 1):
        ax, ay = x[a], y[a]
        bx, by = avg_x[i + 1], avg_y[i + 1]
        dx, dy = ax - bx, by - ay
        best, pick = -1.0, bounds[i]
        for j in range(bounds[i], bounds[i + 1]):
            area = abs(dx * (y[j] - ay) - (ax - x[j]) * dy)
            if area > best:
                best, pick = area, j
        a = pick
        chosen[i + 1] = a

