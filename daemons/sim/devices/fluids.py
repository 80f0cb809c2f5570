"""Fluid and reservoir relations the simulated wells share (oilfield units).

Pure functions; each cites where it comes from.  The simulator keeps its own copies on
purpose (see DESIGN.md, "Simulation and accuracy"): calcd's petroleum package is what gets
measured against the truth these produce.
"""

from __future__ import annotations

import math
from collections.abc import Callable

PSI_PER_FT_WATER = 0.433  # fresh water gradient, psi/ft (62.4 lbm/ft^3 / 144)
FT3_PER_BBL = 5.615
BBL_PER_FT_PER_IN2 = 1.0 / 1029.4  # capacity of a pipe: d^2/1029.4 bbl/ft (d in inches)
PSIA_SC = 14.7
RANKINE_SC = 519.67  # 60 degF


def oil_sg(api: float) -> float:
    """Specific gravity of oil from API gravity (API definition: 141.5/(131.5 + API))."""
    return 141.5 / (131.5 + api)


def liquid_sg(water_cut: float, api: float, water_sg: float = 1.05) -> float:
    """Volume-weighted gravity of an oil/water mixture (no slip between the liquids)."""
    return water_cut * water_sg + (1.0 - water_cut) * oil_sg(api)


def gradient_psi_ft(sg: float) -> float:
    return PSI_PER_FT_WATER * sg


def annulus_capacity_bbl_ft(casing_id_in: float, tubing_od_in: float) -> float:
    """Volume per foot between a casing and a tubing (bbl/ft)."""
    return (casing_id_in**2 - tubing_od_in**2) * BBL_PER_FT_PER_IN2


def vogel_rate(pwf_psi: float, pr_psi: float, qmax_bbl_d: float) -> float:
    """Vogel's IPR: q/qmax = 1 - 0.2 (pwf/pr) - 0.8 (pwf/pr)^2 (Vogel, JPT, Jan. 1968)."""
    x = min(max(pwf_psi / pr_psi, 0.0), 1.0)
    return qmax_bbl_d * (1.0 - 0.2 * x - 0.8 * x * x)


def composite_rate(pwf_psi: float, pr_psi: float, pi_bbl_d_psi: float, pb_psi: float) -> float:
    """Straight-line PI above the bubble point, Vogel below it (composite IPR; K.E. Brown,
    The Technology of Artificial Lift Methods, vol. 4, PennWell 1984)."""
    pwf = min(max(pwf_psi, 0.0), pr_psi)
    pb = min(pb_psi, pr_psi)
    if pwf >= pb:
        return pi_bbl_d_psi * (pr_psi - pwf)
    qb = pi_bbl_d_psi * (pr_psi - pb)
    x = pwf / pb if pb > 0 else 0.0
    return qb + pi_bbl_d_psi * pb / 1.8 * (1.0 - 0.2 * x - 0.8 * x * x)


def gas_fvf_ft3_scf(p_psig: float, t_degf: float, z: float = 0.9) -> float:
    """Gas formation volume factor Bg = z*T*psc/(p*Tsc) (real-gas law), ft^3 per scf."""
    p_abs = max(p_psig + PSIA_SC, 1.0)
    return z * (t_degf + 459.67) * PSIA_SC / (p_abs * RANKINE_SC)


def free_gas_fraction(scf_per_bbl: float, p_psig: float, t_degf: float) -> float:
    """In-situ volume fraction of free gas in a gas + liquid stream at (p, T)."""
    vg = max(scf_per_bbl, 0.0) * gas_fvf_ft3_scf(p_psig, t_degf)
    return vg / (vg + FT3_PER_BBL)


def geothermal_degf(surface_degf: float, gradient_degf_100ft: float, depth_ft: float) -> float:
    """Undisturbed formation temperature on a linear geothermal gradient."""
    return surface_degf + gradient_degf_100ft * depth_ft / 100.0


def solve_increasing(f: Callable[[float], float], lo: float, hi: float,
                     target: float = 0.0, iterations: int = 40) -> float:
    """x in [lo, hi] with f(x) = target for an increasing f (bisection; clamps at ends)."""
    if f(lo) >= target:
        return lo
    if f(hi) <= target:
        return hi
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def finite(x: float, default: float = 0.0) -> float:
    return x if math.isfinite(x) else default
