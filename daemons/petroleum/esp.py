"""Electrical submersible pump figures: affinity laws, hydraulic power, pump intake
pressure from a fluid level, motor power and load.

Units: rate bbl/d, head ft, power hp (hydraulic and brake) or kW (electrical), pressure
psi, gradient psi/ft, depth ft, voltage V (line-to-line), current A, frequency Hz.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from daemons.petroleum import _validate as val

Number = float | np.ndarray

# Hydraulic power constant: hp = q[bbl/d] · H[ft] · SG · K, with
# K = (5.614583 ft³/bbl / 86,400 s/d) · 62.366 lbm/ft³ (water, 60 °F) / 550 ft·lbf/s/hp
#   = 7.3686e-6.  Takacs, "Electrical Submersible Pumps Manual" (2009) prints 7.368e-6.
_FT3_PER_BBL = 5.614583
_WATER_LB_FT3 = 62.366
HHP_CONSTANT = _FT3_PER_BBL / 86_400.0 * _WATER_LB_FT3 / 550.0
_SQRT3 = float(np.sqrt(3.0))


class AffinityResult(NamedTuple):
    """Pump rate (bbl/d), head (ft) and brake horsepower (hp) at the new frequency."""

    q: Number
    head: Number
    bhp: Number


def affinity(*, q: Any, head: Any, bhp: Any, f_from: Any, f_to: Any) -> AffinityResult:
    """Scale a centrifugal pump's catalogue curve from one speed (frequency) to another.

    q2 = q1 (f2/f1), H2 = H1 (f2/f1)², BHP2 = BHP1 (f2/f1)³ — the centrifugal-pump
    affinity laws for constant impeller diameter, as applied to variable-speed ESPs in
    API RP 11S4 (sizing and selection of ESP installations) and Takacs (2009).
    Efficiency is unchanged along corresponding points.  Arrays of curve points welcome.
    """
    q = val.non_negative("q", q)
    head = val.non_negative("head", head)
    bhp = val.non_negative("bhp", bhp)
    f_from = val.positive("f_from", f_from)
    f_to = val.positive("f_to", f_to)
    r = np.asarray(f_to) / np.asarray(f_from)
    return AffinityResult(
        q=val.restore(np.asarray(q) * r, q, f_from, f_to),
        head=val.restore(np.asarray(head) * r * r, head, f_from, f_to),
        bhp=val.restore(np.asarray(bhp) * r**3, bhp, f_from, f_to),
    )


def hydraulic_hp(*, q: Any, tdh: Any, sg: Any) -> Number:
    """Hydraulic (fluid) horsepower: HHP = 7.3686e-6 q TDH SG (q bbl/d, TDH ft).

    Derivation above (ρ g Q H with oilfield units); Takacs (2009) prints 7.368e-6.
    """
    q = val.non_negative("q", q)
    tdh = val.non_negative("tdh", tdh)
    sg = val.positive("sg", sg)
    return val.restore(HHP_CONSTANT * np.asarray(q) * np.asarray(tdh) * np.asarray(sg), q, tdh, sg)


def pump_intake_pressure(
    *,
    p_casing: Any,
    liquid_gradient: Any,
    pump_depth: Any,
    fluid_level: Any,
    gas_gradient: Any = 0.0,
) -> Number:
    """Pump intake pressure (psi) from an acoustic fluid level.

    PIP = p_casing + gas_gradient · fluid_level + liquid_gradient · (pump_depth -
    fluid_level): casing-head pressure, plus the annular gas column, plus the liquid
    column above the intake.  McCoy, Podio & Huddleston, "Acoustic Determination of
    Producing Bottomhole Pressure", SPE Formation Evaluation, Sept. 1988 (SPE 14254).
    The annular liquid is often gaseous above the intake: pass the gradient of the
    gas-cut column (their correction), not plain water or oil.  A fluid level below
    the intake means no submergence: the liquid term is then zero.  Depths are vertical
    (TVD), measured from the same datum.
    """
    p_casing = val.non_negative("p_casing", p_casing)
    liquid_gradient = val.in_range("liquid_gradient", liquid_gradient, 0.0, 1.0)
    pump_depth = val.positive("pump_depth", pump_depth)
    fluid_level = val.non_negative("fluid_level", fluid_level)
    gas_gradient = val.in_range("gas_gradient", gas_gradient, 0.0, 0.3)
    fl = np.asarray(fluid_level)
    gas_col = np.minimum(fl, np.asarray(pump_depth))
    submergence = np.maximum(np.asarray(pump_depth) - fl, 0.0)
    pip = (
        np.asarray(p_casing)
        + np.asarray(gas_gradient) * gas_col
        + np.asarray(liquid_gradient) * submergence
    )
    return val.restore(pip, p_casing, liquid_gradient, pump_depth, fluid_level, gas_gradient)


def motor_kw(*, v: Any, i: Any, pf: Any) -> Number:
    """Three-phase active power (kW): P = √3 V_LL I cos φ / 1000 (balanced sinusoidal
    three-phase system; IEEE Std 1459-2010, sec. 3.2).  Measured at the surface this
    includes cable losses; the motor's own input is lower by I²R of the cable."""
    volts = val.positive("v", v)
    amps = val.non_negative("i", i)
    pf = val.in_range("pf", pf, 0.0, 1.0)
    kw = _SQRT3 * np.asarray(volts) * np.asarray(amps) * np.asarray(pf) / 1000.0
    return val.restore(kw, volts, amps, pf)


def motor_load(*, i: Any, i_nameplate: Any) -> Number:
    """Motor load as a fraction of nameplate, from current: I / I_nameplate.

    The usual ESP surveillance figure (Takacs 2009).  It overstates the true power
    load at light load, where magnetising current dominates; use `motor_kw` against the
    nameplate kW when voltage and power factor are measured.
    """
    amps = val.non_negative("i", i)
    i_nameplate = val.positive("i_nameplate", i_nameplate)
    return val.restore(np.asarray(amps) / np.asarray(i_nameplate), amps, i_nameplate)
