"""Tests of daemons.petroleum.drilling: published survey example, hand calculations,
closed-form torque & drag limits (straight hole, capstan) and ordering properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemons.petroleum import drilling as dr


def test_hydrostatic_and_ecd_hand_calculations():
    # 0.052 · 10 ppg · 10,000 ft = 5,200 psi; ECD = 10 + 200 / (0.052 · 10,000) = 10.385.
    assert dr.hydrostatic(mw=10.0, tvd=10000.0) == pytest.approx(5200.0)
    assert dr.ecd(mw=10.0, annular_pressure_loss=200.0, tvd=10000.0) == pytest.approx(
        10.0 + 200.0 / 520.0)
    arr = dr.hydrostatic(mw=np.array([9.0, 12.5]), tvd=8000.0)
    np.testing.assert_allclose(arr, [3744.0, 5200.0])


def test_mse_teale_hand_calculation():
    # 8.5-in bit: A = 56.745 in².  30,000/56.745 = 528.7 psi; 120π·120·8,000/(56.745·60)
    # = 106,297 psi; MSE = 106,826 psi.
    mse = dr.mse_teale(wob=30000.0, rpm=120.0, torque=8000.0, rop=60.0, bit_diameter=8.5)
    assert mse == pytest.approx(106826.0, rel=1e-4)


@settings(max_examples=50, deadline=None)
@given(wob=st.floats(1e3, 6e4), rpm=st.floats(20, 250), torque=st.floats(500, 30000),
       rop=st.floats(5, 300), d=st.floats(3.5, 26))
def test_pessier_fear_equals_teale_with_the_bit_friction_coefficient(wob, rpm, torque, rop, d):
    # Pessier & Fear's form is Teale's with T = μ WOB D / 36, so they agree exactly.
    mu = dr.bit_friction_coefficient(wob=wob, torque=torque, bit_diameter=d)
    a = dr.mse_teale(wob=wob, rpm=rpm, torque=torque, rop=rop, bit_diameter=d)
    b = dr.mse_pessier_fear(wob=wob, rpm=rpm, rop=rop, bit_diameter=d, mu=mu)
    assert b == pytest.approx(a, rel=1e-9)


def test_minimum_curvature_published_example():
    # Lyons & Plisga, "Formulas and Calculations for Drilling, Production and Workover",
    # 2nd ed., minimum curvature example (as reproduced on drillingformulas.com/
    # minimum-curvature-method): 3500→3600 ft, 15→25°, 20→45°: dogleg 0.22605 rad
    # (12.95°), RF 1.00408, North 27.22 ft, East 19.45 ft, ΔTVD 94.01 ft.
    t = dr.minimum_curvature(survey=[[3500, 15, 20], [3600, 25, 45]])
    assert t.dogleg[0] == pytest.approx(0.22605, abs=1e-5)
    assert t.north[1] == pytest.approx(27.22, abs=0.005)
    assert t.east[1] == pytest.approx(19.45, abs=0.005)
    assert t.tvd[1] == pytest.approx(94.01, abs=0.005)
    assert t.dls_deg_per_100ft[0] == pytest.approx(12.95, abs=0.005)


def test_minimum_curvature_is_exact_on_a_circular_arc():
    # A quarter circle of radius R from vertical to horizontal: MD = πR/2 lands at TVD = R
    # and departure R, whatever the number of stations.
    r = 1909.86  # 3°/100 ft build
    md = np.linspace(0, math.pi / 2 * r, 7)
    inc = np.degrees(md / r)
    t = dr.minimum_curvature(survey=np.column_stack([md, inc, np.full(7, 30.0)]))
    assert t.tvd[-1] == pytest.approx(r, rel=1e-9)
    assert math.hypot(t.north[-1], t.east[-1]) == pytest.approx(r, rel=1e-9)
    assert t.east[-1] / t.north[-1] == pytest.approx(math.tan(math.radians(30.0)))
    np.testing.assert_allclose(t.dls_deg_per_100ft, 3.0, rtol=1e-4)


BF_10PPG = 1.0 - 10.0 / 65.5


@pytest.mark.parametrize("inc", [0.0, 30.0, 60.0, 90.0])
def test_straight_hole_has_closed_form_drag_and_torque(inc):
    # Straight hole at θ: every element sees N = W sin θ, so over L ft
    # pulling: F = w·BF·L (cos θ + μ sin θ); running: (cos θ − μ sin θ);
    # rotating: F = w·BF·L cos θ and T = μ w·BF·L sin θ · OD/24 ft·lbf.
    length, w, mu, od = 8000.0, 20.0, 0.25, 5.0
    survey = [[0.0, inc, 0.0], [length / 3, inc, 0.0], [length, inc, 0.0]]
    th = math.radians(inc)
    buoyed = w * BF_10PPG * length
    common = {"survey": survey, "unit_weight": w, "mud_weight": 10.0, "friction": mu,
              "pipe_od": od}
    out = dr.soft_string_torque_drag(mode="trip_out", **common)
    run = dr.soft_string_torque_drag(mode="trip_in", **common)
    rot = dr.soft_string_torque_drag(mode="rotate", **common)
    assert out.hookload == pytest.approx(buoyed * (math.cos(th) + mu * math.sin(th)))
    assert run.hookload == pytest.approx(buoyed * (math.cos(th) - mu * math.sin(th)))
    assert rot.hookload == pytest.approx(buoyed * math.cos(th), abs=1e-6)
    assert rot.surface_torque == pytest.approx(mu * buoyed * math.sin(th) * od / 24.0,
                                               abs=1e-6)
    assert out.surface_torque == 0.0


def test_capstan_effect_through_a_bend():
    # Pushing a weightless string through a 90° bend: |F| grows as e^{μ·Δθ} (Euler's
    # capstan equation), the limit of Johancsik's element equations for fine elements.
    r = 1000.0
    md = np.linspace(0, math.pi / 2 * r, 10)
    survey = np.column_stack([md, np.degrees(md / r), np.zeros(10)])
    res = dr.soft_string_torque_drag(survey=survey, unit_weight=1e-9, mud_weight=0.0,
                                     friction=0.3, pipe_od=3.5, mode="trip_in",
                                     wob=10000.0, max_element_ft=2.0)
    assert res.hookload == pytest.approx(-10000.0 * math.exp(0.3 * math.pi / 2), rel=1e-3)


def test_subdividing_a_straight_hole_changes_nothing_and_vertical_azimuth_is_harmless():
    survey = [[0, 0, 0], [1000, 0, 0], [2000, 0, 250.0], [3000, 40, 250.0], [6000, 40, 250.0]]
    kw = {"unit_weight": [30.0, 30.0, 20.0, 20.0], "mud_weight": 11.0, "friction": 0.3,
          "pipe_od": 5.0, "mode": "rotate", "wob": 20000.0, "bit_torque": 3000.0}
    coarse = dr.soft_string_torque_drag(survey=survey, **kw)
    fine = dr.soft_string_torque_drag(survey=survey, max_element_ft=50.0, **kw)
    # The azimuth jump 0→250° at a vertical station must not create a side force.
    assert coarse.normal_force[1] == pytest.approx(0.0, abs=1e-9)
    # Straight sections agree exactly; the build section differs by discretisation only.
    assert fine.hookload == pytest.approx(coarse.hookload, rel=0.02)
    assert fine.torque[-1] == 3000.0 and coarse.tension[-1] == -20000.0
    # Vertical-only hookload: buoyed weight of each interval.
    assert coarse.tension[0] - coarse.tension[2] == pytest.approx(
        2000.0 * 30.0 * (1 - 11.0 / 65.5))


@settings(max_examples=40, deadline=None)
@given(incs=st.lists(st.floats(0, 95), min_size=3, max_size=8),
       azis=st.lists(st.floats(0, 360), min_size=8, max_size=8),
       mu=st.floats(0.05, 0.5))
def test_pulling_weighs_more_than_rotating_more_than_running(incs, azis, mu):
    n = len(incs)
    md = np.arange(n) * 500.0
    survey = np.column_stack([md, incs, azis[:n]])
    kw = {"survey": survey, "unit_weight": 25.0, "mud_weight": 10.0, "friction": mu,
          "pipe_od": 5.0}
    out = dr.soft_string_torque_drag(mode="trip_out", **kw).hookload
    rot = dr.soft_string_torque_drag(mode="rotate", **kw).hookload
    run = dr.soft_string_torque_drag(mode="trip_in", **kw).hookload
    assert out >= rot - 1e-6 >= run - 2e-6


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"survey": [[0, 0, 0], [0, 10, 0]]}, "survey"),
        ({"survey": [[0, 0, 0]]}, "survey"),
        ({"mode": "slide"}, "mode"),
        ({"mud_weight": 70.0}, "mud_weight"),
        ({"friction": -0.1}, "friction"),
        ({"unit_weight": 0.0}, "unit_weight"),
        ({"unit_weight": [20.0, 30.0]}, "unit_weight"),
        ({"survey": [[0, 0, 0], [100, math.nan, 0]]}, "survey"),
    ],
)
def test_torque_drag_bad_input(kwargs, name):
    args = {"survey": [[0, 0, 0], [1000, 10, 0]], "unit_weight": 20.0, "mud_weight": 10.0,
            "friction": 0.2, "pipe_od": 5.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"^{name}"):
        dr.soft_string_torque_drag(**args)


def test_scalar_checks_name_the_argument():
    with pytest.raises(ValueError, match=r"^tvd"):
        dr.hydrostatic(mw=10.0, tvd=-1.0)
    with pytest.raises(ValueError, match=r"^rop"):
        dr.mse_teale(wob=1.0, rpm=1.0, torque=1.0, rop=0.0, bit_diameter=8.5)
    with pytest.raises(ValueError, match=r"^mu"):
        dr.mse_pessier_fear(wob=1.0, rpm=1.0, rop=1.0, bit_diameter=8.5, mu=math.inf)


def test_bingham_annular_loss_hand_calculation():
    # 500 gpm in an 8.5 x 5 in annulus: v = 500 / (2.448 (72.25 - 25)) = 4.323 ft/s;
    # dp/dL = 20·4.323/(1000·3.5²) + 15/(200·3.5) = 0.007058 + 0.021429 psi/ft
    v = dr.annular_velocity(q=500.0, hole_diameter=8.5, pipe_od=5.0)
    assert v == pytest.approx(500.0 / (2.448 * 47.25))
    apl = dr.annular_pressure_loss_bingham(q=500.0, hole_diameter=8.5, pipe_od=5.0,
                                                 length=10000.0, plastic_viscosity=20.0,
                                                 yield_point=15.0)
    assert apl == pytest.approx(10000.0 * (20 * v / (1000 * 3.5**2) + 15 / (200 * 3.5)))
    assert dr.annular_pressure_loss_bingham(
        q=0.0, hole_diameter=8.5, pipe_od=5.0, length=1000.0, plastic_viscosity=20.0,
        yield_point=15.0) == 0.0
    with pytest.raises(ValueError, match="pipe_od"):
        dr.annular_velocity(q=1.0, hole_diameter=5.0, pipe_od=5.0)
