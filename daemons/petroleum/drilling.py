"""Drilling: hydrostatic pressure, ECD, mechanical specific energy, minimum-curvature
survey and soft-string torque & drag.

Units: mud weight in ppg, depths in ft (TVD for pressure, MD along the hole), pressure in
psi, weight on bit in lbf, torque in ft·lbf, rate of penetration in ft/h, rotary speed in
rpm, diameters in inches, angles in degrees.  Formulas and sources are collected in
docs/petroleum/drilling.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from daemons.petroleum import _validate as v

Number = float | np.ndarray

# Hydrostatic gradient of 1 ppg in psi/ft, as every kill sheet and drilling formula sheet
# writes it (IWCF / IADC formula sheets; exactly 12/231 = 0.051948).
PSI_PER_FT_PER_PPG = 0.052
# Density of steel in ppg, for the buoyancy factor BF = 1 − MW/65.5 (Bourgoyne et al.,
# "Applied Drilling Engineering", SPE Textbook Series vol. 2, 1986, ch. 7).
STEEL_PPG = 65.5

_MODES = ("trip_out", "trip_in", "rotate")


def hydrostatic(*, mw: Any, tvd: Any) -> Number:
    """Hydrostatic pressure of a mud column, psi: P = 0.052 · MW · TVD (IWCF formula sheet)."""
    mw = v.non_negative("mw", mw)
    tvd = v.non_negative("tvd", tvd)
    return v.restore(PSI_PER_FT_PER_PPG * np.asarray(mw) * np.asarray(tvd), mw, tvd)


def ecd(*, mw: Any, annular_pressure_loss: Any, tvd: Any) -> Number:
    """Equivalent circulating density, ppg: ECD = MW + APL / (0.052 · TVD) (IWCF sheet)."""
    mw = v.non_negative("mw", mw)
    apl = v.non_negative("annular_pressure_loss", annular_pressure_loss)
    tvd = v.positive("tvd", tvd)
    res = np.asarray(mw) + np.asarray(apl) / (PSI_PER_FT_PER_PPG * np.asarray(tvd))
    return v.restore(res, mw, apl, tvd)


def annular_velocity(*, q: Any, hole_diameter: Any, pipe_od: Any) -> Number:
    """Mean annular velocity, ft/s: v = q / (2.448 (d₂² − d₁²)) with q in gpm, d in inches
    (Bourgoyne, Millheim, Chenevert & Young, *Applied Drilling Engineering*, SPE 1986,
    ch. 4: 2.448 = 7.48 gal/ft³ · 60 s/min · π/4 / 144 in²/ft² … rounded as printed)."""
    q = v.non_negative("q", q)
    d2 = v.positive("hole_diameter", hole_diameter)
    d1 = v.non_negative("pipe_od", pipe_od)
    if (np.asarray(d1) >= np.asarray(d2)).any():
        raise ValueError("pipe_od: must be smaller than hole_diameter")
    res = np.asarray(q) / (2.448 * (np.asarray(d2) ** 2 - np.asarray(d1) ** 2))
    return v.restore(res, q, d2, d1)


def annular_pressure_loss_bingham(*, q: Any, hole_diameter: Any, pipe_od: Any, length: Any,
                                  plastic_viscosity: Any, yield_point: Any) -> Number:
    """Frictional pressure loss of laminar Bingham-plastic flow in an annulus, psi.

        dp/dL = μp v̄ / (1000 (d₂ − d₁)²) + τy / (200 (d₂ − d₁))      (psi/ft)

    the narrow-slot approximation of Bourgoyne et al., *Applied Drilling Engineering*
    (SPE 1986), ch. 4 (Bingham plastic model, annular flow; μp cP, τy lbf/100 ft², v̄
    ft/s, d in).  Laminar flow only: annular flow of drilling mud usually is, and a
    turbulent annulus makes this an underestimate.
    """
    vbar = np.asarray(annular_velocity(q=q, hole_diameter=hole_diameter, pipe_od=pipe_od))
    length = v.non_negative("length", length)
    pv = v.non_negative("plastic_viscosity", plastic_viscosity)
    yp = v.non_negative("yield_point", yield_point)
    gap = np.asarray(hole_diameter, dtype=float) - np.asarray(pipe_od, dtype=float)
    grad = np.asarray(pv) * vbar / (1000.0 * gap**2) + np.asarray(yp) / (200.0 * gap)
    res = np.where(vbar > 0, grad, 0.0) * np.asarray(length)
    return v.restore(res, q, hole_diameter, pipe_od, length, plastic_viscosity, yield_point)


def _bit_area(bit_diameter: Any) -> np.ndarray:
    return math.pi / 4.0 * np.asarray(bit_diameter) ** 2


def mse_teale(*, wob: Any, rpm: Any, torque: Any, rop: Any, bit_diameter: Any) -> Number:
    """Mechanical specific energy, psi (Teale 1965).

    MSE = WOB/A_b + 120 π N T / (A_b · ROP), WOB lbf, N rpm, T ft·lbf, ROP ft/h, A_b in²
    — Teale, R., "The Concept of Specific Energy in Rock Drilling", Int. J. Rock Mech.
    Mining Sci. 2 (1965) 57-73, in the field units of Pessier & Fear (1992, SPE 24584).
    """
    wob = v.non_negative("wob", wob)
    rpm = v.non_negative("rpm", rpm)
    torque = v.non_negative("torque", torque)
    rop = v.positive("rop", rop)
    d = v.positive("bit_diameter", bit_diameter)
    area = _bit_area(d)
    res = np.asarray(wob) / area + 120.0 * math.pi * np.asarray(rpm) * np.asarray(torque) / (
        area * np.asarray(rop))
    return v.restore(res, wob, rpm, torque, rop, d)


def bit_friction_coefficient(*, wob: Any, torque: Any, bit_diameter: Any) -> Number:
    """Bit-specific coefficient of sliding friction μ = 36 T / (D_b · WOB) (dimensionless).

    Pessier, R.C. & Fear, M.J., "Quantifying Common Drilling Problems With Mechanical
    Specific Energy and a Bit-Specific Coefficient of Sliding Friction", SPE 24584, 1992:
    torque T = μ · WOB · D_b / 36 (T ft·lbf, WOB lbf, D_b in; the bit's torque acts at a
    third of its diameter, 1/3 · D/2 in → /36 ft).
    """
    wob = v.positive("wob", wob)
    torque = v.non_negative("torque", torque)
    d = v.positive("bit_diameter", bit_diameter)
    res = 36.0 * np.asarray(torque) / (np.asarray(d) * np.asarray(wob))
    return v.restore(res, wob, torque, d)


def mse_pessier_fear(*, wob: Any, rpm: Any, rop: Any, bit_diameter: Any, mu: Any) -> Number:
    """MSE with torque from the bit-specific friction coefficient, psi.

    MSE = WOB · (1/A_b + 13.33 μ N / (D_b · ROP)) — Pessier & Fear 1992 (SPE 24584), from
    Teale's MSE with T = μ WOB D_b / 36: 120 π N (μ WOB D_b/36) / (π D_b²/4 · ROP) =
    13.33 μ N WOB / (D_b ROP).  Use it when surface torque is not representative of bit
    torque (e.g. with a downhole motor, where μ comes from the motor's ΔP).
    """
    wob = v.non_negative("wob", wob)
    rpm = v.non_negative("rpm", rpm)
    rop = v.positive("rop", rop)
    d = v.positive("bit_diameter", bit_diameter)
    mu = v.non_negative("mu", mu)
    w, n, r, dd, m = (np.asarray(x) for x in (wob, rpm, rop, d, mu))
    res = w * (1.0 / _bit_area(dd) + (40.0 / 3.0) * m * n / (dd * r))
    return v.restore(res, wob, rpm, rop, d, mu)


@dataclass(frozen=True, slots=True)
class Trajectory:
    """Positions of survey stations by the minimum-curvature method (ft, radians)."""

    md: np.ndarray
    inclination: np.ndarray  # rad
    azimuth: np.ndarray  # rad
    tvd: np.ndarray
    north: np.ndarray
    east: np.ndarray
    dogleg: np.ndarray  # rad, per interval (length n − 1)

    @property
    def dls_deg_per_100ft(self) -> np.ndarray:
        """Dogleg severity per interval, °/100 ft."""
        return np.degrees(self.dogleg) / np.diff(self.md) * 100.0


def _survey(survey: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arr = np.asarray(v.finite("survey", survey))
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] < 2:
        raise ValueError("survey: needs rows of (MD ft, inclination °, azimuth °), at least 2")
    md, inc, azi = arr[:, 0], arr[:, 1], arr[:, 2]
    if (np.diff(md) <= 0).any():
        raise ValueError("survey: measured depth must increase from one station to the next")
    if (md < 0).any():
        raise ValueError("survey: measured depth must be >= 0")
    if ((inc < 0) | (inc > 180)).any():
        raise ValueError("survey: inclination must be in [0, 180] degrees")
    return md, np.radians(inc), np.radians(azi)


def _dogleg(i1: np.ndarray, a1: np.ndarray, i2: np.ndarray, a2: np.ndarray) -> np.ndarray:
    # Haversine form of cos β = cos(I2−I1) − sin I1 sin I2 (1 − cos(A2−A1)); accurate for
    # small angles where the arccos form loses digits (Sawaryn & Thorogood 2005, eq. 4).
    s = np.sin((i2 - i1) / 2.0) ** 2 + np.sin(i1) * np.sin(i2) * np.sin((a2 - a1) / 2.0) ** 2
    return 2.0 * np.arcsin(np.sqrt(np.clip(s, 0.0, 1.0)))


def minimum_curvature(*, survey: Any) -> Trajectory:
    """Station positions by the minimum-curvature method.

    `survey` rows are (MD ft, inclination °, azimuth °).  Between stations the hole is a
    circular arc: ΔTVD = ΔMD/2 (cos I1 + cos I2) RF, ΔN = ΔMD/2 (sin I1 cos A1 + sin I2 cos
    A2) RF, ΔE likewise with sin A, RF = (2/β) tan(β/2) — Sawaryn, S.J. & Thorogood, J.L.,
    "A Compendium of Directional Calculations Based on the Minimum Curvature Method",
    SPE 84246 (SPE Drill. & Compl. March 2005), eqs. 1-4; API Bulletin D20 (1985).
    """
    md, inc, azi = _survey(survey)
    beta = _dogleg(inc[:-1], azi[:-1], inc[1:], azi[1:])
    with np.errstate(divide="ignore", invalid="ignore"):
        rf = np.where(beta > 1e-9, 2.0 / beta * np.tan(beta / 2.0), 1.0 + beta**2 / 12.0)
    half = np.diff(md) / 2.0 * rf
    d_tvd = half * (np.cos(inc[:-1]) + np.cos(inc[1:]))
    d_n = half * (np.sin(inc[:-1]) * np.cos(azi[:-1]) + np.sin(inc[1:]) * np.cos(azi[1:]))
    d_e = half * (np.sin(inc[:-1]) * np.sin(azi[:-1]) + np.sin(inc[1:]) * np.sin(azi[1:]))
    start = np.zeros(1)
    return Trajectory(md, inc, azi, np.concatenate([start, np.cumsum(d_tvd)]),
                      np.concatenate([start, np.cumsum(d_n)]),
                      np.concatenate([start, np.cumsum(d_e)]), beta)


def _subdivide(md: np.ndarray, inc: np.ndarray, azi: np.ndarray,
               max_len: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Extra stations on each minimum-curvature arc (tangent slerp), ≤ max_len apart."""
    t = np.stack([np.sin(inc) * np.cos(azi), np.sin(inc) * np.sin(azi), np.cos(inc)], axis=1)
    out_md, out_t = [md[:1]], [t[:1]]
    for k in range(md.size - 1):
        parts = max(1, math.ceil((md[k + 1] - md[k]) / max_len))
        f = np.arange(1, parts + 1) / parts
        beta = float(_dogleg(inc[k], azi[k], inc[k + 1], azi[k + 1]))
        if beta < 1e-9:
            tt = np.repeat(t[k + 1][None, :], parts, axis=0)
        else:
            tt = (np.sin((1 - f) * beta)[:, None] * t[k] + np.sin(f * beta)[:, None] * t[k + 1]
                  ) / math.sin(beta)
        out_md.append(md[k] + f * (md[k + 1] - md[k]))
        out_t.append(tt)
    tv = np.concatenate(out_t)
    new_inc = np.arccos(np.clip(tv[:, 2] / np.linalg.norm(tv, axis=1), -1.0, 1.0))
    new_azi = np.arctan2(tv[:, 1], tv[:, 0])
    return np.concatenate(out_md), new_inc, new_azi


def _per_interval(name: str, value: Any, n_int: int) -> np.ndarray:
    arr = np.asarray(v.positive(name, value))
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size != n_int):
        raise ValueError(f"{name}: one value, or one per survey interval ({n_int})")
    return np.broadcast_to(arr, (n_int,))


@dataclass(frozen=True, slots=True)
class TorqueDrag:
    """Soft-string result along the string, surface first (arrays at the stations)."""

    md: np.ndarray  # ft
    tension: np.ndarray  # lbf, effective axial force (negative = compression)
    torque: np.ndarray  # ft·lbf
    normal_force: np.ndarray  # lbf per element (length n − 1), side force on the wall

    @property
    def hookload(self) -> float:
        """Axial force at surface, lbf (block weight not included)."""
        return float(self.tension[0])

    @property
    def surface_torque(self) -> float:
        return float(self.torque[0])


def soft_string_torque_drag(
    *,
    survey: Any,
    unit_weight: Any,
    mud_weight: float,
    friction: float,
    pipe_od: Any,
    mode: str = "trip_out",
    wob: float = 0.0,
    bit_torque: float = 0.0,
    max_element_ft: float | None = None,
) -> TorqueDrag:
    """Soft-string torque and drag (Johancsik, Friesen & Dawson 1984, SPE 11380).

    `survey` rows (MD ft, inclination °, azimuth °), surface to bit; `unit_weight` pipe
    weight in air, lbf/ft (one value, or one per survey interval); `mud_weight` ppg (for
    the buoyancy factor 1 − MW/65.5); `friction` the sliding friction factor μ; `pipe_od`
    in (torque arm, one value or per interval); `mode` "trip_out" (pulling: friction adds
    to tension), "trip_in" (running: friction subtracts) or "rotate" (rotating off or on
    bottom: friction goes into torque, none into drag); `wob` lbf and `bit_torque` ft·lbf
    at the bit (zero when off bottom); `max_element_ft` splits survey intervals along
    their minimum-curvature arcs (None: one element per survey interval, as Johancsik).

    Each element, from the bit up, with W = buoyed weight, θ̄ mean inclination, Δθ and Δα
    the change in inclination and azimuth from its bottom to its top, F its bottom force:
        N  = sqrt((F Δα sin θ̄)² + (F Δθ + W sin θ̄)²)      (side force, SPE 11380 eq. 1;
                                                           F Δα sin θ̄ taken as
                                                           F sqrt(β² − Δθ²), β the dogleg)
        ΔF = W cos θ̄ ± μ N                                 (eq. 2; + pulling, − running)
        ΔM = μ N r                                          (eq. 3, r = OD/2)
    The string is a cable: no bending stiffness, no buckling check (see coiled_tubing).
    """
    md, inc, azi = _survey(survey)
    mode = v.one_of("mode", mode, _MODES)
    mw = float(v.non_negative("mud_weight", mud_weight))
    mu = float(v.non_negative("friction", friction))
    wob_f = float(v.non_negative("wob", wob))
    tq_bit = float(v.non_negative("bit_torque", bit_torque))
    if mw >= STEEL_PPG:
        raise ValueError("mud_weight: must be lighter than steel (65.5 ppg)")
    n_int = md.size - 1
    w_air = _per_interval("unit_weight", unit_weight, n_int)
    od = _per_interval("pipe_od", pipe_od, n_int)
    if max_element_ft is not None:
        step = float(v.positive("max_element_ft", max_element_ft))
        # Each element takes the weight and OD of the survey interval it lies in.
        new_md, inc, azi = _subdivide(md, inc, azi, step)
        idx = np.clip(np.searchsorted(md, new_md[1:], side="left") - 1, 0, n_int - 1)
        w_air, od, md = w_air[idx], od[idx], new_md
    buoyed = w_air * (1.0 - mw / STEEL_PPG) * np.diff(md)
    inc_mean = (inc[:-1] + inc[1:]) / 2.0
    d_inc = inc[:-1] - inc[1:]  # top minus bottom
    # Johancsik's azimuth term F·Δα·sin θ̄ is the out-of-plane part of the bend; written
    # with the minimum-curvature dogleg β as sqrt(β² − Δθ²) it is the same for small
    # angles and stays right through vertical stations, where azimuth is undefined.
    beta = _dogleg(inc[:-1], azi[:-1], inc[1:], azi[1:])
    out_of_plane = np.sqrt(np.maximum(beta**2 - d_inc**2, 0.0))

    n_el = md.size - 1
    tension = np.empty(md.size)
    torque = np.empty(md.size)
    normal = np.empty(n_el)
    tension[-1] = -wob_f
    torque[-1] = tq_bit
    sign = {"trip_out": 1.0, "trip_in": -1.0, "rotate": 0.0}[mode]
    rotating = mode == "rotate"
    for k in range(n_el - 1, -1, -1):
        f = tension[k + 1]
        s = math.sin(inc_mean[k])
        normal[k] = math.hypot(f * out_of_plane[k], f * d_inc[k] + buoyed[k] * s)
        tension[k] = f + buoyed[k] * math.cos(inc_mean[k]) + sign * mu * normal[k]
        torque[k] = torque[k + 1] + (mu * normal[k] * od[k] / 24.0 if rotating else 0.0)
    return TorqueDrag(md, tension, torque, normal)
