"""Coiled tubing: bending strain, triaxial (von Mises) stress, buckling loads, lock-up
length in a horizontal section, and a strain-life fatigue damage model.

Units: diameters, wall and radii in inches, pressures and stresses in psi, forces in lbf,
torque in ft·lbf, weights in lbf/ft, lengths in ft, inclination in degrees.  Formulas and
sources are collected in docs/petroleum/coiled_tubing.md.

The fatigue functions are a documented engineering model (Coffin–Manson–Basquin strain
life, Morrow mean-stress correction for internal pressure, Miner's rule), useful to
compare trips and pressures; they are not a certified coiled-tubing life prediction and
do not replace the tubing manufacturer's fatigue model or string tracking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from daemons.petroleum import _validate as v

Number = float | np.ndarray

STEEL_MODULUS_PSI = 30.0e6


def bending_strain(*, od: Any, radius: Any) -> Number:
    """Extreme-fibre bending strain of tubing bent to a radius: ε = (OD/2) / R.

    Both in inches (R: reel or guide-arch radius to the tubing axis).  Plain beam
    kinematics (plane sections stay plane), e.g. Timoshenko & Gere, "Mechanics of
    Materials"; coiled tubing on a 48-in arch and 2-in OD sees about 2 %, far past yield,
    which is why coiled tubing fatigue is low-cycle.
    """
    od = v.positive("od", od)
    r = v.positive("radius", radius)
    return v.restore(np.asarray(od) / 2.0 / np.asarray(r), od, r)


def _radii(od: Any, wall: Any) -> tuple[np.ndarray, np.ndarray]:
    od_a = np.asarray(v.positive("od", od))
    wall_a = np.asarray(v.positive("wall", wall))
    if (2.0 * wall_a >= od_a).any():
        raise ValueError("wall: must be less than half the outside diameter")
    return od_a / 2.0, od_a / 2.0 - wall_a


def _lame(r: np.ndarray, ri: np.ndarray, ro: np.ndarray, p_in: np.ndarray,
          p_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Radial and hoop stress (psi) at radius r of a thick cylinder (Lamé 1852)."""
    a = (p_in * ri**2 - p_out * ro**2) / (ro**2 - ri**2)
    b = (p_in - p_out) * ri**2 * ro**2 / ((ro**2 - ri**2) * r**2)
    return a - b, a + b


def _von_mises(s_r: Any, s_h: Any, s_a: Any, tau: Any) -> np.ndarray:
    return np.sqrt(0.5 * ((s_a - s_h) ** 2 + (s_h - s_r) ** 2 + (s_r - s_a) ** 2)
                   + 3.0 * tau**2)


def vme_stress(
    *, od: Any, wall: Any, p_in: Any, p_out: Any, axial: Any, torque: Any = 0.0
) -> Number:
    """Von Mises equivalent stress of the pipe body, psi (the larger of bore and surface).

    σ_VME = sqrt(½[(σa−σh)² + (σh−σr)² + (σr−σa)²] + 3τ²) with Lamé radial and hoop
    stresses, σa = axial force / steel area and τ = T·r/J (torsion), the triaxial yield
    check of API TR 5C3 (2008) / ISO/TR 10400:2007, sect. 8.  `axial` is the true axial
    force in lbf (tension positive, including any end-load from pressure), `torque` in
    ft·lbf.  TR 5C3 evaluates at the bore, where pressure stresses peak; torsion peaks at
    the outer surface, so both are computed and the larger returned.
    """
    ro, ri = _radii(od, wall)
    p_i = np.asarray(v.non_negative("p_in", p_in))
    p_o = np.asarray(v.non_negative("p_out", p_out))
    f = np.asarray(v.finite("axial", axial))
    t = np.asarray(v.finite("torque", torque)) * 12.0  # in·lbf
    area = math.pi * (ro**2 - ri**2)
    polar = math.pi / 2.0 * (ro**4 - ri**4)
    s_a = f / area
    results = []
    for r in (ri, ro):
        s_r, s_h = _lame(r, ri, ro, p_i, p_o)
        results.append(_von_mises(s_r, s_h, s_a, t * r / polar))
    return v.restore(np.maximum(*results), od, wall, p_in, p_out, axial, torque)


def _buckling_inputs(od: Any, wall: Any, hole_id: Any, unit_weight: Any,
                     modulus: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ro, ri = _radii(od, wall)
    hole = np.asarray(v.positive("hole_id", hole_id))
    if (hole <= 2.0 * ro).any():
        raise ValueError("hole_id: must be larger than the tubing OD")
    w = np.asarray(v.positive("unit_weight", unit_weight)) / 12.0  # lbf/in
    e = np.asarray(v.positive("modulus", modulus))
    ei = e * math.pi / 4.0 * (ro**4 - ri**4)  # lbf·in²
    return ei, w, hole / 2.0 - ro  # radial clearance, in


def sinusoidal_buckling_load(
    *, od: Any, wall: Any, hole_id: Any, unit_weight: Any, inclination: Any,
    modulus: Any = STEEL_MODULUS_PSI,
) -> Number:
    """Compressive load at the onset of sinusoidal (lateral) buckling, lbf.

    Inclined hole: F = 2 sqrt(E I w sin θ / r) — Dawson, R. & Paslay, P.R., "Drillpipe
    Buckling in Inclined Holes", JPT Oct. 1984, pp. 1734-1738.  Vertical hole:
    F = 1.94 (E I w²)^⅓ — Lubinski, A., "A Study of the Buckling of Rotary Drilling
    Strings", API Drilling and Production Practice 1950.  The larger of the two is
    returned: lying on the low side can only stabilise the tubing, so near vertical the
    Dawson–Paslay value (→ 0) gives way to Lubinski's.  `unit_weight` is the buoyed
    weight, lbf/ft; r = (hole_id − od)/2.
    """
    ei, w, r = _buckling_inputs(od, wall, hole_id, unit_weight, modulus)
    theta = np.radians(np.asarray(v.in_range("inclination", inclination, 0.0, 180.0)))
    inclined = 2.0 * np.sqrt(ei * w * np.abs(np.sin(theta)) / r)
    vertical = 1.94 * np.cbrt(ei * w**2)
    return v.restore(np.maximum(inclined, vertical), od, wall, hole_id, unit_weight,
                     inclination, modulus)


def helical_buckling_load(
    *, od: Any, wall: Any, hole_id: Any, unit_weight: Any, inclination: Any,
    modulus: Any = STEEL_MODULUS_PSI,
) -> Number:
    """Compressive load at the onset of helical buckling, lbf.

    Inclined hole: F = 2√2 sqrt(E I w sin θ / r) — Chen, Y.C., Lin, Y.H. & Cheatham, J.B.,
    "Tubing and Casing Buckling in Horizontal Wells", JPT Feb. 1990, pp. 140-141, 191.
    Vertical hole: F = 5.55 (E I w²)^⅓ — Wu, J. & Juvkam-Wold, H.C. (1993, vertical-well
    helical buckling load).  The larger of the two is returned, as for sinusoidal.
    """
    ei, w, r = _buckling_inputs(od, wall, hole_id, unit_weight, modulus)
    theta = np.radians(np.asarray(v.in_range("inclination", inclination, 0.0, 180.0)))
    inclined = 2.0 * math.sqrt(2.0) * np.sqrt(ei * w * np.abs(np.sin(theta)) / r)
    vertical = 5.55 * np.cbrt(ei * w**2)
    return v.restore(np.maximum(inclined, vertical), od, wall, hole_id, unit_weight,
                     inclination, modulus)


def lockup_length(
    *, od: float, wall: float, hole_id: float, unit_weight: float, friction: float,
    modulus: float = STEEL_MODULUS_PSI, f_tip: float = 0.0, f_heel: float | None = None,
) -> float:
    """Length of horizontal hole (ft) the tubing can be pushed along before lock-up.

    From the tip towards the heel, the compression needed grows by friction:
    dF/dx = μ w while the tubing is straight or sinusoidally buckled, and
    dF/dx = μ (w + r F² / 4EI) once helically buckled, the helix pressing on the wall
    with r F²/4EI per unit length (Mitchell, R.F., "Simple Frictional Analysis of Helical
    Buckling of Tubing", SPE Drilling Engineering, Dec. 1986, pp. 457-465; lock-up by
    this route: Wu & Juvkam-Wold, SPE-25503-MS, 1993).  With k = r/4EI:
        L = (F_hel − F_tip)/(μ w) + [atan(F_heel √(k/w)) − atan(F_hel √(k/w))] / (μ √(w k)),
    where F_hel is the helical buckling load (horizontal) and F_heel the most compression
    the heel can deliver (None: unlimited, the atan → π/2 asymptote, the true lock-up:
    beyond it no push at the heel reaches the tip).  Sinusoidal buckling's extra contact
    force is neglected, as in the source.
    """
    ei, w, r = _buckling_inputs(od, wall, hole_id, unit_weight, modulus)
    mu = float(v.positive("friction", friction))
    tip = float(v.non_negative("f_tip", f_tip))
    w_ft = float(w) * 12.0  # lbf/ft
    k = float(r) * 12.0 / (4.0 * float(ei))  # per lbf·ft: contact force r F²/4EI, lbf/ft
    f_hel = float(helical_buckling_load(od=od, wall=wall, hole_id=hole_id,
                                        unit_weight=unit_weight, inclination=90.0,
                                        modulus=modulus))
    heel = math.inf if f_heel is None else float(v.non_negative("f_heel", f_heel))
    if heel <= tip:
        return 0.0
    scale = math.sqrt(k / w_ft)
    if heel <= f_hel:
        return (heel - tip) / (mu * w_ft)
    start = max(tip, f_hel)
    straight = (start - tip) / (mu * w_ft)
    top = math.pi / 2.0 if math.isinf(heel) else math.atan(heel * scale)
    return straight + (top - math.atan(start * scale)) / (mu * math.sqrt(w_ft * k))


@dataclass(frozen=True, slots=True)
class StrainLifeMaterial:
    """Strain-life constants: ε_a = σ'f/E (2N)^b + ε'f (2N)^c (Basquin; Coffin–Manson)."""

    modulus_psi: float
    sigma_f_psi: float  # fatigue strength coefficient σ'f
    b: float  # fatigue strength exponent (< 0)
    epsilon_f: float  # fatigue ductility coefficient ε'f
    c: float  # fatigue ductility exponent (< 0)

    @classmethod
    def uniform_material_law(cls, *, uts_psi: float,
                             modulus_psi: float = STEEL_MODULUS_PSI) -> StrainLifeMaterial:
        """Estimate for unalloyed and low-alloy steels from the tensile strength alone.

        Bäumel, A. & Seeger, T., "Materials Data for Cyclic Loading, Supplement 1",
        Elsevier 1990: σ'f = 1.5 σu, b = −0.087, ε'f = 0.59 ψ, c = −0.58, with ψ = 1 for
        σu/E ≤ 0.003 and 1.375 − 125 σu/E above.  An estimate: use measured constants
        for the actual tubing grade when the manufacturer provides them.
        """
        uts = float(v.positive("uts_psi", uts_psi))
        e = float(v.positive("modulus_psi", modulus_psi))
        ratio = uts / e
        psi = 1.0 if ratio <= 0.003 else 1.375 - 125.0 * ratio
        return cls(e, 1.5 * uts, -0.087, 0.59 * psi, -0.58)


def _material(m: StrainLifeMaterial) -> StrainLifeMaterial:
    if not isinstance(m, StrainLifeMaterial):
        raise ValueError("material: must be a StrainLifeMaterial")
    v.positive("material.modulus_psi", m.modulus_psi)
    v.positive("material.sigma_f_psi", m.sigma_f_psi)
    v.positive("material.epsilon_f", m.epsilon_f)
    v.in_range("material.b", m.b, -1.0, 0.0, hi_open=True)
    v.in_range("material.c", m.c, -2.0, 0.0, hi_open=True)
    return m


def pressure_mean_stress(*, od: Any, wall: Any, p_in: Any, p_out: Any = 0.0) -> Number:
    """Mean stress (psi) that pressure adds to each bending cycle, for Morrow's correction.

    The von Mises equivalent of the Lamé radial and hoop stresses and the closed-end axial
    stress (p_i r_i² − p_o r_o²)/(r_o² − r_i²) at the bore, signed by p_in − p_out
    (internal pressure is a tensile mean stress, external a compressive one).  A model
    choice, not a standard: it lets internal pressure shorten life the way field data
    show, without the multiaxial ratcheting of dedicated coiled-tubing fatigue models.
    """
    ro, ri = _radii(od, wall)
    p_i = np.asarray(v.non_negative("p_in", p_in))
    p_o = np.asarray(v.non_negative("p_out", p_out))
    s_r, s_h = _lame(ri, ri, ro, p_i, p_o)
    s_a = (p_i * ri**2 - p_o * ro**2) / (ro**2 - ri**2)
    res = np.sign(p_i - p_o) * _von_mises(s_r, s_h, s_a, 0.0)
    return v.restore(res, od, wall, p_in, p_out)


def cycles_to_failure(
    *, strain_amplitude: Any, material: StrainLifeMaterial, mean_stress: Any = 0.0
) -> Number:
    """Cycles to crack initiation N for a total strain amplitude (in/in).

    Solves ε_a = (σ'f − σm)/E (2N)^b + ε'f (2N)^c — Basquin (1910) elastic term, Coffin
    (1954) / Manson (1954) plastic term, Morrow's mean-stress correction of the elastic
    term (Morrow, J., SAE Fatigue Design Handbook AE-4, 1968, sect. 3.2) — by bisection on
    ln 2N (the right side falls monotonically in N).
    """
    m = _material(material)
    eps = np.asarray(v.positive("strain_amplitude", strain_amplitude))
    sm = np.asarray(v.finite("mean_stress", mean_stress))
    if (sm >= m.sigma_f_psi).any():
        raise ValueError("mean_stress: reaches the fatigue strength coefficient σ'f")
    elastic = (m.sigma_f_psi - sm) / m.modulus_psi
    eps, elastic = np.broadcast_arrays(eps, elastic)
    lo = np.full(eps.shape, -5.0)  # ln 2N: from 2N = 0.007 …
    hi = np.full(eps.shape, 80.0)  # … to 2N = 5.5e34 (no endurance limit in this model)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        f = elastic * np.exp(m.b * mid) + m.epsilon_f * np.exp(m.c * mid) - eps
        lo = np.where(f > 0.0, mid, lo)
        hi = np.where(f > 0.0, hi, mid)
    return v.restore(0.5 * np.exp(0.5 * (lo + hi)), strain_amplitude, mean_stress)


def fatigue_damage(
    *,
    strain_amplitude: Any,
    cycles: Any,
    material: StrainLifeMaterial,
    od: float | None = None,
    wall: float | None = None,
    p_in: Any = 0.0,
    p_out: Any = 0.0,
) -> float:
    """Miner's-rule damage D = Σ n_i / N_i of a set of bending cycles (D ≥ 1: failure).

    `strain_amplitude` and `cycles` are matching arrays (one entry per kind of event,
    e.g. reel, guide arch; a bend-and-straighten event from straight to radius R has
    amplitude (OD/2)/(2R)); `p_in`/`p_out` the pressure during each (scalar or matching
    array; `od` and `wall` are needed when any pressure is non-zero).  N_i from
    `cycles_to_failure` with the mean stress of `pressure_mean_stress`.  Miner, M.A.,
    "Cumulative Damage in Fatigue", J. Appl. Mech. 12 (1945) A159-A164.  A model, not a
    certified life prediction (see the module docstring).
    """
    eps = v.array_1d("strain_amplitude", strain_amplitude)
    n = v.array_1d("cycles", cycles)
    v.non_negative("cycles", n)
    v.same_length(strain_amplitude=eps, cycles=n)
    p_i = np.broadcast_to(np.asarray(v.non_negative("p_in", p_in)), eps.shape)
    p_o = np.broadcast_to(np.asarray(v.non_negative("p_out", p_out)), eps.shape)
    if (p_i != 0).any() or (p_o != 0).any():
        if od is None or wall is None:
            raise ValueError("od: od and wall are needed to turn pressure into stress")
        sm = np.asarray(pressure_mean_stress(od=od, wall=wall, p_in=p_i, p_out=p_o))
    else:
        sm = np.zeros_like(eps)
    life = np.asarray(cycles_to_failure(strain_amplitude=eps, material=material,
                                        mean_stress=sm))
    return float(np.sum(n / life))
