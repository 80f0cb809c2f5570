"""Gas-lift performance curve by nodal analysis at the bottom of the well.

Outflow: a pressure traverse from the tubing head down, in segments, with a drift-flux
holdup (Zuber & Findlay, J. Heat Transfer 87 (1965) 453: v_g = C0*v_m + v_d, C0 = 1.2,
Taylor-bubble drift v_d = 0.35*sqrt(g*D), Nicklin, Wilkes & Davidson, Trans. IChemE 40
(1962) 61) for gravity, and the no-slip mixture with the Blasius friction factor for
friction (Brill & Mukherjee, Multiphase Flow in Wells, SPE Monograph 17, 1999, ch. 4).
Injected gas joins above the operating valve.  Inflow: composite PI/Vogel.  The stable
operating point is the highest rate where outflow meets inflow.

All gas is treated as free (no solution gas): the formation GLR is small against the
lift gas, and the simulator needs the curve's shape (rise, peak, decline), not PVT detail.
Vectorised over (injection rate x liquid rate) so a whole curve costs a few milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from daemons.sim.devices import fluids

G_FT_S2 = 32.174
Z_GAS = 0.9


@dataclass(frozen=True, slots=True)
class GasLiftWell:
    depth_ft: float = 7500.0  # mid-perforations
    valve_depth_ft: float = 6500.0  # operating valve
    tubing_id_in: float = 2.441
    thp_psi: float = 120.0
    reservoir_psi: float = 2300.0
    pi_bbl_d_psi: float = 1.5
    bubble_point_psi: float = 1500.0
    water_cut: float = 0.5
    oil_api: float = 30.0
    water_sg: float = 1.05
    gas_sg: float = 0.7
    formation_glr_scf_bbl: float = 300.0
    surface_degf: float = 100.0
    bottom_degf: float = 190.0

    def ipr_pwf(self, q: np.ndarray) -> np.ndarray:
        """Flowing bottom-hole pressure for a rate (inverse of the composite IPR)."""
        q = np.asarray(q, dtype=float)
        pb, j, pr = min(self.bubble_point_psi, self.reservoir_psi), self.pi_bbl_d_psi, \
            self.reservoir_psi
        qb = j * (pr - pb)
        above = pr - q / j
        c = 1.0 - (q - qb) * 1.8 / (j * pb)
        x = (-0.2 + np.sqrt(0.04 + 3.2 * np.clip(c, 0.0, None))) / 1.6
        below = np.where(c >= 0, x * pb, -1.0)
        return np.where(q <= qb, above, below)

    @property
    def aof_bbl_d(self) -> float:
        pb = min(self.bubble_point_psi, self.reservoir_psi)
        return self.pi_bbl_d_psi * (self.reservoir_psi - pb) + self.pi_bbl_d_psi * pb / 1.8

    def traverse(self, q_l: np.ndarray, q_inj_mscf_d: np.ndarray,
                 segments: int = 60) -> tuple[np.ndarray, np.ndarray]:
        """Bottom-hole and valve-depth tubing pressures (psig) for arrays of rates."""
        ql = np.maximum(np.asarray(q_l, dtype=float), 1e-3)
        qi = np.asarray(q_inj_mscf_d, dtype=float)
        d_ft = self.tubing_id_in / 12.0
        area = math.pi / 4 * d_ft**2
        sg_l = fluids.liquid_sg(self.water_cut, self.oil_api, self.water_sg)
        rho_l = 62.4 * sg_l
        v_d = 0.35 * math.sqrt(G_FT_S2 * d_ft)
        glr_lift = self.formation_glr_scf_bbl + qi * 1000.0 / ql
        p = np.full(np.broadcast(ql, qi).shape, self.thp_psi + fluids.PSIA_SC)
        p_valve = p.copy()
        dz = self.depth_ft / segments
        for i in range(segments):
            z = (i + 0.5) * dz
            glr = glr_lift if z < self.valve_depth_ft else self.formation_glr_scf_bbl
            t_r = self.surface_degf + (self.bottom_degf - self.surface_degf) * z / self.depth_ft \
                + 459.67
            bg = Z_GAS * t_r * fluids.PSIA_SC / (p * fluids.RANKINE_SC)
            vsl = ql * fluids.FT3_PER_BBL / 86400.0 / area
            vsg = ql * glr * bg / 86400.0 / area
            vm = vsl + vsg
            alpha = np.minimum(vsg / (1.2 * vm + v_d), 0.98)
            rho_g = 2.70 * self.gas_sg * p / (Z_GAS * t_r)  # p*M/(zRT), M = 28.97*sg
            rho_s = rho_l * (1 - alpha) + rho_g * alpha
            lam = vsl / vm
            rho_ns = rho_l * lam + rho_g * (1 - lam)
            mu_ns = 1.0 * lam + 0.015 * (1 - lam)  # cp
            re = 1488.0 * rho_ns * vm * d_ft / mu_ns
            f = np.where(re > 2100, 0.0791 / np.maximum(re, 1.0) ** 0.25, 16.0 / np.maximum(re, 1))
            dpdz = (rho_s + 2 * f * rho_ns * vm**2 / (G_FT_S2 * d_ft)) / 144.0
            p = p + dpdz * dz
            if z < self.valve_depth_ft:
                p_valve = p
        return p - fluids.PSIA_SC, p_valve - fluids.PSIA_SC


@dataclass(frozen=True, slots=True)
class PerformanceCurve:
    injection_mscf_d: np.ndarray
    liquid_bbl_d: np.ndarray
    valve_tubing_psi: np.ndarray  # tubing pressure at the operating valve
    pwf_psi: np.ndarray

    def at(self, injection: float) -> tuple[float, float, float]:
        """(liquid, tubing pressure at the valve, pwf) at an injection rate."""
        x = self.injection_mscf_d
        return (float(np.interp(injection, x, self.liquid_bbl_d)),
                float(np.interp(injection, x, self.valve_tubing_psi)),
                float(np.interp(injection, x, self.pwf_psi)))

    @property
    def optimum(self) -> tuple[float, float]:
        i = int(np.argmax(self.liquid_bbl_d))
        return float(self.injection_mscf_d[i]), float(self.liquid_bbl_d[i])


def performance_curve(well: GasLiftWell, max_injection_mscf_d: float = 3000.0,
                      points: int = 61, rates: int = 240) -> PerformanceCurve:
    """Liquid rate against injection rate: rises, peaks and falls as friction takes over."""
    qi = np.linspace(0.0, max_injection_mscf_d, points)[:, None]
    ql = np.linspace(1.0, well.aof_bbl_d * 0.999, rates)[None, :]
    pwf_out, p_valve = well.traverse(ql, qi)
    diff = pwf_out - well.ipr_pwf(ql)  # > 0 where the tubing cannot lift that rate
    liquid = np.zeros(points)
    valve = np.zeros(points)
    pwf = np.zeros(points)
    grad = fluids.gradient_psi_ft(fluids.liquid_sg(well.water_cut, well.oil_api, well.water_sg))
    # a dead well's liquid stands where its column balances the reservoir pressure
    static_valve = max(well.reservoir_psi - grad * (well.depth_ft - well.valve_depth_ft),
                       well.thp_psi)
    for k in range(points):
        ok = np.nonzero(diff[k] <= 0)[0]
        if len(ok) == 0:  # dead: the well does not flow at this injection
            liquid[k], pwf[k] = 0.0, well.reservoir_psi
            valve[k] = min(float(p_valve[k, 0]), static_valve)
            continue
        i = int(ok[-1])
        j = min(i + 1, rates - 1)
        d0, d1 = diff[k, i], diff[k, j]
        w = 0.0 if j == i or d1 == d0 else -d0 / (d1 - d0)
        liquid[k] = ql[0, i] + w * (ql[0, j] - ql[0, i])
        valve[k] = p_valve[k, i] + w * (p_valve[k, j] - p_valve[k, i])
        pwf[k] = pwf_out[k, i] + w * (pwf_out[k, j] - pwf_out[k, i])
    return PerformanceCurve(qi[:, 0], liquid, valve, pwf)
