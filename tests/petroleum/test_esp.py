"""ESP figures: affinity laws, hydraulic power, pump intake pressure, motor power/load.

Hydraulic power is checked against an SI computation (ρ g Q H in watts) that shares no
constant with the oilfield formula; the rest are identities and hand calculations.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemons.petroleum import esp


def test_hydraulic_hp_matches_si_computation():
    q_bbl_d, head_ft, sg = 1000.0, 1000.0, 1.0
    q_si = q_bbl_d * 0.158987295 / 86_400.0  # m³/s
    rho = 999.01 * sg  # kg/m³, water at 60 °F
    watts = rho * 9.80665 * q_si * head_ft * 0.3048
    hp = watts / 745.699872  # mechanical horsepower
    assert esp.hydraulic_hp(q=q_bbl_d, tdh=head_ft, sg=sg) == pytest.approx(hp, rel=2e-4)


@given(r=st.floats(0.3, 1.5))
def test_affinity_keeps_efficiency_and_round_trips(r):
    q = np.array([500.0, 1500.0, 2500.0])
    head = np.array([6000.0, 5000.0, 3000.0])
    bhp = np.array([95.0, 140.0, 150.0])
    new = esp.affinity(q=q, head=head, bhp=bhp, f_from=60.0, f_to=60.0 * r)
    # Hydraulic efficiency HHP/BHP is the same at corresponding points.
    np.testing.assert_allclose(
        esp.hydraulic_hp(q=new.q, tdh=new.head, sg=1.0) / new.bhp,
        esp.hydraulic_hp(q=q, tdh=head, sg=1.0) / bhp,
        rtol=1e-12,
    )
    back = esp.affinity(q=new.q, head=new.head, bhp=new.bhp, f_from=60.0 * r, f_to=60.0)
    np.testing.assert_allclose(back.q, q)
    np.testing.assert_allclose(back.head, head)
    np.testing.assert_allclose(back.bhp, bhp)


def test_affinity_hand_calc():
    # 60 -> 50 Hz: r = 5/6; q 1200 -> 1000, head 7200 -> 5000, bhp 216 -> 125
    res = esp.affinity(q=1200.0, head=7200.0, bhp=216.0, f_from=60.0, f_to=50.0)
    assert (res.q, res.head, res.bhp) == pytest.approx((1000.0, 5000.0, 125.0))


def test_pump_intake_pressure():
    # 80 psi casing + 0.35 psi/ft × (7000 - 4500) ft = 80 + 875 = 955 psi
    pip = esp.pump_intake_pressure(
        p_casing=80.0, liquid_gradient=0.35, pump_depth=7000.0, fluid_level=4500.0
    )
    assert pip == pytest.approx(955.0)
    # With a gas column of 0.02 psi/ft: + 90 psi
    assert esp.pump_intake_pressure(
        p_casing=80.0, liquid_gradient=0.35, pump_depth=7000.0, fluid_level=4500.0,
        gas_gradient=0.02,
    ) == pytest.approx(1045.0)  # fmt: skip
    # Fluid level at or below the intake: no submergence, only the gas column.
    levels = np.array([7000.0, 7200.0])
    pips = esp.pump_intake_pressure(
        p_casing=80.0, liquid_gradient=0.35, pump_depth=7000.0, fluid_level=levels,
        gas_gradient=0.02,
    )  # fmt: skip
    np.testing.assert_allclose(pips, [220.0, 220.0])


def test_motor_kw_and_load():
    # √3 × 1000 V × 100 A × 1.0 / 1000 = 173.205 kW
    assert esp.motor_kw(v=1000.0, i=100.0, pf=1.0) == pytest.approx(173.2051)
    assert esp.motor_kw(v=2300.0, i=[0.0, 40.0], pf=0.85)[0] == 0.0
    assert esp.motor_load(i=45.0, i_nameplate=60.0) == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("call", "arg"),
    [
        (lambda: esp.hydraulic_hp(q=-1.0, tdh=100.0, sg=1.0), "q"),
        (lambda: esp.hydraulic_hp(q=1.0, tdh=100.0, sg=0.0), "sg"),
        (lambda: esp.affinity(q=1.0, head=1.0, bhp=1.0, f_from=0.0, f_to=50.0), "f_from"),
        (lambda: esp.motor_kw(v=480.0, i=10.0, pf=1.2), "pf"),
        (lambda: esp.motor_kw(v=float("nan"), i=10.0, pf=0.8), "v"),
        (lambda: esp.motor_load(i=10.0, i_nameplate=0.0), "i_nameplate"),
        (
            lambda: esp.pump_intake_pressure(
                p_casing=-5.0, liquid_gradient=0.4, pump_depth=5000.0, fluid_level=100.0
            ),
            "p_casing",
        ),
    ],
)
def test_bad_input_names_the_argument(call, arg):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value).startswith(arg + ":")
