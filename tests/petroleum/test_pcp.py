"""PCP displacement and rate.

The displacement formula 4 e D Ps is checked against a direct numerical integration of
the single-lobe cross-section (stator "stadium" minus rotor circle), which does not use
the formula.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemons.petroleum import pcp


def _open_area_numeric(e: float, d: float, n: int = 2001) -> float:
    """Area between a stadium (circle of diameter d swept ±2e along x) and the circle."""
    r = d / 2.0
    x = np.linspace(-(2 * e + r), 2 * e + r, n)
    y = np.linspace(-r, r, n)
    xx, yy = np.meshgrid(x, y)
    in_stator = (np.abs(xx) <= 2 * e) | ((np.abs(xx) - 2 * e) ** 2 + yy**2 <= r * r)
    in_rotor = xx**2 + yy**2 <= r * r
    cell = (x[1] - x[0]) * (y[1] - y[0])
    return float(np.sum(in_stator & ~in_rotor) * cell)


def test_displacement_matches_numeric_cross_section():
    e, d, ps = 0.25, 1.5, 6.0
    numeric = _open_area_numeric(e, d) * ps
    assert pcp.pcp_displacement(eccentricity=e, rotor_diameter=d, stator_pitch=ps) == (
        pytest.approx(numeric, rel=5e-3)
    )


def test_rate_hand_calc_and_inverse():
    # 10 in³/rev × 100 rpm × 1440 / 9702 = 148.423 bbl/d
    assert pcp.pcp_rate(displacement=10.0, rpm=100.0) == pytest.approx(148.4230, rel=1e-6)
    assert pcp.pcp_rate(displacement=10.0, rpm=100.0, efficiency=0.8) == pytest.approx(
        118.7384, rel=1e-6
    )


@given(q=st.floats(1.0, 5000.0), disp=st.floats(1.0, 100.0), eff=st.floats(0.3, 1.0))
def test_rpm_for_rate_inverts_rate(q, disp, eff):
    rpm = pcp.pcp_rpm_for_rate(q=q, displacement=disp, efficiency=eff)
    assert pcp.pcp_rate(displacement=disp, rpm=rpm, efficiency=eff) == pytest.approx(q)


@pytest.mark.parametrize(
    ("call", "arg"),
    [
        (
            lambda: pcp.pcp_displacement(eccentricity=0, rotor_diameter=1, stator_pitch=5),
            "eccentricity",
        ),
        (lambda: pcp.pcp_rate(displacement=10.0, rpm=-1.0), "rpm"),
        (lambda: pcp.pcp_rate(displacement=10.0, rpm=100.0, efficiency=1.5), "efficiency"),
    ],
)
def test_bad_input_names_the_argument(call, arg):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value).startswith(arg + ":")
