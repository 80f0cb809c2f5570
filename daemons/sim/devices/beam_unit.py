"""Surface side of a rod-pumped well: conventional beam unit kinematics, torque, motor.

Kinematics are the exact four-bar linkage of a conventional (class I) unit in API Spec 11E
nomenclature: crank radius R, pitman P, beam C (center bearing to equalizer) and A (center
bearing to horsehead arc), center bearing at horizontal distance I and height H-G above
the crankshaft.  Because the horsehead is an arc centred on the center bearing, the
polished rod moves exactly A times the beam angle.

Gearbox torque by the torque-factor method (API Spec 11E, annex on torque; the torque
factor TF = ds/d(theta) follows from virtual work): T = TF*(W - SU) - M*sin(theta), with
the counterweights on the crank arms (M = maximum counterbalance moment).  Crank speed is
taken as constant (no motor slip, no articulating inertia).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

IN_LBF_S_PER_HP = 6600.0  # 1 hp = 550 ft*lbf/s
KW_PER_HP = 0.7457


@dataclass(frozen=True, slots=True)
class BeamUnit:
    """A conventional unit; dimensions (in) of a mid-size unit for an 86 in stroke (the
    crank radius is solved for the stroke by `for_stroke`)."""

    a_in: float = 111.0
    c_in: float = 96.0
    p_in: float = 132.0
    i_in: float = 96.0
    h_in: float = 132.0  # H - G: center bearing above the crankshaft
    r_in: float = 37.0
    structural_unbalance_lbf: float = 450.0

    def beam_angle(self, theta: np.ndarray) -> np.ndarray:
        """Beam angle (rad, horsehead up positive) at crank angle theta (rad, 0 = crank pin
        up, increasing clockwise seen with the well on the right)."""
        th = np.asarray(theta, dtype=float)
        px, py = self.r_in * np.sin(th), self.r_in * np.cos(th)
        dx, dy = self.i_in - px, self.h_in - py
        dist = np.hypot(dx, dy)
        # equalizer bearing: on the circle of radius P around the pin and C around the
        # center bearing; the solution on the crank side of the pin-to-bearing line
        along = (self.p_in**2 - self.c_in**2 + dist**2) / (2.0 * dist)
        across = np.sqrt(np.maximum(self.p_in**2 - along**2, 0.0))
        ex = px + along * dx / dist - across * dy / dist
        ey = py + along * dy / dist + across * dx / dist
        return np.arctan2(self.h_in - ey, self.i_in - ex)

    def position_in(self, theta: np.ndarray) -> np.ndarray:
        """Polished-rod height (in) relative to its lowest point."""
        psi = self.beam_angle(theta)
        return self.a_in * (psi - self._psi_min())

    def torque_factor_in(self, theta: np.ndarray) -> np.ndarray:
        """TF = ds/dtheta (in), by central difference of the exact kinematics."""
        d = 1e-5
        th = np.asarray(theta, dtype=float)
        return self.a_in * (self.beam_angle(th + d) - self.beam_angle(th - d)) / (2 * d)

    def _psi_min(self) -> float:
        th = np.linspace(0.0, 2 * math.pi, 3601)
        return float(self.beam_angle(th).min())

    def bottom_angle(self) -> float:
        """Crank angle of the bottom of the stroke (refined on a fine grid)."""
        th = np.linspace(0.0, 2 * math.pi, 3601)
        i = int(np.argmin(self.beam_angle(th)))
        fine = np.linspace(th[i] - 0.002, th[i] + 0.002, 401)
        return float(fine[int(np.argmin(self.beam_angle(fine)))])

    @property
    def stroke_in(self) -> float:
        th = np.linspace(0.0, 2 * math.pi, 3601)
        psi = self.beam_angle(th)
        return float(self.a_in * (psi.max() - psi.min()))

    def valid(self) -> bool:
        """The linkage closes at every crank angle (Grashof-type check)."""
        th = np.linspace(0.0, 2 * math.pi, 721)
        px, py = self.r_in * np.sin(th), self.r_in * np.cos(th)
        dist = np.hypot(self.i_in - px, self.h_in - py)
        return bool(np.all(dist < self.p_in + self.c_in) and
                    np.all(dist > abs(self.p_in - self.c_in)))

    @classmethod
    def for_stroke(cls, stroke_in: float, **dims: float) -> BeamUnit:
        """The unit with its crank radius (pin hole) chosen to give `stroke_in`."""
        lo, hi = 5.0, 60.0
        for _ in range(60):
            mid = (lo + hi) / 2
            unit = cls(**{**dims, "r_in": mid})
            if not unit.valid() or unit.stroke_in > stroke_in:
                hi = mid
            else:
                lo = mid
        unit = cls(**{**dims, "r_in": lo})
        if abs(unit.stroke_in - stroke_in) > 0.05 * stroke_in:
            raise ValueError(f"no crank radius of this unit gives a {stroke_in} in stroke")
        return unit


@dataclass(frozen=True, slots=True)
class Motor:
    """A NEMA D motor behind a V-belt drive and the gear reducer."""

    rated_hp: float = 40.0
    volts: float = 460.0
    full_load_a: float = 50.0
    no_load_a: float = 17.0
    efficiency: float = 0.90
    drive_efficiency: float = 0.93  # belts + reducer

    def shaft_hp(self, crank_torque_in_lbf: np.ndarray, crank_rad_s: float) -> np.ndarray:
        """Motor shaft power; negative when the well drives the motor (regeneration)."""
        crank_hp = np.asarray(crank_torque_in_lbf) * crank_rad_s / IN_LBF_S_PER_HP
        return np.where(crank_hp >= 0, crank_hp / self.drive_efficiency,
                        crank_hp * self.drive_efficiency)

    def current_a(self, shaft_hp: np.ndarray) -> np.ndarray:
        """Line current: the magnetising part is constant and the active part follows the
        load, the two in quadrature (induction-motor equivalent circuit, e.g. Chapman,
        Electric Machinery Fundamentals, ch. 6)."""
        load = np.asarray(shaft_hp) / self.rated_hp
        return np.sqrt(self.no_load_a**2 + (self.full_load_a**2 - self.no_load_a**2) * load**2)

    def electric_kw(self, shaft_hp: np.ndarray) -> np.ndarray:
        hp = np.asarray(shaft_hp)
        return np.where(hp >= 0, hp / self.efficiency, hp * self.efficiency) * KW_PER_HP


def crank_torque(unit: BeamUnit, theta: np.ndarray, load_lbf: np.ndarray,
                 counterbalance_in_lbf: float) -> np.ndarray:
    """Net gear-reducer torque (in*lbf), API Spec 11E torque-factor method."""
    return (unit.torque_factor_in(theta) * (np.asarray(load_lbf) - unit.structural_unbalance_lbf)
            - counterbalance_in_lbf * np.sin(theta))


def balanced_counterbalance(unit: BeamUnit, theta: np.ndarray, load_lbf: np.ndarray) -> float:
    """The counterbalance moment that minimises the peak torque magnitude of one card,
    as a pumper balances the unit at commissioning (golden-section search)."""
    def peak(m: float) -> float:
        return float(np.abs(crank_torque(unit, theta, load_lbf, m)).max())
    lo, hi = 0.0, 4.0 * float(np.abs(unit.torque_factor_in(theta)).max() * np.max(load_lbf))
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(80):
        a = hi - ratio * (hi - lo)
        b = lo + ratio * (hi - lo)
        if peak(a) < peak(b):
            hi = b
        else:
            lo = a
    return (lo + hi) / 2
