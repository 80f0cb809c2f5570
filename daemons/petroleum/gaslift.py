"""Continuous gas lift: optimum injection on a well's performance curve and allocation of a
limited gas supply among wells by equal marginal slope.

A performance (lift) curve is a set of measured or modelled points (q_inj Mscf/d, q_oil
STB/d).  Between points it is interpolated by a monotone piecewise-cubic Hermite
interpolant (PCHIP: Fritsch & Carlson, "Monotone Piecewise Cubic Interpolation", SIAM J.
Numer. Anal. 17 (1980) 238-246, with the Fritsch & Butland (1984) harmonic-mean
slopes), which never overshoots the data: no invented optimum beyond what was measured,
and no extrapolation beyond the last point.

Economics: gas_cost per Mscf, oil_price per STB, in one currency; their ratio is the
marginal oil (STB) one Mscf must buy to be worth injecting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from daemons.petroleum import _validate as v


class _Curve(NamedTuple):
    x: np.ndarray  # injection, strictly increasing
    y: np.ndarray  # oil rate
    d: np.ndarray  # PCHIP node slopes


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Node derivatives of the Fritsch–Carlson/Butland monotone interpolant."""
    h = np.diff(x)
    delta = np.diff(y) / h
    n = x.size
    if n == 2:
        return np.array([delta[0], delta[0]])
    d = np.zeros(n)
    w1 = 2.0 * h[1:] + h[:-1]
    w2 = h[1:] + 2.0 * h[:-1]
    same = delta[:-1] * delta[1:] > 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        hm = (w1 + w2) / (w1 / delta[:-1] + w2 / delta[1:])
    d[1:-1] = np.where(same, hm, 0.0)
    d[0] = _end_slope(h[0], h[1], delta[0], delta[1])
    d[-1] = _end_slope(h[-1], h[-2], delta[-1], delta[-2])
    return d


def _end_slope(h0: float, h1: float, m0: float, m1: float) -> float:
    """Shape-preserving three-point end slope (Fritsch & Butland 1984)."""
    d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    if np.sign(d) != np.sign(m0):
        return 0.0
    if np.sign(m0) != np.sign(m1) and abs(d) > abs(3.0 * m0):
        return 3.0 * m0
    return float(d)


def _curve(q_inj: Any, q_oil: Any, label: str = "") -> _Curve:
    x = v.array_1d(f"q_inj{label}", q_inj, min_len=2)
    y = v.array_1d(f"q_oil{label}", q_oil, min_len=2)
    v.same_length(**{f"q_inj{label}": x, f"q_oil{label}": y})
    v.non_negative(f"q_inj{label}", x)
    v.non_negative(f"q_oil{label}", y)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if (np.diff(x) <= 0.0).any():
        raise ValueError(f"q_inj{label}: injection rates must be distinct")
    return _Curve(x, y, _pchip_slopes(x, y))


def _coefficients(c: _Curve) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-segment cubic y = y0 + d0 s + c2 s² + c3 s³, s in [0, h] (Hermite form)."""
    h = np.diff(c.x)
    delta = np.diff(c.y) / h
    d0, d1 = c.d[:-1], c.d[1:]
    return h, d0, (3.0 * delta - 2.0 * d0 - d1) / h, (d0 + d1 - 2.0 * delta) / (h * h)


def _best_on_curve(
    c: _Curve, lam: float, lo: float | None = None, hi: float | None = None
) -> tuple[float, float]:
    """Point maximising q_oil - lam·q_inj on the interpolated curve (least gas on ties).

    Candidates: the nodes and, inside each cubic segment, the roots of q_oil' = lam
    (a quadratic per segment, solved in closed form for all segments at once); with a
    window [lo, hi], only candidates inside it plus its two ends.
    """
    h, d0, c2, c3 = _coefficients(c)
    a, b, cc = 3.0 * c3, 2.0 * c2, d0 - lam
    disc = b * b - 4.0 * a * cc
    ok = disc >= 0.0
    sq = np.sqrt(np.where(ok, disc, 0.0))
    qq = -0.5 * (b + np.where(b >= 0.0, sq, -sq))  # stable quadratic roots
    with np.errstate(divide="ignore", invalid="ignore"):
        r1 = np.where(np.abs(a) > 1e-300, qq / a, -cc / b)
        r2 = np.where(np.abs(qq) > 1e-300, cc / qq, np.nan)
    roots = np.stack([np.where(ok, r1, np.nan), np.where(ok, r2, np.nan)])  # (2, nseg)
    inside = (roots > 0.0) & (roots < h)
    s = np.where(inside, roots, 0.0)
    x_roots = (c.x[:-1] + s)[inside]
    y_roots = (c.y[:-1] + d0 * s + c2 * s * s + c3 * s**3)[inside]
    x_all = np.concatenate((c.x, x_roots))
    y_all = np.concatenate((c.y, y_roots))
    if lo is not None and hi is not None:
        keep = (x_all >= lo) & (x_all <= hi)
        ends = np.array([lo, hi])
        x_all = np.concatenate((x_all[keep], ends))
        y_all = np.concatenate((y_all[keep], _rate_on_curve(c, ends)))
    value = y_all - lam * x_all
    best = value.max()
    tie = np.flatnonzero(value >= best - 1e-9 * max(1.0, abs(best)))
    k = tie[np.argmin(x_all[tie])]
    return float(x_all[k]), float(y_all[k])


def _rate_on_curve(c: _Curve, at: np.ndarray) -> np.ndarray:
    _, d0, c2, c3 = _coefficients(c)
    k = np.clip(np.searchsorted(c.x, at, side="right") - 1, 0, c.x.size - 2)
    s = at - c.x[k]
    return c.y[k] + d0[k] * s + c2[k] * s * s + c3[k] * s**3


class GasLiftPoint(NamedTuple):
    """Injection rate (Mscf/d) and the oil rate (STB/d) it produces."""

    q_inj: float
    q_oil: float


def optimum_injection(
    *, q_inj: Any, q_oil: Any, gas_cost: float = 0.0, oil_price: float = 1.0
) -> GasLiftPoint:
    """Economic optimum on a gas-lift performance curve.

    Maximises oil_price · q_oil - gas_cost · q_inj over the interpolated curve, i.e. the
    point where the marginal slope dq_oil/dq_inj equals gas_cost/oil_price; with
    gas_cost = 0 it is the technical optimum (maximum oil).  Kanu, Mach & Brown,
    "Economic Approach to Oil Production and Gas Allocation in Continuous Gas Lift",
    JPT Oct. 1981 (SPE 9084).
    """
    gas_cost = float(v.non_negative("gas_cost", gas_cost))
    oil_price = float(v.positive("oil_price", oil_price))
    return GasLiftPoint(*_best_on_curve(_curve(q_inj, q_oil), gas_cost / oil_price))


def lift_curve_rate(*, q_inj: Any, q_oil: Any, at: Any) -> float | np.ndarray:
    """Oil rate on the interpolated curve at injection `at` (within the measured range)."""
    c = _curve(q_inj, q_oil)
    at = v.in_range("at", at, float(c.x[0]), float(c.x[-1]))
    return v.restore(_rate_on_curve(c, np.asarray(at, dtype=float)), at)


class GasAllocation(NamedTuple):
    """Per-well injection (Mscf/d) and oil (STB/d), the common marginal slope
    (STB/Mscf) and gas left unallocated (Mscf/d; > 0 only if every well is at its
    technical optimum)."""

    q_inj: np.ndarray
    q_oil: np.ndarray
    marginal: float
    unused: float


def allocate_gas(*, curves: Sequence[tuple[Any, Any]], total_gas: float) -> GasAllocation:
    """Share `total_gas` (Mscf/d) among wells so that total oil is maximised.

    Equal-slope rule (Kanu, Mach & Brown 1981): at the optimum every well sits at the
    same marginal slope dq_oil/dq_inj = λ, unless it is at its technical optimum.  That
    rule alone is only sufficient for concave curves; a well with a kick-off threshold
    (convex start) can be worth either no extra gas or a lot.  So the regime of every
    well is chosen first by dynamic programming over a 1/1000 grid of the supply (exact
    for any curve shape up to the grid), then each well is confined to a window of a
    few grid steps around that allocation and λ is found by bisection so that the
    windows' equal-slope points use exactly the gas available.  `curves` is a sequence
    of (q_inj, q_oil) arrays, one per well; no well gets less than its first point.
    """
    if len(curves) == 0:
        raise ValueError("curves: at least one well performance curve is needed")
    cs = [_curve(qi, qo, f"[{k}]") for k, (qi, qo) in enumerate(curves)]
    total = float(v.non_negative("total_gas", total_gas))
    x0 = np.array([float(c.x[0]) for c in cs])
    if total < x0.sum() - 1e-9 * max(1.0, float(x0.sum())):
        raise ValueError(
            f"total_gas: {total:g} is less than the curves' lowest injection rates "
            f"combined ({x0.sum():g}); lower the first point of some curves or add gas"
        )
    technical = np.array([_best_on_curve(c, 0.0)[0] for c in cs])
    if technical.sum() <= total:  # enough gas for every well's maximum
        y = np.array([_best_on_curve(c, 0.0)[1] for c in cs])
        return GasAllocation(technical, y, 0.0, total - float(technical.sum()))
    step, x_dp = _dp_allocation(cs, total - float(x0.sum()))
    lo = np.maximum(x_dp - 2.0 * step, x0)
    hi = np.minimum(x_dp + 2.0 * step, [float(c.x[-1]) for c in cs])
    x, lam = _equal_slope(cs, total, lo, hi)
    y = np.array([float(_rate_on_curve(c, np.array(xk))) for c, xk in zip(cs, x, strict=True)])
    return GasAllocation(x, y, lam, max(total - float(x.sum()), 0.0))


_DP_STEPS = 1000


def _dp_allocation(cs: list[_Curve], excess: float) -> tuple[float, np.ndarray]:
    """Best split of the gas above every well's first point, on a grid (max-plus DP)."""
    step = excess / _DP_STEPS if excess > 0.0 else 0.0
    grid = np.arange(_DP_STEPS + 1) * step
    best = np.zeros(_DP_STEPS + 1)
    choices = []
    lag = np.arange(_DP_STEPS + 1)[:, None] - np.arange(_DP_STEPS + 1)[None, :]  # g - k
    for c in cs:
        at = np.minimum(c.x[0] + grid, c.x[-1])  # gas beyond the last point is not used
        value = _rate_on_curve(c, at)
        total = np.where(lag >= 0, best[np.clip(lag, 0, None)] + value[None, :], -np.inf)
        k = np.argmax(total, axis=1)
        choices.append(k)
        best = total[np.arange(_DP_STEPS + 1), k]
    g = int(np.argmax(best))
    alloc = np.zeros(len(cs))
    for i in range(len(cs) - 1, -1, -1):  # walk the choices back
        k = int(choices[i][g])
        alloc[i] = min(cs[i].x[0] + k * step, cs[i].x[-1])
        g -= k
    return step, alloc


def _equal_slope(
    cs: list[_Curve], total: float, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, float]:
    """Bisection on λ so that the windows' best points use `total` (Kanu et al. 1981)."""

    def points(lam: float) -> np.ndarray:
        return np.array(
            [_best_on_curve(c, lam, a, b)[0] for c, a, b in zip(cs, lo, hi, strict=True)]
        )

    if points(0.0).sum() <= total:
        return points(0.0), 0.0
    # No slope of a PCHIP curve exceeds 3 × its steepest secant.
    lam_hi = 1.0 + 3.0 * max(float(np.max(np.abs(np.diff(c.y) / np.diff(c.x)))) for c in cs)
    lam_lo = 0.0
    for _ in range(200):
        mid = 0.5 * (lam_lo + lam_hi)
        if points(mid).sum() > total:
            lam_lo = mid
        else:
            lam_hi = mid
        if lam_hi - lam_lo <= 1e-13 * lam_hi:
            break
    x = points(lam_hi)
    # What bisection leaves over (rounding, or a tiny step where PCHIP is not quite
    # concave inside a window) goes to wells with room, so the supply is fully used.
    short = total - float(x.sum())
    for k in range(len(cs)):
        if short <= 0.0:
            break
        extra = min(short, float(hi[k]) - x[k])
        x[k] += extra
        short -= extra
    return x, lam_hi


class LiftCurveFit(NamedTuple):
    """q_oil = c1 + c2·q + c3·q² + c4·ln(q + 1) (q Mscf/d, q_oil STB/d), fitted on
    [q_min, q_max] (never used outside it); `rms` is the residual, STB/d."""

    c1: float
    c2: float
    c3: float
    c4: float
    q_min: float
    q_max: float
    rms: float

    def rate(self, q: Any) -> float | np.ndarray:
        x = np.asarray(q, dtype=float)
        return v.restore(self.c1 + self.c2 * x + self.c3 * x * x + self.c4 * np.log(x + 1.0),
                         q)


def fit_lift_curve(*, q_inj: Any, q_oil: Any, weights: Any = None) -> LiftCurveFit:
    """Least-squares fit of a performance curve to measured (injection, oil) points.

    The form q_oil = c1 + c2 q + c3 q² + c4 ln(q + 1) rises steeply from low injection
    (the logarithm), bends over and falls as friction takes over (the negative square):
    Alarcón, G.A., Torres, C.F. & Gómez, L.E., "Global Optimization of Gas Allocation to
    a Group of Wells in Artificial Lift Using Nonlinear Constrained Programming",
    J. Energy Resour. Technol. 124 (2002) 262-268.  Linear in the coefficients, so solved
    exactly (weighted least squares); needs at least 4 distinct injection rates.
    `weights` (e.g. how many steady samples each point averages) default to 1.
    """
    x = v.array_1d("q_inj", q_inj, min_len=4)
    y = v.array_1d("q_oil", q_oil, min_len=4)
    v.same_length(q_inj=x, q_oil=y)
    v.non_negative("q_inj", x)
    if np.unique(x).size < 4:
        raise ValueError("q_inj: needs at least 4 distinct injection rates")
    w = np.ones_like(x) if weights is None else v.array_1d("weights", weights)
    v.same_length(q_inj=x, weights=w)
    v.non_negative("weights", w)
    a = np.column_stack([np.ones_like(x), x, x * x, np.log(x + 1.0)])
    sw = np.sqrt(w)
    scale = np.abs(a).max(axis=0)  # columns of very different sizes: condition first
    coef, *_ = np.linalg.lstsq(a / scale * sw[:, None], y * sw, rcond=None)
    coef = coef / scale
    rms = float(np.sqrt(np.average((a @ coef - y) ** 2, weights=w)))
    return LiftCurveFit(*(float(c) for c in coef), float(x.min()), float(x.max()), rms)


def fitted_optimum(fit: LiftCurveFit, *, gas_cost: float = 0.0,
                   oil_price: float = 1.0) -> GasLiftPoint:
    """Economic optimum on a fitted curve within its data range: max of
    oil_price·q_oil − gas_cost·q (Kanu et al. 1981).  The stationary points solve
    c2 − λ + 2 c3 q + c4/(q + 1) = 0, i.e. the quadratic
    2c3 q² + (2c3 + c2 − λ) q + (c2 − λ + c4) = 0; the ends of the range are candidates.
    """
    lam = float(v.non_negative("gas_cost", gas_cost)) / float(
        v.positive("oil_price", oil_price))
    a, b, c = 2.0 * fit.c3, 2.0 * fit.c3 + fit.c2 - lam, fit.c2 - lam + fit.c4
    cands = [fit.q_min, fit.q_max]
    if abs(a) > 1e-300:
        disc = b * b - 4.0 * a * c
        if disc >= 0.0:
            r = math.sqrt(disc)
            cands += [(-b + r) / (2.0 * a), (-b - r) / (2.0 * a)]
    elif abs(b) > 1e-300:
        cands.append(-c / b)
    qs = np.array([q for q in cands if fit.q_min <= q <= fit.q_max])
    value = fit.rate(qs) - lam * qs
    k = int(np.argmax(value))
    return GasLiftPoint(float(qs[k]), float(fit.rate(qs[k])))
