"""Inflow performance: productivity index, Vogel, composite IPR, Standing's flow efficiency,
Fetkovich back-pressure fit and Horner build-up analysis.

Units: rates in STB/d, pressures in psia (any consistent absolute or gauge datum works for
the IPR ratios, but use one datum throughout), permeability in md, thickness and radius in
ft, viscosity in cP, compressibility in 1/psi.  Scalars or numpy arrays in; the same shape
out.  Formulas and sources are collected in docs/petroleum/inflow.md.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from daemons.petroleum import _validate as v

Number = float | np.ndarray

# Vogel (1968) dimensionless IPR coefficients, JPT 20(1) 83-92, eq. 1.
_VOGEL_A = 0.2
_VOGEL_B = 0.8
# dq/dpwf of Vogel at pwf = p_res is qmax * (0.2 + 1.6) / p_res = 1.8 qmax / p_res; the
# composite IPR matches that slope to the straight-line PI at the bubble point
# (Brown, "The Technology of Artificial Lift Methods" vol. 1, 1977, ch. 1;
# Guo, Liu & Tan, "Petroleum Production Engineering", 2nd ed. 2017, eq. 3.63).
_VOGEL_SLOPE = _VOGEL_A + 2.0 * _VOGEL_B


def _vogel_ratio(x: Any) -> Any:
    """q/qmax = 1 - 0.2 x - 0.8 x², x = pwf/p (Vogel 1968, eq. 1)."""
    return 1.0 - _VOGEL_A * x - _VOGEL_B * x * x


def productivity_index(*, q: Any, p_res: Any, pwf: Any) -> Number:
    """Straight-line productivity index J = q / (p_res - pwf), STB/d/psi.

    Source: Craft & Hawkins, "Applied Petroleum Reservoir Engineering", 2nd ed. 1991,
    ch. 7 (definition of PI).  Requires pwf < p_res (no drawdown, no PI).
    """
    q = v.non_negative("q", q)
    p_res = v.positive("p_res", p_res)
    pwf = v.non_negative("pwf", pwf)
    v.not_above("pwf", pwf, "p_res", p_res)
    drawdown = np.asarray(p_res) - np.asarray(pwf)
    if (drawdown <= 0).any():
        raise ValueError("pwf: must be below p_res to define a productivity index")
    return v.restore(np.asarray(q) / drawdown, q, p_res, pwf)


def vogel_qmax(*, q_test: Any, pwf_test: Any, p_res: Any) -> Number:
    """Vogel's maximum rate (AOF, STB/d) from one stabilised test.

    qmax = q_test / (1 - 0.2 (pwf/p) - 0.8 (pwf/p)²) — Vogel, J.V., "Inflow Performance
    Relationships for Solution-Gas Drive Wells", JPT Jan. 1968, pp. 83-92, eq. 1.
    """
    q_test = v.non_negative("q_test", q_test)
    p_res = v.positive("p_res", p_res)
    pwf_test = v.non_negative("pwf_test", pwf_test)
    v.not_above("pwf_test", pwf_test, "p_res", p_res)
    ratio = _vogel_ratio(np.asarray(pwf_test) / np.asarray(p_res))
    if (ratio <= 0).any():
        raise ValueError("pwf_test: must be below p_res (no drawdown, qmax undefined)")
    return v.restore(np.asarray(q_test) / ratio, q_test, pwf_test, p_res)


def vogel_rate(*, pwf: Any, p_res: Any, qmax: Any) -> Number:
    """Rate (STB/d) at pwf on Vogel's curve: q = qmax (1 - 0.2 x - 0.8 x²), x = pwf/p_res.

    Vogel (1968) JPT pp. 83-92, eq. 1.  q(p_res) = 0 and q(0) = qmax exactly.
    """
    pwf = v.non_negative("pwf", pwf)
    p_res = v.positive("p_res", p_res)
    qmax = v.non_negative("qmax", qmax)
    v.not_above("pwf", pwf, "p_res", p_res)
    q = np.asarray(qmax) * _vogel_ratio(np.asarray(pwf) / np.asarray(p_res))
    return v.restore(q, pwf, p_res, qmax)


def _composite_parts(p_res: Any, pb: Any, j: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Effective bubble point, rate at it, and the Vogel part's scale J·pb/1.8.

    A saturated reservoir (pb >= p_res) has no straight-line part: the bubble point is
    effectively p_res and the whole curve is Vogel with qmax = J p_res / 1.8, which is the
    same curve the composite formula gives in the limit pb -> p_res (Brown 1977, vol. 1).
    """
    p_eff = np.minimum(np.asarray(pb), np.asarray(p_res))
    qb = np.asarray(j) * (np.asarray(p_res) - p_eff)
    scale = np.asarray(j) * p_eff / _VOGEL_SLOPE
    return p_eff, qb, scale


def composite_ipr_rate(*, pwf: Any, p_res: Any, pb: Any, j: Any) -> Number:
    """Composite (generalised Vogel) IPR rate, STB/d.

    Above the bubble point: q = J (p_res - pwf).  Below: q = qb + (J pb / 1.8)
    (1 - 0.2 (pwf/pb) - 0.8 (pwf/pb)²), qb = J (p_res - pb).  Source: Guo, Liu & Tan,
    "Petroleum Production Engineering", 2nd ed. 2017, eq. 3.63 (generalised Vogel IPR);
    Brown, "The Technology of Artificial Lift Methods" vol. 1 (1977) ch. 1.
    `j` is the straight-line PI above pb, STB/d/psi.
    """
    pwf = v.non_negative("pwf", pwf)
    p_res = v.positive("p_res", p_res)
    pb = v.non_negative("pb", pb)
    j = v.non_negative("j", j)
    v.not_above("pwf", pwf, "p_res", p_res)
    p_eff, qb, scale = _composite_parts(p_res, pb, j)
    pw = np.asarray(pwf)
    linear = np.asarray(j) * (np.asarray(p_res) - pw)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(p_eff > 0, pw / np.where(p_eff > 0, p_eff, 1.0), 0.0)
    below = qb + scale * _vogel_ratio(x)
    q = np.where(pw >= p_eff, linear, below)
    return v.restore(q, pwf, p_res, pb, j)


def composite_aof(*, p_res: Any, pb: Any, j: Any) -> Number:
    """Absolute open flow of the composite IPR: J (p_res - pb) + J pb / 1.8, STB/d.

    Guo et al. (2017) eq. 3.63 evaluated at pwf = 0.
    """
    p_res = v.positive("p_res", p_res)
    pb = v.non_negative("pb", pb)
    j = v.non_negative("j", j)
    _, qb, scale = _composite_parts(p_res, pb, j)
    return v.restore(qb + scale, p_res, pb, j)


def standing_fe_pwf_min(*, p_res: Any, fe: Any) -> Number:
    """Lowest pwf where Standing's curves are defined: p_res (1 - 1/FE) for FE > 1, else 0.

    Below it the ideal pressure pwf' = p_res - FE (p_res - pwf) is negative and Standing's
    (1970) charts do not extend there.
    """
    p_res = v.positive("p_res", p_res)
    fe = v.positive("fe", fe)
    out = np.maximum(0.0, np.asarray(p_res) * (1.0 - 1.0 / np.asarray(fe)))
    return v.restore(out, p_res, fe)


def _ideal_pwf(pwf: Any, p_res: Any, fe: Any) -> np.ndarray:
    """Standing's undamaged pressure pwf' = p_res - FE (p_res - pwf); raises if < 0."""
    pw = np.asarray(pwf)
    p = np.asarray(p_res)
    ideal = p - np.asarray(fe) * (p - pw)
    if (ideal < -1e-9 * np.maximum(p, 1.0)).any():
        raise ValueError(
            "pwf: below p_res*(1 - 1/fe), where Standing's flow-efficiency curves are not "
            "defined (ideal pwf' = p_res - fe*(p_res - pwf) would be negative)"
        )
    return np.maximum(ideal, 0.0)


def standing_fe_rate(*, pwf: Any, p_res: Any, qmax_fe1: Any, fe: Any) -> Number:
    """Rate (STB/d) for a damaged or stimulated well (flow efficiency FE).

    q = qmax(FE=1) (1 - 0.2 x' - 0.8 x'²), x' = pwf'/p_res, pwf' = p_res - FE (p_res - pwf).
    Source: Standing, M.B., "Inflow Performance Relationships for Damaged Wells Producing
    by Solution-Gas Drive", JPT Nov. 1970, pp. 1399-1400.  With FE > 1, pwf below
    `standing_fe_pwf_min` raises ValueError (outside Standing's curves).
    """
    pwf = v.non_negative("pwf", pwf)
    p_res = v.positive("p_res", p_res)
    qmax_fe1 = v.non_negative("qmax_fe1", qmax_fe1)
    fe = v.positive("fe", fe)
    v.not_above("pwf", pwf, "p_res", p_res)
    ideal = _ideal_pwf(pwf, p_res, fe)
    q = np.asarray(qmax_fe1) * _vogel_ratio(ideal / np.asarray(p_res))
    return v.restore(q, pwf, p_res, qmax_fe1, fe)


def standing_qmax_fe1(*, q_test: Any, pwf_test: Any, p_res: Any, fe: Any) -> Number:
    """qmax at FE = 1 (STB/d) from one test on a well of flow efficiency `fe`.

    Inverse of `standing_fe_rate` (Standing 1970).
    """
    q_test = v.non_negative("q_test", q_test)
    pwf_test = v.non_negative("pwf_test", pwf_test)
    p_res = v.positive("p_res", p_res)
    fe = v.positive("fe", fe)
    v.not_above("pwf_test", pwf_test, "p_res", p_res)
    ratio = _vogel_ratio(_ideal_pwf(pwf_test, p_res, fe) / np.asarray(p_res))
    if (ratio <= 0).any():
        raise ValueError("pwf_test: must be below p_res (no drawdown, qmax undefined)")
    return v.restore(np.asarray(q_test) / ratio, q_test, pwf_test, p_res, fe)


class FetkovichFit(NamedTuple):
    """q = c (p_res² - pwf²)^n; c in STB/d/psi^(2n), n dimensionless."""

    c: float
    n: float


def fetkovich_fit(*, p_res: Any, q: Any, pwf: Any) -> FetkovichFit:
    """Fit Fetkovich's back-pressure equation q = C (p_res² - pwf²)^n to test points.

    Least squares on log q = log C + n log(p_res² - pwf²), the straight line of the
    log-log back-pressure plot: Fetkovich, M.J., "The Isochronal Testing of Oil Wells",
    SPE 4529 (1973), eq. 8.  Needs at least two points with distinct drawdowns and
    q > 0; one point is not enough to fix both c and n.
    """
    p_res = float(v.positive("p_res", p_res))
    q_arr = v.array_1d("q", q, min_len=2)
    pwf_arr = v.array_1d("pwf", pwf, min_len=2)
    v.same_length(q=q_arr, pwf=pwf_arr)
    v.positive("q", q_arr)
    v.non_negative("pwf", pwf_arr)
    v.not_above("pwf", pwf_arr, "p_res", p_res)
    dp2 = p_res * p_res - pwf_arr * pwf_arr
    if (dp2 <= 0).any():
        raise ValueError("pwf: every test point must be below p_res")
    x = np.log10(dp2)
    if np.ptp(x) < 1e-9:
        raise ValueError("pwf: test points need at least two different drawdowns")
    y = np.log10(q_arr)
    n, log_c = np.polyfit(x, y, 1)
    if n <= 0:
        raise ValueError("q: rates do not increase with drawdown; the fit is meaningless")
    return FetkovichFit(c=float(10.0**log_c), n=float(n))


def fetkovich_rate(*, pwf: Any, p_res: Any, c: Any, n: Any) -> Number:
    """Rate (STB/d) from Fetkovich's equation q = c (p_res² - pwf²)^n (SPE 4529, eq. 8)."""
    pwf = v.non_negative("pwf", pwf)
    p_res = v.positive("p_res", p_res)
    c = v.non_negative("c", c)
    # Fetkovich (1973) reports 0.5 <= n <= 1.0 for oil wells; allow a margin for fits.
    n = v.in_range("n", n, 0.0, 2.0, lo_open=True)
    v.not_above("pwf", pwf, "p_res", p_res)
    dp2 = np.asarray(p_res) ** 2 - np.asarray(pwf) ** 2
    q = np.asarray(c) * np.power(dp2, np.asarray(n))
    return v.restore(q, pwf, p_res, c, n)


class HornerResult(NamedTuple):
    """Build-up analysis figures: permeability (md), skin (-), pressure drop of skin (psi)."""

    k: float
    skin: float
    dp_skin: float


# Field-unit constants of the semilog analysis (Earlougher 1977 ch. 5; Lee 1982 ch. 2):
# 162.6 = 70.6 ln 10 (70.6 = 141.2/2, the Darcy constant); 1.1513 = ln(10)/2;
# 3.2275 = -log10(4 * 0.0002637 / 1.781), from the log approximation of Ei with Euler's
# constant (e^0.5772 = 1.781).  Skin pressure drop = 141.2 q B mu s/(k h) = (141.2/162.6) m s,
# printed as 0.87 m s.
_KH_CONST = 162.6
_SKIN_LN = 1.1513
_SKIN_CONST = 3.2275
_DP_SKIN = 141.2 / 162.6


def horner_analysis(
    *,
    q: float,
    bo: float,
    mu: float,
    h: float,
    m: float,
    p1hr: float,
    pwf_shutin: float,
    phi: float,
    ct: float,
    rw: float,
) -> HornerResult:
    """Permeability, skin and skin pressure drop from a Horner build-up straight line.

    k = 162.6 q Bo mu / (m h)                                      [md]
    s = 1.1513 [(p1hr - pwf)/m - log10(k / (phi mu ct rw²)) + 3.2275]
    dp_skin = 0.869 m s                                             [psi]
    Source: Earlougher, R.C. Jr., "Advances in Well Test Analysis", SPE Monograph 5
    (1977), ch. 5 (Horner plot); Lee, J., "Well Testing", SPE Textbook Series 1 (1982),
    ch. 2 (pressure build-up).  `m` is the magnitude of the semilog slope (psi/cycle,
    > 0); `p1hr` is read on the straight line (extrapolated if needed) at Δt = 1 hr;
    `pwf_shutin` is the flowing pressure just before shut-in.  Assumes tp >> 1 hr
    (the Horner time ratio at Δt = 1 hr is then ~ tp).
    """
    q = float(v.positive("q", q))
    bo = float(v.positive("bo", bo))
    mu = float(v.positive("mu", mu))
    h = float(v.positive("h", h))
    m = float(v.positive("m", m))
    p1hr = float(v.non_negative("p1hr", p1hr))
    pwf_shutin = float(v.non_negative("pwf_shutin", pwf_shutin))
    phi = float(v.in_range("phi", phi, 0.0, 1.0, lo_open=True))
    ct = float(v.positive("ct", ct))
    rw = float(v.positive("rw", rw))
    v.not_above("pwf_shutin", pwf_shutin, "p1hr", p1hr)
    k = _KH_CONST * q * bo * mu / (m * h)
    s = _SKIN_LN * ((p1hr - pwf_shutin) / m - np.log10(k / (phi * mu * ct * rw * rw)) + _SKIN_CONST)
    return HornerResult(k=float(k), skin=float(s), dp_skin=float(_DP_SKIN * m * s))
