"""Forward model of a sucker-rod string: damped wave equation by explicit time marching.

Gibbs's damped wave equation (S.G. Gibbs, "Predicting the Behavior of Sucker-Rod Pumping
Systems", JPT, July 1963, 769-778) for the axial displacement u (down positive) of a rod
taper of area A, modulus E and density rho:

    rho*A * d2u/dt2 = d/dx(E*A * du/dx) - c*rho*A * du/dt + (rho - rho_f)*g*A

is discretised as a chain of nodes: each taper gets its own grid (n_i segments of length
dx_i = L_i/n_i); a segment is a spring E*A/dx, its mass is split half to each end node.
At a taper joint the node carries half a segment of each taper and the two spring forces,
which is the interface condition itself: displacement is shared and the force E*A*du/dx
is continuous (to O(dx)).  Time is marched with central differences (explicit), damping
centred, at a step within the CFL limit dt <= dx_min/a (Courant, Friedrichs & Lewy 1928).
The Everitt–Jennings inverse (issue 5) is a different method on purpose.

Forces are *effective* forces (Lubinski): the rods weigh their buoyant weight, and the pump
pulls on the rods with (P_discharge - P_barrel) * A_plunger.  The strain that the true
force adds (-P*A/(E*A), constant in time) shifts positions by a constant only.

Units inside: inches, lbf, seconds; mass in lbf*s^2/in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

G_IN_S2 = 386.088  # standard gravity, in/s^2 (g_c = 32.174 lbm*ft/(lbf*s^2))
G_FT_S2 = 32.174
WATER_LBM_FT3 = 62.4
IN3_PER_BBL = 9702.0  # 42 US gal * 231 in^3
V_FRICTION_IN_S = 0.5  # below this plunger speed Coulomb friction is smoothed (tanh)
PSIA = 14.7  # gauge to absolute


@dataclass(frozen=True, slots=True)
class Taper:
    diameter_in: float
    length_ft: float

    @property
    def area_in2(self) -> float:
        return math.pi * self.diameter_in**2 / 4.0


@dataclass(frozen=True, slots=True)
class RodString:
    """Tapers from the surface down; steel by default (E = 30.5e6 psi, 490 lbm/ft^3)."""

    tapers: tuple[Taper, ...]
    modulus_psi: float = 30.5e6
    density_lbm_ft3: float = 490.0

    @property
    def length_ft(self) -> float:
        return sum(t.length_ft for t in self.tapers)

    @property
    def wave_speed_ft_s(self) -> float:
        # a = sqrt(E*g_c/rho) with E in lbf/ft^2 (Gibbs 1963)
        return math.sqrt(self.modulus_psi * 144.0 * G_FT_S2 / self.density_lbm_ft3)

    def weight_lbf(self, fluid_sg: float = 0.0) -> float:
        """Weight in air (fluid_sg = 0) or buoyant weight in a liquid of that gravity."""
        net = self.density_lbm_ft3 - fluid_sg * WATER_LBM_FT3
        return sum(net * t.area_in2 / 144.0 * t.length_ft for t in self.tapers)

    @property
    def stretch_in_per_lbf(self) -> float:
        """Elastic stretch per lbf hung at the bottom: sum of L_i/(E*A_i) (Hooke)."""
        return sum(t.length_ft * 12.0 / (self.modulus_psi * t.area_in2) for t in self.tapers)


@dataclass(frozen=True, slots=True)
class Pump:
    """An insert pump: plunger size, spacing above the standing valve, friction, slippage.

    Faults (all off by default): a worn plunger or leaking traveling valve is a larger
    `slip_in3_per_s_psi`; a leaking standing valve lets barrel liquid back to the intake
    at `sv_leak_in3_per_s_psi` per psi of barrel overpressure; `tubing_stretch_in_per_lbf`
    > 0 is unanchored tubing: the standing valve moves down with the fluid load the
    tubing carries (Hooke, L/(E·A) of the tubing); `tag` lets the plunger hit the
    standing valve instead of passing it (pump spaced too low).
    """

    plunger_in: float = 1.75
    spacing_in: float = 12.0  # plunger to standing valve at the bottom of the stroke
    friction_lbf: float = 200.0
    slip_in3_per_s_psi: float = 1.2e-4  # plunger slippage: about 2 bbl/d at 1,900 psi
    sv_leak_in3_per_s_psi: float = 0.0
    tubing_stretch_in_per_lbf: float = 0.0
    tag: bool = False

    @property
    def area_in2(self) -> float:
        return math.pi * self.plunger_in**2 / 4.0


@dataclass(frozen=True, slots=True)
class PumpConditions:
    """Boundary conditions at the pump for one stroke."""

    discharge_psi: float  # tubing pressure at pump depth, above the traveling valve
    intake_psi: float  # below the standing valve
    free_gas_fraction: float = 0.0  # in-situ gas volume fraction of what enters
    liquid_budget_in3: float = math.inf  # liquid the annulus can still give this stroke
    thp_psi: float = 0.0  # acts up on the polished rod at the stuffing box
    polished_rod_in: float = 1.5


class Barrel:
    """What is between the valves: liquid (incompressible) and gas (Boyle: P*V = gas, with
    P absolute)."""

    __slots__ = ("gas_psi_in3", "liquid_in3")

    def __init__(self, liquid_in3: float = 0.0, gas_psi_in3: float = 0.0) -> None:
        self.liquid_in3 = liquid_in3
        self.gas_psi_in3 = gas_psi_in3


@dataclass(frozen=True, slots=True)
class StrokeResult:
    """One stroke sampled at n equal time steps; positions up-positive from their minimum."""

    time_s: np.ndarray
    surface_position_in: np.ndarray
    surface_load_lbf: np.ndarray
    pump_position_in: np.ndarray
    pump_load_lbf: np.ndarray
    barrel_psi: np.ndarray
    liquid_admitted_in3: float
    liquid_delivered_in3: float
    liquid_slipped_in3: float
    plunger_stroke_in: float
    swept_in3: float

    @property
    def fillage(self) -> float:
        """Liquid admitted through the standing valve / volume swept by the plunger."""
        return min(self.liquid_admitted_in3 / self.swept_in3, 1.0) if self.swept_in3 else 0.0


class RodPumpSolver:
    """Rod string + pump, marched in time; keeps its state from one call to the next."""

    def __init__(self, rods: RodString, pump: Pump, *, fluid_sg: float, damping: float = 0.1,
                 grid_ft: float = 150.0, courant: float = 0.95) -> None:
        self.rods = rods
        self.pump = pump
        a = rods.wave_speed_ft_s * 12.0
        rho = rods.density_lbm_ft3 / 1728.0 / G_IN_S2  # lbf*s^2/in^4
        rho_net = (rods.density_lbm_ft3 - fluid_sg * WATER_LBM_FT3) / 1728.0  # lbf/in^3
        k, mseg, wseg, dxs = [], [], [], []
        for taper in rods.tapers:
            n = max(2, math.ceil(taper.length_ft / grid_ft))
            dx = taper.length_ft * 12.0 / n
            for _ in range(n):
                k.append(rods.modulus_psi * taper.area_in2 / dx)
                mseg.append(rho * taper.area_in2 * dx)
                wseg.append(rho_net * taper.area_in2 * dx)
                dxs.append(dx)
        self.k = np.array(k)
        nseg = len(k)
        self.mass = np.zeros(nseg + 1)
        self.weight = np.zeros(nseg + 1)
        self.mass[:-1] += np.array(mseg) / 2
        self.mass[1:] += np.array(mseg) / 2
        self.weight[:-1] += np.array(wseg) / 2
        self.weight[1:] += np.array(wseg) / 2
        # Gibbs damping coefficient c = pi*a*nu/(2L), nu dimensionless (Gibbs 1963)
        self.c = math.pi * a * damping / (2.0 * rods.length_ft * 12.0)
        self.dt_max = courant * min(dxs) / a
        self.u = self.static_shape(0.0)
        self.v = np.zeros(nseg + 1)
        # standing valve position (u of the plunger when the barrel is empty)
        self.sv_u = float(self.u[-1]) + pump.spacing_in
        self.barrel = Barrel(liquid_in3=pump.spacing_in * pump.area_in2)
        self.tagged = False  # the plunger ever hit the standing valve
        self.lowest_u = float(self.u[-1])  # lowest plunger position of the last run

    def static_shape(self, bottom_force_lbf: float, top_u: float = 0.0) -> np.ndarray:
        """Rods hanging still from `top_u` with `bottom_force_lbf` pulling at the pump."""
        below = np.cumsum(self.weight[::-1])[::-1]  # weight of node j and all below it
        tension = below[1:] + bottom_force_lbf  # segment s carries nodes s+1..N
        return top_u + np.concatenate(([0.0], np.cumsum(tension / self.k)))

    def barrel_volume(self, u_pump: float) -> float:
        return self.pump.area_in2 * (self.sv_u - u_pump)

    def run(self, surface_position: Callable[[np.ndarray], np.ndarray], duration_s: float,
            cond: PumpConditions, n_out: int = 200) -> StrokeResult:
        """March `duration_s` with the polished rod at surface_position(t) (in, up positive,
        t from 0); return the cards sampled at n_out equal time steps."""
        steps = max(2, math.ceil(duration_s / self.dt_max))
        dt = duration_s / steps
        times = np.linspace(0.0, duration_s, steps + 1)
        top = -np.asarray(surface_position(np.concatenate(([-dt], times, [duration_s + dt]))),
                          dtype=float)  # u of the top node, with one step either side
        u = self.u.copy()
        u[0] = top[1]
        up = u - self.v * dt
        up[0] = top[0]
        un = np.empty_like(u)
        nseg = len(self.k)
        a1 = 1.0 / (1.0 + self.c * dt / 2.0)
        b0 = a1 * dt * dt / self.mass[1:-1]
        b1 = 2.0 * a1
        b2 = a1 * (1.0 - self.c * dt / 2.0)
        w_int = self.weight[1:-1]
        du = np.empty(nseg)
        f = np.empty(nseg)
        t1 = np.empty(nseg - 1)
        t2 = np.empty(nseg - 1)
        m0, mn = float(self.mass[0]), float(self.mass[-1])
        w0, wn = float(self.weight[0]), float(self.weight[-1])
        alpha = mn / dt**2 + self.c * mn / (2 * dt)
        ap = self.pump.area_in2
        # absolute pressures: the barrel gas obeys Boyle's law (forces use differences)
        pt, pi_ = cond.discharge_psi + PSIA, max(cond.intake_psi + PSIA, 0.1)
        fric_max = self.pump.friction_lbf
        slip = self.pump.slip_in3_per_s_psi * dt
        gas_frac = min(max(cond.free_gas_fraction, 0.0), 1.0)
        budget = cond.liquid_budget_in3
        pr_force = cond.thp_psi * math.pi * cond.polished_rod_in**2 / 4.0
        sv = self.sv_u
        sv_leak = self.pump.sv_leak_in3_per_s_psi * dt
        ct = self.pump.tubing_stretch_in_per_lbf * ap  # in of tubing stretch per psi
        stretch_tv = ct * (pt - pi_)  # the tubing holds the fluid load: valve lower
        vl, gas = self.barrel.liquid_in3, self.barrel.gas_psi_in3
        admitted = delivered = slipped = 0.0
        s_load = np.empty(steps + 1)
        p_load = np.empty(steps + 1)
        p_pos = np.empty(steps + 1)
        p_bar = np.empty(steps + 1)
        k = self.k
        c_top = self.c * m0 / (2 * dt)
        pb = pt
        for n in range(steps + 1):
            np.subtract(u[1:], u[:-1], out=du)
            np.multiply(du, k, out=f)
            # polished-rod load: the force that moves the prescribed top node
            acc0 = (top[n + 2] - 2.0 * top[n + 1] + top[n]) / dt**2
            s_load[n] = f[0] + w0 - m0 * acc0 - c_top * (top[n + 2] - top[n]) - pr_force
            # interior nodes, explicit
            np.subtract(f[1:], f[:-1], out=t1)
            t1 += w_int
            t1 *= b0
            np.multiply(u[1:-1], b1, out=t2)
            t1 += t2
            np.multiply(up[1:-1], b2, out=t2)
            np.subtract(t1, t2, out=un[1:-1])
            # pump node, implicit in the barrel pressure (a closed, liquid-full barrel
            # holds the plunger still while the load transfers: Gibbs's valve condition)
            uN, upN = float(u[-1]), float(up[-1])
            fric = -fric_max * math.tanh((uN - upN) / dt / V_FRICTION_IN_S)
            beta = (mn * (2.0 * uN - upN) / dt**2 + self.c * mn * upN / (2 * dt)
                    - float(f[-1]) + wn + ap * pt + fric)
            g = sv - vl / ap  # plunger position where the barrel holds only the liquid
            u_new = (beta - ap * pt) / alpha
            g_tv = g + stretch_tv  # with the fluid load on unanchored tubing
            if u_new >= g_tv or (gas > 0.0 and gas / (ap * (g_tv - u_new)) >= pt):
                pb = pt  # traveling valve open: gas leaves first, then liquid
                room = ap * (sv + stretch_tv - u_new) - vl
                if room >= 0.0:
                    gas = pt * room
                else:
                    delivered -= room
                    vl += room
                    gas = 0.0
            else:
                u_new = (beta - ap * pi_) / alpha
                if u_new < g and gas / (ap * (g - u_new)) <= pi_:
                    pb = pi_  # standing valve open: liquid (while the annulus has it) + gas
                    space = ap * (sv - u_new) - vl - gas / pi_
                    if space > 0.0:
                        liquid = min(space * (1.0 - gas_frac), max(budget, 0.0))
                        budget -= liquid
                        admitted += liquid
                        vl += liquid
                        gas += pi_ * (space - liquid)
                elif gas <= 0.0:
                    # closed and liquid-full: the plunger moves with the standing valve,
                    # which unanchored tubing lowers by ct*(pb - pi) as it takes the load
                    pb = (beta - alpha * (g - ct * pi_)) / (ap * (1.0 + alpha * ct / ap))
                    u_new = g + ct * (pb - pi_)
                else:
                    g_gas = g + ct * min(max(pb - pi_, 0.0), pt - pi_)  # last step's stretch
                    s = alpha * g_gas + beta
                    u_new = (s - math.sqrt((alpha * g_gas - beta) ** 2 + 4.0 * alpha * gas)) / (
                        2.0 * alpha)
                    pb = gas / (ap * (g_gas - u_new))
                    if pb > pt:  # explicit stretch overshoot (unanchored tubing only)
                        pb = pt
                        u_new = (beta - ap * pt) / alpha
            if pb < pt:  # liquid slips back past the plunger into the barrel
                leak = slip * (pt - pb)
                vl += leak
                slipped += leak
            if pb > pi_ and sv_leak > 0.0:  # a leaking standing valve lets it back out
                vl = max(vl - sv_leak * (pb - pi_), 0.0)
            contact = 0.0
            if u_new > sv:
                self.tagged = True
                if self.pump.tag:  # the plunger lands on the standing valve cage
                    contact = beta - ap * pb - alpha * sv
                    u_new = sv
            un[-1] = u_new
            un[0] = top[n + 2]
            p_load[n] = ap * (pt - pb) + fric - contact  # acts over the step to u_new
            p_pos[n] = -u_new
            p_bar[n] = pb - PSIA
            if n < steps:
                up, u, un = u, un, up
        self.v = (u - up) / dt
        self.u = u
        self.barrel.liquid_in3, self.barrel.gas_psi_in3 = vl, gas
        self.lowest_u = -float(p_pos.min())
        t_out = np.arange(n_out) * (duration_s / n_out)
        surf = -top[1:-1]
        pump_times = times + dt  # the pump samples are at the end of each step
        pump_pos = np.interp(t_out, pump_times, p_pos)
        plunger_stroke = float(p_pos.max() - p_pos.min())
        return StrokeResult(
            time_s=t_out,
            surface_position_in=np.interp(t_out, times, surf) - surf.min(),
            surface_load_lbf=np.interp(t_out, times, s_load),
            pump_position_in=pump_pos - p_pos.min(),
            pump_load_lbf=np.interp(t_out, pump_times, p_load),
            barrel_psi=np.interp(t_out, pump_times, p_bar),
            liquid_admitted_in3=admitted,
            liquid_delivered_in3=delivered,
            liquid_slipped_in3=slipped,
            plunger_stroke_in=plunger_stroke,
            swept_in3=plunger_stroke * ap,
        )

    def respace(self, spacing_in: float | None = None) -> None:
        """Put the standing valve `spacing_in` below the lowest plunger position of the last
        run, as a crew spaces the pump out; the barrel is refilled with liquid."""
        spacing = self.pump.spacing_in if spacing_in is None else spacing_in
        self.sv_u = self.lowest_u + spacing
        self.barrel = Barrel(liquid_in3=self.barrel_volume(float(self.u[-1])))

    def rest(self, top_u: float | None = None) -> None:
        """The unit is stopped: rods hang still with the fluid load on the standing valve,
        and slippage past the plunger refills the barrel with liquid during the stop."""
        top = float(self.u[0]) if top_u is None else top_u
        self.u = self.static_shape(0.0, top)
        self.v = np.zeros_like(self.u)
        self.barrel = Barrel(liquid_in3=max(self.barrel_volume(float(self.u[-1])), 0.0))
