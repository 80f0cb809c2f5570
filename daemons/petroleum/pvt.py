"""Black-oil and gas PVT correlations.

Units: pressure psia, temperature °F (converted to °R where a correlation needs it), oil
gravity °API, gas specific gravity relative to air, Rs scf/STB, Bo rb/STB, viscosity cP,
Bg rcf/scf.  Scalars or numpy arrays in; the same (broadcast) shape out.  Correlations are
used as published; they are fits to limited data sets (ranges in docs/petroleum/pvt.md), so
prefer laboratory PVT where it exists.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from daemons.petroleum import _validate as v

Number = float | np.ndarray

RANKINE_OFFSET = 459.67
_MAX_ITER = 100
_TOL = 1e-12


def _api(api: Any) -> Number:
    # API below ~8 is extra-heavy (Orinoco) oil and still meaningful; 141.5/(131.5+API)
    # only breaks down at -131.5, but anything outside (0, 100] is a unit or entry error.
    return v.in_range("api", api, 0.0, 100.0, lo_open=True)


def _gas_sg(name: str, gas_sg: Any) -> Number:
    return v.in_range(name, gas_sg, 0.0, 3.0, lo_open=True)


def _temp_f(name: str, t: Any) -> Number:
    return v.in_range(name, t, -RANKINE_OFFSET, 1000.0, lo_open=True)


def oil_sg(api: Any) -> Number:
    """Stock-tank oil specific gravity γo = 141.5 / (131.5 + API) (API definition)."""
    api = _api(api)
    return v.restore(141.5 / (131.5 + np.asarray(api)), api)


# ---------------------------------------------------------------------------------------
# Standing (1981 form).  Standing, M.B., "Volumetric and Phase Behavior of Oil Field
# Hydrocarbon Systems", 9th printing, SPE, Dallas (1981): the algebraic fits of his 1947
# charts, as reproduced in Ahmed, "Reservoir Engineering Handbook", 4th ed. (2010), ch. 2.
# ---------------------------------------------------------------------------------------


def standing_rs(*, p: Any, t: Any, api: Any, gas_sg: Any) -> Number:
    """Solution GOR (scf/STB) at p <= pb: Rs = γg [(p/18.2 + 1.4) 10^(0.0125 API -
    0.00091 T)]^1.2048, p psia, T °F (Standing 1981).  Above pb, Rs stays at Rsb: pass
    min(p, pb)."""
    p = v.non_negative("p", p)
    t = _temp_f("t", t)
    api = _api(api)
    gas_sg = _gas_sg("gas_sg", gas_sg)
    x = 0.0125 * np.asarray(api) - 0.00091 * np.asarray(t)
    rs = np.asarray(gas_sg) * ((np.asarray(p) / 18.2 + 1.4) * 10.0**x) ** 1.2048
    return v.restore(rs, p, t, api, gas_sg)


def standing_pb(*, rs: Any, t: Any, api: Any, gas_sg: Any) -> Number:
    """Bubble-point pressure (psia): pb = 18.2 [(Rs/γg)^0.83 10^(0.00091 T - 0.0125 API)
    - 1.4] (Standing 1981).  Very low Rs gives pb below atmospheric; it is clipped to 0."""
    rs = v.non_negative("rs", rs)
    t = _temp_f("t", t)
    api = _api(api)
    gas_sg = _gas_sg("gas_sg", gas_sg)
    a = 0.00091 * np.asarray(t) - 0.0125 * np.asarray(api)
    pb = 18.2 * ((np.asarray(rs) / np.asarray(gas_sg)) ** 0.83 * 10.0**a - 1.4)
    return v.restore(np.maximum(pb, 0.0), rs, t, api, gas_sg)


def standing_bo(*, rs: Any, t: Any, api: Any, gas_sg: Any) -> Number:
    """Saturated oil FVF (rb/STB): Bo = 0.9759 + 0.000120 [Rs (γg/γo)^0.5 + 1.25 T]^1.2,
    T °F (Standing 1981)."""
    rs = v.non_negative("rs", rs)
    t = _temp_f("t", t)
    api = _api(api)
    gas_sg = _gas_sg("gas_sg", gas_sg)
    gamma_o = 141.5 / (131.5 + np.asarray(api))
    cf = np.asarray(rs) * np.sqrt(np.asarray(gas_sg) / gamma_o) + 1.25 * np.asarray(t)
    if (cf < 0).any():
        raise ValueError("t: too cold for Standing's Bo (correlating term is negative)")
    return v.restore(0.9759 + 0.000120 * cf**1.2, rs, t, api, gas_sg)


# ---------------------------------------------------------------------------------------
# Vasquez & Beggs, "Correlations for Fluid Physical Property Prediction", JPT June 1980,
# pp. 968-970.  Gas gravity is the one at the 100 psig reference separator (γgs).
# ---------------------------------------------------------------------------------------

# (C1, C2, C3) for Rs, API <= 30 then API > 30 (Vasquez & Beggs 1980, Table 2).
_VB_RS_LO = (0.0362, 1.0937, 25.7240)
_VB_RS_HI = (0.0178, 1.1870, 23.9310)
# (C1, C2, C3) for Bo (Vasquez & Beggs 1980, Table 3).
_VB_BO_LO = (4.677e-4, 1.751e-5, -1.811e-8)
_VB_BO_HI = (4.670e-4, 1.100e-5, 1.337e-9)


def _vb_pick(api: np.ndarray, lo: tuple[float, ...], hi: tuple[float, ...]) -> list[Any]:
    return [np.where(api <= 30.0, a, b) for a, b in zip(lo, hi, strict=True)]


def separator_gas_sg(*, gas_sg: Any, api: Any, t_sep: Any, p_sep: Any) -> Number:
    """Gas gravity corrected to the 100 psig (114.7 psia) reference separator:
    γgs = γg [1 + 5.912e-5 API T_sep log10(p_sep / 114.7)], T_sep °F, p_sep psia
    (Vasquez & Beggs 1980, eq. 1)."""
    gas_sg = _gas_sg("gas_sg", gas_sg)
    api = _api(api)
    t_sep = _temp_f("t_sep", t_sep)
    p_sep = v.positive("p_sep", p_sep)
    corr = 1.0 + 5.912e-5 * np.asarray(api) * np.asarray(t_sep) * np.log10(
        np.asarray(p_sep) / 114.7
    )
    if (corr <= 0).any():
        raise ValueError("p_sep: separator pressure too low for the gravity correction")
    return v.restore(np.asarray(gas_sg) * corr, gas_sg, api, t_sep, p_sep)


def vasquez_beggs_rs(*, p: Any, t: Any, api: Any, gas_sg: Any) -> Number:
    """Solution GOR (scf/STB) at p <= pb: Rs = C1 γgs p^C2 exp(C3 API / (T + 460)),
    p psia, T °F; `gas_sg` is γgs from `separator_gas_sg` (Vasquez & Beggs 1980, eq. 2)."""
    p = v.non_negative("p", p)
    t = _temp_f("t", t)
    api = _api(api)
    gas_sg = _gas_sg("gas_sg", gas_sg)
    a = np.asarray(api)
    c1, c2, c3 = _vb_pick(a, _VB_RS_LO, _VB_RS_HI)
    tr = np.asarray(t) + 460.0  # the paper uses T + 460
    rs = c1 * np.asarray(gas_sg) * np.asarray(p) ** c2 * np.exp(c3 * a / tr)
    return v.restore(rs, p, t, api, gas_sg)


def vasquez_beggs_pb(*, rs: Any, t: Any, api: Any, gas_sg: Any) -> Number:
    """Bubble point (psia): the exact inverse of `vasquez_beggs_rs` at Rs = Rsb."""
    rs = v.non_negative("rs", rs)
    t = _temp_f("t", t)
    api = _api(api)
    gas_sg = _gas_sg("gas_sg", gas_sg)
    a = np.asarray(api)
    c1, c2, c3 = _vb_pick(a, _VB_RS_LO, _VB_RS_HI)
    tr = np.asarray(t) + 460.0
    pb = (np.asarray(rs) / (c1 * np.asarray(gas_sg) * np.exp(c3 * a / tr))) ** (1.0 / c2)
    return v.restore(pb, rs, t, api, gas_sg)


def vasquez_beggs_bo(*, rs: Any, t: Any, api: Any, gas_sg: Any) -> Number:
    """Saturated oil FVF (rb/STB): Bo = 1 + C1 Rs + (T - 60)(API/γgs)(C2 + C3 Rs)
    (Vasquez & Beggs 1980, eq. 4); `gas_sg` is γgs."""
    rs = v.non_negative("rs", rs)
    t = _temp_f("t", t)
    api = _api(api)
    gas_sg = _gas_sg("gas_sg", gas_sg)
    a = np.asarray(api)
    c1, c2, c3 = _vb_pick(a, _VB_BO_LO, _VB_BO_HI)
    r = np.asarray(rs)
    bo = 1.0 + c1 * r + (np.asarray(t) - 60.0) * (a / np.asarray(gas_sg)) * (c2 + c3 * r)
    return v.restore(bo, rs, t, api, gas_sg)


def vasquez_beggs_co(*, p: Any, rsb: Any, t: Any, api: Any, gas_sg: Any) -> Number:
    """Undersaturated oil compressibility (1/psi) above pb:
    co = (-1433 + 5 Rsb + 17.2 T - 1180 γgs + 12.61 API) / (1e5 p)
    (Vasquez & Beggs 1980, eq. 3)."""
    p = v.positive("p", p)
    rsb = v.non_negative("rsb", rsb)
    t = _temp_f("t", t)
    api = _api(api)
    gas_sg = _gas_sg("gas_sg", gas_sg)
    num = (
        -1433.0
        + 5.0 * np.asarray(rsb)
        + 17.2 * np.asarray(t)
        - 1180.0 * np.asarray(gas_sg)
        + 12.61 * np.asarray(api)
    )
    return v.restore(num / (1e5 * np.asarray(p)), p, rsb, t, api, gas_sg)


def undersaturated_bo(*, bob: Any, co: Any, p: Any, pb: Any) -> Number:
    """Bo above the bubble point, Bo = Bob exp(co (pb - p)) (constant co; Ahmed 2010,
    ch. 2, integration of the isothermal compressibility definition)."""
    bob = v.positive("bob", bob)
    co = v.non_negative("co", co)
    p = v.positive("p", p)
    pb = v.non_negative("pb", pb)
    v.not_above("pb", pb, "p", p)
    bo = np.asarray(bob) * np.exp(np.asarray(co) * (np.asarray(pb) - np.asarray(p)))
    return v.restore(bo, bob, co, p, pb)


# ---------------------------------------------------------------------------------------
# Beggs & Robinson, "Estimating the Viscosity of Crude Oil Systems", JPT Sept. 1975,
# pp. 1140-1141.
# ---------------------------------------------------------------------------------------


def beggs_robinson_dead_oil_viscosity(*, t: Any, api: Any) -> Number:
    """Dead-oil viscosity (cP): mu_od = 10^x - 1, x = 10^(3.0324 - 0.02023 API) T^-1.163,
    T °F (Beggs & Robinson 1975, eq. 2)."""
    t = v.positive("t", t)
    api = _api(api)
    x = 10.0 ** (3.0324 - 0.02023 * np.asarray(api)) * np.asarray(t) ** -1.163
    return v.restore(10.0**x - 1.0, t, api)


def beggs_robinson_live_oil_viscosity(*, mu_od: Any, rs: Any) -> Number:
    """Saturated (live) oil viscosity (cP): mu_o = A mu_od^B, A = 10.715 (Rs + 100)^-0.515,
    B = 5.44 (Rs + 150)^-0.338 (Beggs & Robinson 1975, eq. 3)."""
    mu_od = v.positive("mu_od", mu_od)
    rs = v.non_negative("rs", rs)
    r = np.asarray(rs)
    a = 10.715 * (r + 100.0) ** -0.515
    b = 5.44 * (r + 150.0) ** -0.338
    return v.restore(a * np.asarray(mu_od) ** b, mu_od, rs)


# ---------------------------------------------------------------------------------------
# Gas: Sutton pseudo-criticals, z-factor, Bg.
# ---------------------------------------------------------------------------------------


class PseudoCritical(NamedTuple):
    """Pseudo-critical temperature (°R) and pressure (psia)."""

    tpc: Number
    ppc: Number


def sutton_pseudocritical(*, gas_sg: Any) -> PseudoCritical:
    """Sutton's hydrocarbon-gas pseudo-criticals: Tpc = 169.2 + 349.5 γg - 74.0 γg² (°R),
    Ppc = 756.8 - 131.0 γg - 3.6 γg² (psia).  Sutton, R.P., "Compressibility Factors for
    High-Molecular-Weight Reservoir Gases", SPE 14265 (1985), eqs. 8-9.  No correction
    for H2S/CO2/N2 (apply Wichert-Aziz separately for sour gas)."""
    gas_sg = v.in_range("gas_sg", gas_sg, 0.55, 2.0)
    g = np.asarray(gas_sg)
    tpc = 169.2 + 349.5 * g - 74.0 * g * g
    ppc = 756.8 - 131.0 * g - 3.6 * g * g
    return PseudoCritical(v.restore(tpc, gas_sg), v.restore(ppc, gas_sg))


# Dranchuk & Abou-Kassem, "Calculation of Z Factors for Natural Gases Using Equations of
# State", JCPT July-Sept. 1975, pp. 34-36: the 11 constants fitted to 1500 Standing-Katz
# chart points.
_DAK = (0.3265, -1.0700, -0.5339, 0.01569, -0.05165, 0.5475, -0.7361, 0.1844, 0.1056,
        0.6134, 0.7210)  # fmt: skip


def _z_dak(ppr: np.ndarray, tpr: np.ndarray) -> np.ndarray:
    """Newton on the reduced density ρr = 0.27 ppr / (z Tpr) (DAK 1975, eqs. 1-2)."""
    a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11 = _DAK
    c1 = a1 + a2 / tpr + a3 / tpr**3 + a4 / tpr**4 + a5 / tpr**5
    c2 = a6 + a7 / tpr + a8 / tpr**2
    c3 = a9 * (a7 / tpr + a8 / tpr**2)
    c4 = a10 / tpr**3
    k = 0.27 * ppr / tpr
    rho = k.copy()  # start at the ideal gas, z = 1
    for _ in range(_MAX_ITER):
        r2 = rho * rho
        e = np.exp(-a11 * r2)
        z = 1.0 + c1 * rho + c2 * r2 - c3 * r2 * r2 * rho + c4 * r2 * (1.0 + a11 * r2) * e
        f = z - k / rho
        dz = (
            c1
            + 2.0 * c2 * rho
            - 5.0 * c3 * r2 * r2
            + c4 * e * (2.0 * rho + 2.0 * a11 * r2 * rho - 2.0 * a11 * a11 * r2 * r2 * rho)
        )
        step = f / (dz + k / r2)
        new = np.where(rho - step > 0.0, rho - step, 0.5 * rho)
        done = np.abs(new - rho) <= _TOL * np.maximum(rho, 1e-12)
        rho = new
        if done.all():
            break
    else:
        raise ValueError("ppr: the DAK z-factor iteration did not converge at these ppr/tpr")
    return k / rho


def _z_hall_yarborough(ppr: np.ndarray, tpr: np.ndarray) -> np.ndarray:
    """Newton on HY's reduced density y (Hall & Yarborough, Oil & Gas J., June 18 1973,
    pp. 82-92): z = A ppr / y, with A, B, C, D functions of t = 1/Tpr."""
    t = 1.0 / tpr
    a = 0.06125 * t * np.exp(-1.2 * (1.0 - t) ** 2)
    b = t * (14.76 - 9.76 * t + 4.58 * t * t)
    c = t * (90.7 - 242.2 * t + 42.4 * t * t)
    d = 2.18 + 2.82 * t
    y = np.clip(a * ppr, 1e-12, 0.5)  # ideal-gas start
    for _ in range(_MAX_ITER):
        y2, y3, y4 = y * y, y**3, y**4
        om = 1.0 - y
        f = -a * ppr + (y + y2 + y3 - y4) / om**3 - b * y2 + c * y**d
        df = (
            (1.0 + 4.0 * y + 4.0 * y2 - 4.0 * y3 + y4) / om**4
            - 2.0 * b * y
            + c * d * y ** (d - 1.0)
        )
        new = y - f / df
        # keep y inside (0, 1): the hard-sphere term has a pole at y = 1
        new = np.where(new <= 0.0, 0.5 * y, np.where(new >= 1.0, 0.5 * (y + 1.0), new))
        done = np.abs(new - y) <= _TOL * np.maximum(y, 1e-12)
        y = new
        if done.all():
            break
    else:
        raise ValueError("ppr: the Hall-Yarborough iteration did not converge at these ppr/tpr")
    return a * ppr / y


def z_factor(*, ppr: Any, tpr: Any, method: str = "dak") -> Number:
    """Gas compressibility factor from pseudo-reduced pressure and temperature.

    method="dak": Dranchuk & Abou-Kassem (1975), valid 0.2 <= ppr < 30, 1.0 < tpr <= 3.0;
    method="hall_yarborough": Hall & Yarborough (1973), recommended tpr >= 1.2 (the
    source notes poor behaviour below).  Both reproduce the Standing & Katz (1942) chart
    ("Density of Natural Gases", Trans. AIME 146, pp. 140-149) within about 1 % in the
    usual range.  Below ppr 0.2 both tend to z = 1 correctly; tpr is limited to [1.0, 3.0].
    """
    v.one_of("method", method, ("dak", "hall_yarborough"))
    ppr = v.in_range("ppr", ppr, 0.0, 30.0)
    tpr = v.in_range("tpr", tpr, 1.0, 3.0)
    p_arr, t_arr = np.broadcast_arrays(np.asarray(ppr, dtype=float), np.asarray(tpr, dtype=float))
    z = np.ones(p_arr.shape)
    live = p_arr > 0.0  # z = 1 exactly at zero pressure
    if live.any():
        solver = _z_dak if method == "dak" else _z_hall_yarborough
        z[live] = solver(p_arr[live], t_arr[live])
    return v.restore(z, ppr, tpr)


def gas_fvf(*, z: Any, t: Any, p: Any, p_sc: float = 14.696, t_sc: float = 60.0) -> Number:
    """Gas formation volume factor Bg = (p_sc / T_sc) z T / p, rcf/scf, T in °R inside
    (real-gas law; Ahmed 2010 ch. 2, which prints 0.02827 z T / p for 14.7 psia, 520 °R).
    `t`, `t_sc` in °F, `p`, `p_sc` in psia.  Divide by 5.614583 for rb/scf."""
    z = v.positive("z", z)
    t = _temp_f("t", t)
    p = v.positive("p", p)
    p_sc = float(v.positive("p_sc", p_sc))
    t_sc = float(_temp_f("t_sc", t_sc))
    bg = (p_sc / (t_sc + RANKINE_OFFSET)) * np.asarray(z) * (np.asarray(t) + RANKINE_OFFSET)
    return v.restore(bg / np.asarray(p), z, t, p)
