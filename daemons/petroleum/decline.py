"""Arps decline curves, the modified hyperbolic, decline conversions and a robust fit.

Time and decline are in consistent units: `di` is a nominal (instantaneous) decline per
unit of `t` (1/d with t in days, 1/yr with t in years).  Rates in any rate unit; cumulative
volumes are rate × time-unit (STB/d × d = STB).  b = 0 is exponential, b = 1 harmonic,
0 < b < 2 hyperbolic (b > 1 is common in transient, unconventional wells).

Source for all Arps forms: Arps, J.J., "Analysis of Decline Curves", Trans. AIME 160
(1945), pp. 228-247.  Expressions are written with log1p/expm1 so the b -> 0 and b -> 1
limits are numerically continuous (no switch-over jump).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from daemons.petroleum import _validate as v

Number = float | np.ndarray

B_MAX = 2.0


def _check(qi: Any, di: Any, b: Any) -> tuple[Any, Any, Any]:
    qi = v.positive("qi", qi)
    di = v.positive("di", di)
    b = v.in_range("b", b, 0.0, B_MAX)
    return qi, di, b


def _log1p_ratio(u: np.ndarray) -> np.ndarray:
    """ln(1 + u)/u, with its series near u = 0 (so b = 0 and denormal b need no branch)."""
    small = np.abs(u) < 1e-8
    safe = np.where(small, 1.0, u)
    return np.where(small, 1.0 - u / 2.0 + u * u / 3.0, np.log1p(safe) / safe)


def _expm1_ratio(w: np.ndarray) -> np.ndarray:
    """(e^w - 1)/w, with its series near w = 0."""
    small = np.abs(w) < 1e-8
    safe = np.where(small, 1.0, w)
    return np.where(small, 1.0 + w / 2.0 + w * w / 6.0, np.expm1(safe) / safe)


def _exponent(di: Any, b: Any, t: Any) -> np.ndarray:
    """E = ln(qi/q) = ln(1 + b di t)/b, which is di t at b = 0 (Arps 1945)."""
    x = np.asarray(di, dtype=float) * np.asarray(t, dtype=float)
    return x * _log1p_ratio(np.asarray(b, dtype=float) * x)


def arps_rate(*, qi: Any, di: Any, b: Any, t: Any) -> Number:
    """Rate q(t) = qi / (1 + b di t)^(1/b); q = qi exp(-di t) at b = 0 (Arps 1945)."""
    qi, di, b = _check(qi, di, b)
    t = v.non_negative("t", t)
    return v.restore(np.asarray(qi) * np.exp(-_exponent(di, b, t)), qi, di, b, t)


def _cum_factor(e: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Np·di/qi from the exponent E = ln(qi/q):  (1 - e^(-(1-b) E)) / (1 - b), which is
    1 - e^-x at b = 0 and E = ln(1 + x) at b = 1 (Arps 1945, rearranged)."""
    one_minus = 1.0 - b
    safe = np.where(one_minus == 0.0, 1.0, one_minus)
    return np.where(one_minus == 0.0, e, -np.expm1(-one_minus * e) / safe)


def arps_cum(*, qi: Any, di: Any, b: Any, t: Any) -> Number:
    """Cumulative production to t: Np = qi/((1-b) di) [1 - (1 + b di t)^(1 - 1/b)];
    (qi/di)(1 - e^(-di t)) at b = 0; (qi/di) ln(1 + di t) at b = 1 (Arps 1945)."""
    qi, di, b = _check(qi, di, b)
    t = v.non_negative("t", t)
    f = _cum_factor(_exponent(di, b, t), np.asarray(b, dtype=float))
    return v.restore(np.asarray(qi) / np.asarray(di) * f, qi, di, b, t)


def arps_time_to_rate(*, qi: Any, di: Any, b: Any, q: Any) -> Number:
    """Time for the rate to fall to q: t = ((qi/q)^b - 1)/(b di); ln(qi/q)/di at b = 0."""
    qi, di, b = _check(qi, di, b)
    q = v.positive("q", q)
    v.not_above("q", q, "qi", qi)
    lr = np.log(np.asarray(qi) / np.asarray(q))
    t = lr * _expm1_ratio(np.asarray(b, dtype=float) * lr) / np.asarray(di)
    return v.restore(t, qi, di, b, q)


def arps_eur(*, qi: Any, di: Any, b: Any, q_limit: Any) -> Number:
    """Volume produced from qi down to the economic limit q_limit:
    qi^b/((1-b) di) (qi^(1-b) - q_limit^(1-b)); (qi - q_limit)/di at b = 0;
    (qi/di) ln(qi/q_limit) at b = 1 (Arps 1945).  0 if q_limit >= qi."""
    qi, di, b = _check(qi, di, b)
    q_limit = v.positive("q_limit", q_limit)
    ratio = np.minimum(np.asarray(q_limit) / np.asarray(qi), 1.0)
    lr = -np.log(ratio)  # ln(qi/q_limit) >= 0
    b_arr = np.asarray(b, dtype=float)
    one_minus = np.where(b_arr == 1.0, 1.0, 1.0 - b_arr)
    f = np.where(b_arr == 1.0, lr, -np.expm1(-one_minus * lr) / one_minus)
    return v.restore(np.asarray(qi) / np.asarray(di) * f, qi, di, b, q_limit)


# ---------------------------------------------------------------------------------------
# Modified hyperbolic: Robertson, S., "Generalized Hyperbolic Equation", SPE 18731 (1988):
# hyperbolic until the instantaneous decline D(t) = di / (1 + b di t) falls to d_term,
# exponential at d_term afterwards (rate and decline continuous at the switch).
# ---------------------------------------------------------------------------------------


def _switch(qi: Any, di: Any, b: Any, d_term: Any) -> tuple[np.ndarray, np.ndarray]:
    """Switch time t_sw = (di/d_term - 1)/(b di) and rate there; t_sw = inf if no switch."""
    di_a, b_a, dt_a = (np.asarray(x, dtype=float) for x in (di, b, d_term))
    switches = (b_a > 0.0) & (dt_a > 0.0)
    safe_b = np.where(switches, b_a, 1.0)
    safe_dt = np.where(switches, dt_a, 1.0)
    with np.errstate(over="ignore", divide="ignore"):  # b ~ 0: the switch is at infinity
        t_sw = np.where(switches, (di_a / safe_dt - 1.0) / (safe_b * di_a), np.inf)
        q_sw = np.where(switches, np.asarray(qi) * (safe_dt / di_a) ** (1.0 / safe_b), 0.0)
    return t_sw, q_sw


def _check_mh(qi: Any, di: Any, b: Any, d_term: Any) -> tuple[Any, Any, Any, Any]:
    qi, di, b = _check(qi, di, b)
    d_term = v.non_negative("d_term", d_term)
    v.not_above("d_term", d_term, "di", di)
    return qi, di, b, d_term


def modified_hyperbolic_switch_time(*, di: Any, b: Any, d_term: Any) -> Number:
    """Time at which the modified hyperbolic turns exponential (inf if it never does)."""
    _, di, b, d_term = _check_mh(1.0, di, b, d_term)
    t_sw, _ = _switch(1.0, di, b, d_term)
    return v.restore(t_sw, di, b, d_term)


def modified_hyperbolic_rate(*, qi: Any, di: Any, b: Any, d_term: Any, t: Any) -> Number:
    """Rate of the modified hyperbolic (Robertson 1988); d_term is a nominal decline."""
    qi, di, b, d_term = _check_mh(qi, di, b, d_term)
    t = v.non_negative("t", t)
    t_sw, q_sw = _switch(qi, di, b, d_term)
    tt = np.asarray(t)
    hyper = np.asarray(qi) * np.exp(-_exponent(di, b, tt))
    tail_t = np.where(np.isfinite(t_sw), tt - np.where(np.isfinite(t_sw), t_sw, 0.0), 0.0)
    expo = q_sw * np.exp(-np.asarray(d_term) * tail_t)
    q = np.where(tt <= t_sw, hyper, expo)
    return v.restore(q, qi, di, b, d_term, t)


def modified_hyperbolic_cum(*, qi: Any, di: Any, b: Any, d_term: Any, t: Any) -> Number:
    """Cumulative of the modified hyperbolic: Arps cum to t_sw, then
    q_sw (1 - e^(-d_term (t - t_sw))) / d_term (Robertson 1988)."""
    qi, di, b, d_term = _check_mh(qi, di, b, d_term)
    t = v.non_negative("t", t)
    t_sw, q_sw = _switch(qi, di, b, d_term)
    tt = np.asarray(t)
    b_arr = np.asarray(b, dtype=float)
    scale = np.asarray(qi) / np.asarray(di)
    cum_t = scale * _cum_factor(_exponent(di, b_arr, tt), b_arr)
    finite_sw = np.where(np.isfinite(t_sw), t_sw, 0.0)
    cum_sw = scale * _cum_factor(_exponent(di, b_arr, finite_sw), b_arr)
    dt = np.asarray(d_term, dtype=float)
    safe_dt = np.where(dt > 0.0, dt, 1.0)
    tail = -np.expm1(-dt * np.maximum(tt - finite_sw, 0.0)) / safe_dt
    cum = np.where(tt <= t_sw, cum_t, cum_sw + q_sw * tail)
    return v.restore(cum, qi, di, b, d_term, t)


# ---------------------------------------------------------------------------------------
# Decline conversions.  Effective declines are fractions per unit of time (0.3 = 30 %).
# Tangent effective: De = 1 - exp(-D).  Secant effective: the drop over the first unit of
# time, De = 1 - q(1)/qi = 1 - (1 + b D)^(-1/b).  SPEE Recommended Evaluation Practice #6,
# "Decline Curve Analysis" (2016); Arps (1945) for the rate expressions used.
# ---------------------------------------------------------------------------------------


def nominal_from_tangent(*, d_tan: Any) -> Number:
    """Nominal decline from a tangent effective decline: D = -ln(1 - De)."""
    d_tan = v.in_range("d_tan", d_tan, 0.0, 1.0, hi_open=True)
    return v.restore(-np.log1p(-np.asarray(d_tan)), d_tan)


def tangent_from_nominal(*, d_nom: Any) -> Number:
    """Tangent effective decline from a nominal one: De = 1 - exp(-D)."""
    d_nom = v.non_negative("d_nom", d_nom)
    return v.restore(-np.expm1(-np.asarray(d_nom)), d_nom)


def nominal_from_secant(*, d_sec: Any, b: Any) -> Number:
    """Nominal decline from a secant effective decline: D = ((1 - De)^(-b) - 1)/b;
    -ln(1 - De) at b = 0 (continuous limit)."""
    d_sec = v.in_range("d_sec", d_sec, 0.0, 1.0, hi_open=True)
    b = v.in_range("b", b, 0.0, B_MAX)
    lg = -np.log1p(-np.asarray(d_sec))  # -ln(1 - De) >= 0
    d = lg * _expm1_ratio(np.asarray(b, dtype=float) * lg)
    return v.restore(d, d_sec, b)


def secant_from_nominal(*, d_nom: Any, b: Any) -> Number:
    """Secant effective decline from a nominal one: De = 1 - (1 + b D)^(-1/b)."""
    d_nom = v.non_negative("d_nom", d_nom)
    b = v.in_range("b", b, 0.0, B_MAX)
    return v.restore(-np.expm1(-_exponent(d_nom, b, 1.0)), d_nom, b)


# ---------------------------------------------------------------------------------------
# Robust Arps fit.  Residuals are taken in ln q (rate errors are multiplicative, and a
# decline spans decades).  Steps: (1) drop shut-in (q = 0) points; (2) a coarse grid over
# (b, di) with ln qi profiled out by the median, i.e. a least-absolute-deviation fit that
# outliers cannot drag; (3) points whose LAD residual exceeds 3.5 robust sigmas (1.4826 ×
# MAD, Hampel's rule; Rousseeuw & Croux, JASA 88 (1993) 1273) are set aside; (4) bounded
# Levenberg-Marquardt least squares (Marquardt, SIAM J. Appl. Math. 11 (1963) 431) on the
# rest, with b projected onto [0, 2]; steps (3)-(4) repeat until the inlier set is stable.
# ---------------------------------------------------------------------------------------


class ArpsParams(NamedTuple):
    """Fitted Arps parameters: qi (rate at t = 0), di (nominal, 1/time unit of t), b."""

    qi: float
    di: float
    b: float


class ArpsFit(NamedTuple):
    """Fit detail: parameters, which input points were used, and the ln-rate RMS error."""

    qi: float
    di: float
    b: float
    used: np.ndarray  # bool per input point: False for shut-in and rejected outliers
    rms_log: float


_GRID_B = np.linspace(0.0, B_MAX, 41)
_OUTLIER_SIGMAS = 3.5
_MIN_LOG_SCALE = 0.01  # below ~1 % scatter, do not reject anything as an outlier


def _dexp_db(x: np.ndarray, b: float) -> np.ndarray:
    """dE/db for E = ln(1 + b x)/b, with the series near b x = 0 (avoids cancellation)."""
    u = b * x
    small = np.abs(u) < 1e-3
    safe_u = np.where(small, 1.0, u)
    exact = (u / (1.0 + u) - np.log1p(u)) / np.where(small, 1.0, safe_u * safe_u)
    series = -0.5 + 2.0 * u / 3.0 - 0.75 * u * u
    return x * x * np.where(small, series, exact)


def _lm(t: np.ndarray, y: np.ndarray, p0: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Levenberg-Marquardt on p = (ln qi, ln di, b); b clipped to [0, 2], ln di to [lo, hi]."""

    def resid(p: np.ndarray) -> np.ndarray:
        return y - (p[0] - _exponent(np.exp(p[1]), p[2], t))

    p = p0.copy()
    r = resid(p)
    cost = float(r @ r)
    lam = 1e-3
    for _ in range(200):
        di, b = float(np.exp(p[1])), float(p[2])
        x = di * t
        jac = np.column_stack((np.ones_like(t), -x / (1.0 + b * x), -_dexp_db(x, b)))
        jtj = jac.T @ jac
        g = jac.T @ r
        improved = False
        while lam < 1e12:
            step = np.linalg.solve(jtj + lam * np.diag(np.diag(jtj) + 1e-12), g)
            trial = p + step
            trial[1] = min(max(trial[1], lo), hi)
            trial[2] = min(max(trial[2], 0.0), B_MAX)
            r_new = resid(trial)
            c_new = float(r_new @ r_new)
            if c_new < cost:
                converged = cost - c_new <= 1e-14 * max(cost, 1e-30)
                p, r, cost, lam = trial, r_new, c_new, max(lam / 10.0, 1e-12)
                improved = True
                break
            lam *= 10.0
        if not improved or converged:
            break
    return p


def _grid_start(t: np.ndarray, y: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Least-absolute-deviation grid search; returns (ln qi, ln di, b)."""
    best = (np.inf, 0.0, 0.0, 0.0)
    log_di = np.linspace(lo, hi, 121)
    di = np.exp(log_di)[:, None]
    for b in _GRID_B:
        e = _exponent(di, b, t[None, :])  # (n_di, n)
        shifted = y[None, :] + e  # ln qi estimate from each point
        ln_qi = np.median(shifted, axis=1)
        cost = np.abs(shifted - ln_qi[:, None]).sum(axis=1)
        k = int(np.argmin(cost))
        if cost[k] < best[0]:
            best = (float(cost[k]), float(ln_qi[k]), float(log_di[k]), float(b))
    return np.array(best[1:])


def fit_arps_detail(*, t: Any, q: Any) -> ArpsFit:
    """Fit qi, di, b (b in [0, 2]) to a rate history; see `fit_arps`."""
    t_arr = v.array_1d("t", t, min_len=3)
    q_arr = v.array_1d("q", q, min_len=3)
    v.same_length(t=t_arr, q=q_arr)
    v.non_negative("t", t_arr)
    v.non_negative("q", q_arr)
    producing = q_arr > 0.0  # shut-in days carry no information about the decline
    if producing.sum() < 3:
        raise ValueError("q: needs at least 3 producing (q > 0) points to fit qi, di and b")
    t_max = float(t_arr[producing].max())
    if np.ptp(t_arr[producing]) <= 0.0:
        raise ValueError("t: producing points must span a time interval")
    tp, yp = t_arr[producing], np.log(q_arr[producing])
    if np.polyfit(tp, yp, 1)[0] >= 0.0:
        raise ValueError("q: rates do not decline over t; an Arps fit is meaningless")
    # di between "barely declines over the record" and "falls e-fold in 1e-5 of it".
    lo, hi = np.log(1e-6 / t_max), np.log(1e5 / t_max)
    p = _grid_start(tp, yp, lo, hi)
    inlier = np.ones(tp.size, dtype=bool)
    for sweep in range(6):
        resid = yp - (p[0] - _exponent(np.exp(p[1]), p[2], tp))
        scale = 1.4826 * float(np.median(np.abs(resid[inlier] - np.median(resid[inlier]))))
        new_inlier = np.abs(resid) <= _OUTLIER_SIGMAS * max(scale, _MIN_LOG_SCALE)
        if new_inlier.sum() < 3:
            break
        if sweep > 0 and np.array_equal(new_inlier, inlier):
            break
        inlier = new_inlier
        p = _lm(tp[inlier], yp[inlier], p, lo, hi)
    resid = yp - (p[0] - _exponent(np.exp(p[1]), p[2], tp))
    used = np.zeros(t_arr.size, dtype=bool)
    used[np.flatnonzero(producing)[inlier]] = True
    rms = float(np.sqrt(np.mean(resid[inlier] ** 2)))
    return ArpsFit(float(np.exp(p[0])), float(np.exp(p[1])), float(p[2]), used, rms)


def fit_arps(*, t: Any, q: Any) -> ArpsParams:
    """Fit Arps qi, di, b to (t, q) by bounded least squares in ln q.

    Shut-in (q = 0) points are skipped, outliers are rejected by a robust (MAD) rule,
    and b is bounded to [0, 2].  `di` comes out per unit of `t`.  Raises ValueError when
    fewer than 3 producing points remain or the rates do not decline.  Use
    `fit_arps_detail` to see which points were used.
    """
    fit = fit_arps_detail(t=t, q=q)
    return ArpsParams(fit.qi, fit.di, fit.b)
