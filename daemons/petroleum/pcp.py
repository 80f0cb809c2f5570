"""Progressing-cavity pump (single-lobe, 1:2 Moineau geometry) displacement and rate.

Units: eccentricity, rotor diameter and stator pitch in inches; displacement in³/rev;
rate bbl/d; speed rpm.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from daemons.petroleum import _validate as v

Number = float | np.ndarray

# 1 bbl = 42 US gal × 231 in³/gal = 9,702 in³; 1,440 min/d.
IN3_PER_BBL = 42.0 * 231.0
MIN_PER_DAY = 1440.0


def pcp_displacement(*, eccentricity: Any, rotor_diameter: Any, stator_pitch: Any) -> Number:
    """Volume displaced per revolution, in³/rev: V = 4 e D Ps.

    For the single-lobe pump the stator section is a "stadium": the rotor's circle
    (diameter D) swept 4e along a line, so the open area between rotor and stator is
    the rectangle 4 e D, and each revolution advances the cavities one stator pitch Ps
    (twice the rotor pitch).  Moineau, R., US Patent 1,892,217 (1932); ISO 15136-1:2009
    (progressing cavity pump systems for artificial lift), pump displacement definition.
    """
    e = v.positive("eccentricity", eccentricity)
    d = v.positive("rotor_diameter", rotor_diameter)
    ps = v.positive("stator_pitch", stator_pitch)
    return v.restore(4.0 * np.asarray(e) * np.asarray(d) * np.asarray(ps), e, d, ps)


def pcp_rate(*, displacement: Any, rpm: Any, efficiency: Any = 1.0) -> Number:
    """Pump rate, bbl/d: Q = V · N · 1440 / 9702 · η.

    `efficiency` is the volumetric efficiency (slip through the seal lines grows with
    differential pressure and with worn or shrunk elastomer); 1.0 gives theoretical
    displacement.  Unit conversion only (42 gal × 231 in³ per bbl, 1440 min per day).
    """
    displacement = v.non_negative("displacement", displacement)
    rpm = v.non_negative("rpm", rpm)
    efficiency = v.fraction("efficiency", efficiency)
    q = np.asarray(displacement) * np.asarray(rpm) * MIN_PER_DAY / IN3_PER_BBL
    return v.restore(q * np.asarray(efficiency), displacement, rpm, efficiency)


def pcp_rpm_for_rate(*, q: Any, displacement: Any, efficiency: Any = 1.0) -> Number:
    """Speed (rpm) needed for a target rate q (bbl/d): inverse of `pcp_rate`."""
    q = v.non_negative("q", q)
    displacement = v.positive("displacement", displacement)
    efficiency = v.in_range("efficiency", efficiency, 0.0, 1.0, lo_open=True)
    rpm = np.asarray(q) * IN3_PER_BBL / (MIN_PER_DAY * np.asarray(displacement))
    return v.restore(rpm / np.asarray(efficiency), q, displacement, efficiency)
