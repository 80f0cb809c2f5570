"""Material balance: volumetric OOIP, Havlena–Odeh straight lines, gas p/z.

Units: area acres, thickness ft, volumes STB / scf / rb, Bo and Bw rb/STB, Bg rb/scf (NOT
rcf/scf: divide `pvt.gas_fvf` by RCF_PER_BBL), Rs and Rp scf/STB, compressibility 1/psi,
pressure psia.  Arrays are one value per pressure survey.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from daemons.petroleum import _validate as v

Number = float | np.ndarray

# 1 acre-ft = 43,560 ft³ = 7,758.37 bbl (43,560 / 5.614583); textbooks print 7,758.
BBL_PER_ACRE_FT = 43_560.0 / 5.614583
RCF_PER_BBL = 5.614583


def ooip_volumetric(*, area_acres: Any, h: Any, phi: Any, sw: Any, boi: Any) -> Number:
    """Original oil in place, STB: N = 7758 A h phi (1 - Sw) / Boi.

    Source: Craft & Hawkins, "Applied Petroleum Reservoir Engineering", 2nd ed. rev.
    Terry (1991), ch. 3 (volumetric method); 7758 bbl per acre-ft.
    """
    area_acres = v.non_negative("area_acres", area_acres)
    h = v.non_negative("h", h)
    phi = v.fraction("phi", phi)
    sw = v.fraction("sw", sw)
    boi = v.positive("boi", boi)
    n = (
        BBL_PER_ACRE_FT
        * np.asarray(area_acres)
        * np.asarray(h)
        * np.asarray(phi)
        * (1.0 - np.asarray(sw))
        / np.asarray(boi)
    )
    return v.restore(n, area_acres, h, phi, sw, boi)


class HavlenaOdehTerms(NamedTuple):
    """Underground withdrawal F (rb) and expansion terms Eo, Eg, Efw (rb/STB)."""

    f: Number
    eo: Number
    eg: Number
    efw: Number


def havlena_odeh_terms(
    *,
    np_: Any,
    rp: Any,
    bo: Any,
    rs: Any,
    bg: Any,
    boi: Any,
    rsi: Any,
    bgi: Any,
    p: Any,
    p_i: float,
    wp: Any = 0.0,
    bw: Any = 1.0,
    wi: Any = 0.0,
    gi: Any = 0.0,
    bg_inj: Any | None = None,
    m: float = 0.0,
    swi: float = 0.0,
    cw: float = 0.0,
    cf: float = 0.0,
) -> HavlenaOdehTerms:
    """Havlena–Odeh terms of the general material balance F = N (Eo + m Eg + Efw) + We.

    F   = Np [Bo + (Rp - Rs) Bg] + Wp Bw - Wi Bw - Gi Bg_inj
    Eo  = (Bo - Boi) + (Rsi - Rs) Bg
    Eg  = Boi (Bg / Bgi - 1)
    Efw = (1 + m) Boi (cw Swi + cf) / (1 - Swi) (p_i - p)
    Source: Havlena, D. & Odeh, A.S., "The Material Balance as an Equation of a Straight
    Line", JPT Aug. 1963, pp. 896-900; Dake, "Fundamentals of Reservoir Engineering"
    (1978), ch. 3.  `np_` is cumulative oil Np (STB; trailing underscore because `np` is
    numpy), `rp` the cumulative GOR Gp/Np (scf/STB), Bg in rb/scf.  Pass m = 0 when the
    gas-cap size is to be fitted (see `havlena_odeh_fit`).  Below the bubble point, Bo
    and Rs are the differential-liberation values at p.
    """
    np_ = v.non_negative("np_", np_)
    rp = v.non_negative("rp", rp)
    bo = v.positive("bo", bo)
    rs = v.non_negative("rs", rs)
    bg = v.positive("bg", bg)
    boi = v.positive("boi", boi)
    rsi = v.non_negative("rsi", rsi)
    bgi = v.positive("bgi", bgi)
    p = v.non_negative("p", p)
    p_i = float(v.positive("p_i", p_i))
    v.not_above("p", p, "p_i", p_i)
    wp = v.non_negative("wp", wp)
    bw = v.positive("bw", bw)
    wi = v.non_negative("wi", wi)
    gi = v.non_negative("gi", gi)
    bg_inj = bg if bg_inj is None else v.positive("bg_inj", bg_inj)
    m = float(v.non_negative("m", m))
    swi = float(v.in_range("swi", swi, 0.0, 1.0, hi_open=True))
    cw = float(v.non_negative("cw", cw))
    cf = float(v.non_negative("cf", cf))
    a = {k: np.asarray(x) for k, x in dict(np_=np_, rp=rp, bo=bo, rs=rs, bg=bg, p=p).items()}
    f = (
        a["np_"] * (a["bo"] + (a["rp"] - a["rs"]) * a["bg"])
        + np.asarray(wp) * np.asarray(bw)
        - np.asarray(wi) * np.asarray(bw)
        - np.asarray(gi) * np.asarray(bg_inj)
    )
    eo = (a["bo"] - np.asarray(boi)) + (np.asarray(rsi) - a["rs"]) * a["bg"]
    eg = np.asarray(boi) * (a["bg"] / np.asarray(bgi) - 1.0)
    efw = (1.0 + m) * np.asarray(boi) * (cw * swi + cf) / (1.0 - swi) * (p_i - a["p"])
    ins = (np_, rp, bo, rs, bg, p)
    return HavlenaOdehTerms(
        f=v.restore(f, *ins),
        eo=v.restore(eo, *ins),
        eg=v.restore(eg, *ins),
        efw=v.restore(efw, *ins),
    )


class HavlenaOdehFit(NamedTuple):
    """Oil in place N (STB) and gas-cap ratio m (None when no gas cap was fitted)."""

    n: float
    m: float | None


def havlena_odeh_fit(*, F: Any, Eo: Any, Eg: Any = None, Efw: Any = None) -> HavlenaOdehFit:
    """Oil in place from the Havlena–Odeh straight lines (no water influx).

    Without Eg:  F = N (Eo + Efw), a line through the origin: N = Σ F E / Σ E².
    With Eg:     F = N (Eo + Efw) + (N m)(Eg + Efw), both unknowns by linear least
    squares through the origin (equivalent to Havlena & Odeh's F/Eo vs Eg/Eo line, but
    without dividing by small early Eo values).  Efw must then be computed with m = 0.
    Source: Havlena & Odeh, JPT Aug. 1963, pp. 896-900 (cases 1 and 2).  The origin
    point (F = E = 0 at p_i) carries no information and may be included or not.
    """
    f = v.array_1d("F", F, min_len=1)
    eo = v.array_1d("Eo", Eo, min_len=1)
    efw = np.zeros_like(eo) if Efw is None else v.array_1d("Efw", Efw, min_len=1)
    v.same_length(F=f, Eo=eo, Efw=efw)
    x1 = eo + efw
    if Eg is None:
        denom = float(x1 @ x1)
        if denom <= 0.0:
            raise ValueError("Eo: all expansion terms are zero; N cannot be determined")
        return HavlenaOdehFit(n=float((x1 @ f) / denom), m=None)
    eg = v.array_1d("Eg", Eg, min_len=2)
    v.same_length(F=f, Eg=eg)
    x2 = eg + efw
    a = np.column_stack((x1, x2))
    if np.linalg.matrix_rank(a) < 2:
        raise ValueError("Eg: Eo and Eg are proportional; N and m cannot be separated")
    (n, nm), *_ = np.linalg.lstsq(a, f, rcond=None)
    if n <= 0.0:
        raise ValueError("F: the fitted oil in place is not positive; check the data")
    return HavlenaOdehFit(n=float(n), m=float(nm / n))


class PzFit(NamedTuple):
    """OGIP (units of gp), the fitted initial p/z (psia) and slope (psia per unit gp)."""

    ogip: float
    pz_i: float
    slope: float


def gas_pz_ogip(*, p: Any, gp: Any, z: Any) -> PzFit:
    """Original gas in place from the p/z line of a volumetric gas reservoir.

    p/z = (p_i/z_i)(1 - Gp/G): fit p/z against Gp by least squares and extrapolate to
    p/z = 0.  Source: Craft & Hawkins (1991) ch. 1 (volumetric gas reservoirs); Dake
    (1978) ch. 1.  Needs two or more surveys with different Gp; OGIP is in gp's units.
    """
    p_arr = v.array_1d("p", p, min_len=2)
    gp_arr = v.array_1d("gp", gp, min_len=2)
    z_arr = v.array_1d("z", z, min_len=2)
    v.same_length(p=p_arr, gp=gp_arr, z=z_arr)
    v.positive("p", p_arr)
    v.non_negative("gp", gp_arr)
    v.positive("z", z_arr)
    if np.ptp(gp_arr) <= 0.0:
        raise ValueError("gp: surveys need different cumulative productions")
    slope, intercept = np.polyfit(gp_arr, p_arr / z_arr, 1)
    if slope >= 0.0:
        raise ValueError("p: p/z does not fall with production; not a volumetric reservoir")
    return PzFit(ogip=float(-intercept / slope), pz_i=float(intercept), slope=float(slope))
