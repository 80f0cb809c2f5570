"""Physics checks of the rod-string forward model that need none of its numerics.

Wave speed from sqrt(E*g_c/rho), static stretch F*L/(E*A), a short stiff rod that must
carry the pump card plus its own weight, and energy: the polished rod does at least the
pump's work (damping and friction only take energy out).  Cards' areas are computed here
with the shoelace formula, independently of the simulator.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from daemons.sim.devices.beam_unit import BeamUnit
from daemons.sim.devices.rodstring import (
    Pump,
    PumpConditions,
    RodPumpSolver,
    RodString,
    Taper,
)

E_PSI, RHO_LBM_FT3, GC = 30.5e6, 490.0, 32.174
API86 = (Taper(1.0, 1521.0), Taper(0.875, 1687.5), Taper(0.75, 1291.5))  # 4,500 ft


def shoelace(x: np.ndarray, y: np.ndarray) -> float:
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def harmonic(stroke_in: float, period_s: float):
    return lambda t: stroke_in / 2.0 * (1.0 - np.cos(2.0 * math.pi * np.asarray(t) / period_s))


def run_strokes(solver: RodPumpSolver, motion, period: float, cond: PumpConditions, n: int):
    res = None
    for _ in range(n):
        res = solver.run(motion, period, cond)
    return res


def test_wave_speed_of_steel_is_sqrt_e_gc_over_rho():
    expected = math.sqrt(E_PSI * 144.0 * GC / RHO_LBM_FT3)
    assert 16000.0 <= expected <= 17000.0
    assert RodString(API86).wave_speed_ft_s == pytest.approx(expected, rel=1e-9)


def test_solver_carries_a_step_at_the_wave_speed():
    """A sudden pull at the top of a free-ended rod reaches the bottom after L/a."""
    rods = RodString((Taper(1.0, 3000.0),))
    solver = RodPumpSolver(rods, Pump(friction_lbf=0.0), fluid_sg=0.0, damping=0.0,
                           grid_ft=20.0)
    bottom0 = float(solver.u[-1])
    lifted = []
    chunk = 0.005

    def ramp(t):  # a 1 in lift within the first 5 ms, then held
        return np.clip(np.asarray(t) / chunk, 0.0, 1.0)

    def held(t):
        return np.ones_like(np.asarray(t, dtype=float))

    for k in range(80):  # march in 5 ms chunks, watching the bottom node
        solver.run(ramp if k == 0 else held, chunk, PumpConditions(0.0, 0.0), n_out=2)
        lifted.append((chunk * (k + 1), bottom0 - float(solver.u[-1])))
    t_move = next(t for t, lift in lifted if lift > 0.05)
    travel = rods.length_ft / RodString(API86).wave_speed_ft_s  # 0.177 s
    assert travel - 0.01 <= t_move <= travel + 0.02
    # a free end reflects the step doubled: the bottom then rises about 2 in
    assert max(lift for _, lift in lifted) == pytest.approx(2.0, abs=0.3)


def test_static_stretch_shows_between_surface_and_pump_stroke():
    """At very low speed the plunger stroke is the surface stroke less F*L/(E*A)."""
    rods = RodString(API86)
    pump = Pump(plunger_in=1.75, friction_lbf=0.0, slip_in3_per_s_psi=0.0)
    solver = RodPumpSolver(rods, pump, fluid_sg=1.0, damping=0.05, grid_ft=300.0)
    cond = PumpConditions(discharge_psi=2000.0, intake_psi=100.0)
    period = 120.0  # 0.5 stroke per minute
    motion = harmonic(100.0, period)
    run_strokes(solver, motion, period, cond, 1)
    solver.respace()
    res = run_strokes(solver, motion, period, cond, 1)
    fluid_load = pump.area_in2 * (2000.0 - 100.0)
    stretch = fluid_load * sum(t.length_ft * 12.0 / (E_PSI * math.pi * t.diameter_in**2 / 4)
                               for t in API86)
    assert stretch == pytest.approx(14.2, abs=0.5)  # sanity of the hand formula itself
    assert 100.0 - res.plunger_stroke_in == pytest.approx(stretch, rel=0.03)
    assert res.fillage == pytest.approx(1.0, abs=0.01)


def test_short_stiff_rod_returns_the_pump_card_plus_its_weight():
    rods = RodString((Taper(1.25, 100.0),))
    pump = Pump(plunger_in=1.5, friction_lbf=0.0, slip_in3_per_s_psi=0.0)
    sg = 1.0
    # Gibbs's c = pi*a*nu/(2L) grows as the rod shortens: a small nu keeps viscous loads
    # to a few lbf yet damps the rod's 40 Hz ringing after each load transfer within ~1 s
    solver = RodPumpSolver(rods, pump, fluid_sg=sg, damping=0.01, grid_ft=10.0)
    cond = PumpConditions(discharge_psi=1500.0, intake_psi=200.0)
    period = 60.0
    motion = harmonic(60.0, period)
    run_strokes(solver, motion, period, cond, 1)
    solver.respace()
    res = run_strokes(solver, motion, period, cond, 1)
    weight = (RHO_LBM_FT3 - 62.4 * sg) * math.pi * 1.25**2 / 4 / 144.0 * 100.0
    fluid_load = pump.area_in2 * 1300.0
    diff = res.surface_load_lbf - (res.pump_load_lbf + weight)
    assert np.abs(diff).max() < 0.015 * fluid_load
    assert np.abs(res.surface_position_in - res.pump_position_in).max() < 0.2
    assert res.pump_load_lbf.max() == pytest.approx(fluid_load, rel=0.01)


@pytest.mark.parametrize("case", ["full", "gas", "pound"])
def test_surface_card_does_at_least_the_pump_work(case):
    unit = BeamUnit.for_stroke(86.0)
    period = 7.5
    theta0 = unit.bottom_angle()
    motion = lambda t: unit.position_in(theta0 + 2 * math.pi * np.asarray(t) / period)  # noqa
    rods = RodString(API86)
    pump = Pump()
    solver = RodPumpSolver(rods, pump, fluid_sg=0.95, damping=0.15)
    full = PumpConditions(discharge_psi=1950.0, intake_psi=90.0, thp_psi=100.0)
    run_strokes(solver, motion, period, full, 2)
    solver.respace()
    budget = {"full": math.inf, "gas": math.inf, "pound": 90.0}[case]
    gas = {"full": 0.0, "gas": 0.35, "pound": 0.0}[case]
    cond = PumpConditions(1950.0, 90.0, gas, budget, 100.0)
    res = run_strokes(solver, motion, period, cond, 3)
    surface = shoelace(res.surface_position_in, res.surface_load_lbf)
    pump_area = shoelace(res.pump_position_in, res.pump_load_lbf)
    assert surface >= pump_area > 0
    # the pump's work is at most (fluid load + friction both ways) x plunger stroke
    fluid_load = pump.area_in2 * (1950.0 - 90.0)
    bound = (fluid_load + 2 * pump.friction_lbf) * res.plunger_stroke_in
    assert pump_area <= 1.01 * bound
    expected_fill = {"full": (0.95, 1.0), "gas": (0.55, 0.75), "pound": (0.40, 0.55)}[case]
    assert expected_fill[0] <= res.fillage <= expected_fill[1]


def test_four_bar_kinematics_give_the_nameplate_stroke_and_differ_from_harmonic():
    unit = BeamUnit.for_stroke(86.0)
    th = np.linspace(0.0, 2 * math.pi, 2001)
    pos = unit.position_in(unit.bottom_angle() + th)
    assert pos.max() - pos.min() == pytest.approx(86.0, abs=0.05)
    shm = 43.0 * (1 - np.cos(th))
    # the linkage is not simple harmonic: a few inches apart (documented figure ~7 in)
    assert 3.0 < np.abs(pos - shm).max() < 12.0
    # torque factor is ds/dtheta: integrating it over the upstroke gives the stroke
    tf = unit.torque_factor_in(unit.bottom_angle() + th)
    top = int(np.argmax(pos))
    assert np.trapezoid(tf[: top + 1], th[: top + 1]) == pytest.approx(86.0, rel=0.01)
