"""Tests of daemons.petroleum.coiled_tubing: hand calculations (worked in comments),
closed-form stress states, an independent numerical integration of the lock-up equation,
and identities of the strain-life model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemons.petroleum import coiled_tubing as ct

# 2-in × 0.156-in coiled tubing in 5½-in casing (ID 4.892 in), buoyed weight 2.6 lbf/ft:
# I = π/4 (1⁴ − 0.844⁴) = 0.38687 in⁴, EI = 1.1606e7 lbf·in², r = (4.892 − 2)/2 = 1.446 in.
CT = {"od": 2.0, "wall": 0.156, "hole_id": 4.892, "unit_weight": 2.6}


def test_bending_strain_hand_calculation():
    # 2-in tubing over a 48-in guide arch: 1/48 = 2.08 %; on a 90-in reel core 1.11 %.
    assert ct.bending_strain(od=2.0, radius=48.0) == pytest.approx(1.0 / 48.0)
    np.testing.assert_allclose(ct.bending_strain(od=2.0, radius=np.array([48.0, 90.0])),
                               [1 / 48, 1 / 90])


def test_vme_closed_form_states():
    od, wall = 2.0, 0.156
    ro, ri = 1.0, 0.844
    area = math.pi * (ro**2 - ri**2)
    # Pure tension: σ = F/A.
    assert ct.vme_stress(od=od, wall=wall, p_in=0, p_out=0, axial=30000.0) == pytest.approx(
        30000.0 / area)
    # Pure torsion: √3 τ_max, τ_max = T r_o / J.
    j = math.pi / 2 * (ro**4 - ri**4)
    assert ct.vme_stress(od=od, wall=wall, p_in=0, p_out=0, axial=0.0,
                         torque=1000.0) == pytest.approx(math.sqrt(3) * 12000.0 * ro / j)
    # Equal pressure inside and out, no axial force: σr = σh = −p, σa = 0 ⇒ VME = p.
    assert ct.vme_stress(od=od, wall=wall, p_in=5000, p_out=5000, axial=0.0) == pytest.approx(
        5000.0)
    # Closed-end thick cylinder under internal pressure (end load p·π r_i²): at the bore
    # VME = √3 p r_o² / (r_o² − r_i²) (e.g. Timoshenko, Strength of Materials II, ch. 7).
    p = 8000.0
    closed = ct.vme_stress(od=od, wall=wall, p_in=p, p_out=0, axial=p * math.pi * ri**2)
    assert closed == pytest.approx(math.sqrt(3) * p * ro**2 / (ro**2 - ri**2))


def test_vme_bad_input():
    with pytest.raises(ValueError, match=r"^wall"):
        ct.vme_stress(od=2.0, wall=1.0, p_in=0, p_out=0, axial=0)
    with pytest.raises(ValueError, match=r"^p_in"):
        ct.vme_stress(od=2.0, wall=0.2, p_in=-10, p_out=0, axial=0)


def test_buckling_loads_hand_calculation():
    # Horizontal: Dawson–Paslay 2·sqrt(1.1606e7 · 0.21667 / 1.446) = 2,637.5 lbf;
    # Chen helical = √2 × that = 3,729.9 lbf.  30°: 2,637.5·sqrt(0.5) = 1,865.0 lbf.
    sin = ct.sinusoidal_buckling_load(inclination=90.0, **CT)
    hel = ct.helical_buckling_load(inclination=90.0, **CT)
    assert sin == pytest.approx(2637.45, abs=0.05)
    assert hel == pytest.approx(3729.92, abs=0.05)
    assert ct.sinusoidal_buckling_load(inclination=30.0, **CT) == pytest.approx(1864.96,
                                                                                 abs=0.05)
    # Vertical: Lubinski 1.94 (EI w²)^⅓ = 158.4 lbf; helical 5.55 (EI w²)^⅓ = 453.3 lbf.
    assert ct.sinusoidal_buckling_load(inclination=0.0, **CT) == pytest.approx(158.45,
                                                                                abs=0.05)
    assert ct.helical_buckling_load(inclination=0.0, **CT) == pytest.approx(453.30, abs=0.05)


@settings(max_examples=50, deadline=None)
@given(inc=st.floats(0.0, 90.0), w=st.floats(0.5, 8.0))
def test_buckling_loads_are_ordered_and_grow_with_inclination(inc, w):
    kw = dict(CT, unit_weight=w)
    s = ct.sinusoidal_buckling_load(inclination=inc, **kw)
    h = ct.helical_buckling_load(inclination=inc, **kw)
    assert h > s > 0
    assert ct.sinusoidal_buckling_load(inclination=min(inc + 5.0, 90.0), **kw) >= s - 1e-9


def _integrate_lockup(f_tip, f_heel, mu, w_ft, k, f_hel, dx=0.5):
    """Independent check: RK4 march of dF/dx from the tip until F reaches f_heel."""
    def rate(f):
        return mu * (w_ft + (k * f * f if f >= f_hel else 0.0))

    x, f = 0.0, f_tip
    while f < f_heel:
        k1 = rate(f)
        k2 = rate(f + dx / 2 * k1)
        k3 = rate(f + dx / 2 * k2)
        k4 = rate(f + dx * k3)
        step = dx / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if f + step >= f_heel:
            return x + dx * (f_heel - f) / step
        x, f = x + dx, f + step
    return x


def test_lockup_length_matches_numerical_integration():
    mu, w_ft = 0.3, 2.6
    ei = 30e6 * 0.38687
    k = 1.446 * 12.0 / (4 * ei)
    f_hel = ct.helical_buckling_load(inclination=90.0, **CT)
    for heel in (2000.0, 10000.0, 40000.0):
        got = ct.lockup_length(friction=mu, f_heel=heel, **CT)
        ref = _integrate_lockup(0.0, heel, mu, w_ft, k, f_hel)
        assert got == pytest.approx(ref, rel=2e-3)
    # Below the helical load the tubing only slides: L = F / (μ w).
    assert ct.lockup_length(friction=mu, f_heel=2000.0, **CT) == pytest.approx(
        2000.0 / (mu * w_ft))
    # Unlimited push: the finite asymptote, longer than any finite push reaches.
    limit = ct.lockup_length(friction=mu, **CT)
    assert ct.lockup_length(friction=mu, f_heel=1e7, **CT) < limit < 2e4
    assert ct.lockup_length(friction=mu, f_tip=3000.0, f_heel=2000.0, **CT) == 0.0


MATERIAL = ct.StrainLifeMaterial.uniform_material_law(uts_psi=100000.0)


def test_uniform_material_law_constants():
    # σu/E = 0.00333 > 0.003 ⇒ ψ = 1.375 − 125 · 0.003333 = 0.9583; ε'f = 0.59 ψ = 0.5654.
    assert MATERIAL.sigma_f_psi == pytest.approx(150000.0)
    assert MATERIAL.epsilon_f == pytest.approx(0.59 * (1.375 - 125 * 100000 / 30e6))
    assert (MATERIAL.b, MATERIAL.c) == (-0.087, -0.58)
    mild = ct.StrainLifeMaterial.uniform_material_law(uts_psi=60000.0)
    assert mild.epsilon_f == pytest.approx(0.59)


@settings(max_examples=60, deadline=None)
@given(log_n=st.floats(1.0, 7.0), sm=st.floats(-30000, 60000))
def test_cycles_to_failure_inverts_the_strain_life_curve(log_n, sm):
    n = 10.0**log_n
    m = MATERIAL
    eps = (m.sigma_f_psi - sm) / m.modulus_psi * (2 * n) ** m.b + m.epsilon_f * (2 * n) ** m.c
    got = ct.cycles_to_failure(strain_amplitude=eps, material=m, mean_stress=sm)
    assert got == pytest.approx(n, rel=1e-6)


def test_miner_sum_and_pressure_effect():
    eps = np.array([0.01, 0.005])
    life = ct.cycles_to_failure(strain_amplitude=eps, material=MATERIAL)
    # Half the life at one amplitude plus a quarter at the other: D = 0.75.
    d = ct.fatigue_damage(strain_amplitude=eps, cycles=[life[0] / 2, life[1] / 4],
                          material=MATERIAL)
    assert d == pytest.approx(0.75, rel=1e-6)
    trips = {"strain_amplitude": [0.0104], "cycles": [100.0], "material": MATERIAL,
             "od": 2.0, "wall": 0.156}
    dry = ct.fatigue_damage(**trips)
    assert ct.fatigue_damage(p_in=0.0, **trips) == dry
    pressured = [ct.fatigue_damage(p_in=p, **trips) for p in (2000.0, 5000.0, 8000.0)]
    assert dry < pressured[0] < pressured[1] < pressured[2]
    # External pressure is a compressive mean stress: it lengthens life in this model.
    assert ct.fatigue_damage(p_out=3000.0, **trips) < dry


def test_pressure_mean_stress_thin_wall_limit():
    # Thin wall, closed end: σh = p r/t, σa = p r/2t, σr ≈ 0 ⇒ VME ≈ (√3/2) p r/t.
    od, wall, p = 10.0, 0.05, 100.0
    got = ct.pressure_mean_stress(od=od, wall=wall, p_in=p)
    assert got == pytest.approx(math.sqrt(3) / 2 * p * 4.95 / wall, rel=0.02)


def test_fatigue_bad_input():
    with pytest.raises(ValueError, match=r"^od"):
        ct.fatigue_damage(strain_amplitude=[0.01], cycles=[10], material=MATERIAL,
                          p_in=1000.0)
    with pytest.raises(ValueError, match=r"^cycles"):
        ct.fatigue_damage(strain_amplitude=[0.01], cycles=[-1], material=MATERIAL)
    with pytest.raises(ValueError, match=r"^strain_amplitude"):
        ct.fatigue_damage(strain_amplitude=[0.01, 0.02], cycles=[1], material=MATERIAL)
    with pytest.raises(ValueError, match=r"^material"):
        ct.cycles_to_failure(strain_amplitude=0.01, material="steel")
    with pytest.raises(ValueError, match=r"^mean_stress"):
        ct.cycles_to_failure(strain_amplitude=0.01, material=MATERIAL, mean_stress=2e5)
