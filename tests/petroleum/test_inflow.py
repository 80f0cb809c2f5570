"""Inflow performance: Vogel, composite IPR, Standing FE, Fetkovich, Horner.

Reference values are hand calculations written out in the comments (no printed textbook
number is claimed unless its source is named), plus limiting cases, identities and an
independent forward model (line-source solution with superposition) for the Horner test.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemons.petroleum import inflow


def test_productivity_index_hand_calc():
    # J = 100 / (2000 - 1500) = 0.2 STB/d/psi
    assert inflow.productivity_index(q=100.0, p_res=2000.0, pwf=1500.0) == pytest.approx(0.2)


def test_vogel_qmax_hand_calc():
    # x = 2000/2500 = 0.8; 1 - 0.2*0.8 - 0.8*0.64 = 1 - 0.16 - 0.512 = 0.328
    # qmax = 350 / 0.328 = 1067.07 STB/d
    qmax = inflow.vogel_qmax(q_test=350.0, pwf_test=2000.0, p_res=2500.0)
    assert qmax == pytest.approx(1067.073, rel=1e-5)
    # at 1850 psi: x = 0.74, ratio = 1 - 0.148 - 0.43808 = 0.41392 -> 441.68 STB/d
    q = inflow.vogel_rate(pwf=1850.0, p_res=2500.0, qmax=qmax)
    assert q == pytest.approx(1067.073 * 0.41392, rel=1e-5)


@given(
    p_res=st.floats(100.0, 10_000.0),
    qmax=st.floats(1.0, 1e5),
    frac=st.floats(0.0, 1.0),
)
def test_vogel_end_points_and_round_trip(p_res, qmax, frac):
    assert inflow.vogel_rate(pwf=p_res, p_res=p_res, qmax=qmax) == pytest.approx(0.0, abs=1e-9)
    assert inflow.vogel_rate(pwf=0.0, p_res=p_res, qmax=qmax) == pytest.approx(qmax)
    pwf = frac * p_res * 0.999
    q = inflow.vogel_rate(pwf=pwf, p_res=p_res, qmax=qmax)
    assert inflow.vogel_qmax(q_test=q, pwf_test=pwf, p_res=p_res) == pytest.approx(qmax, rel=1e-9)


def test_vogel_is_monotone_and_keeps_array_shape():
    pwf = np.linspace(0.0, 3000.0, 31).reshape(31, 1)
    q = inflow.vogel_rate(pwf=pwf, p_res=3000.0, qmax=1000.0)
    assert isinstance(q, np.ndarray) and q.shape == (31, 1)
    assert np.all(np.diff(q[:, 0]) < 0)
    assert isinstance(inflow.vogel_rate(pwf=10.0, p_res=3000.0, qmax=1000.0), float)


def test_composite_ipr_continuity_and_aof():
    p_res, pb, j = 5651.0, 3000.0, 1.2
    # Above pb it is the straight line.
    assert inflow.composite_ipr_rate(pwf=4000.0, p_res=p_res, pb=pb, j=j) == pytest.approx(
        j * (p_res - 4000.0)
    )
    # Value and slope continuous at pb (slope of the straight line is -J).
    eps = 1e-3
    above = inflow.composite_ipr_rate(pwf=pb + eps, p_res=p_res, pb=pb, j=j)
    below = inflow.composite_ipr_rate(pwf=pb - eps, p_res=p_res, pb=pb, j=j)
    assert (below - above) / (2 * eps) == pytest.approx(j, rel=1e-5)
    # AOF hand calc: 1.2*(5651-3000) + 1.2*3000/1.8 = 3181.2 + 2000 = 5181.2
    aof = inflow.composite_aof(p_res=p_res, pb=pb, j=j)
    assert aof == pytest.approx(5181.2)
    assert inflow.composite_ipr_rate(pwf=0.0, p_res=p_res, pb=pb, j=j) == pytest.approx(aof)


def test_composite_saturated_reservoir_is_vogel():
    # pb >= p_res: no straight-line part, qmax = J p_res / 1.8.
    q = inflow.composite_ipr_rate(pwf=1200.0, p_res=2400.0, pb=2600.0, j=0.9)
    assert q == pytest.approx(inflow.vogel_rate(pwf=1200.0, p_res=2400.0, qmax=0.9 * 2400 / 1.8))


def test_standing_fe_hand_calc_and_limits():
    # FE = 0.6, p_res = 2600, pwf = 1700: pwf' = 2600 - 0.6*900 = 2060, x = 0.792308,
    # ratio = 1 - 0.158462 - 0.8*0.627751 = 0.339337.
    q = inflow.standing_fe_rate(pwf=1700.0, p_res=2600.0, qmax_fe1=1000.0, fe=0.6)
    assert q == pytest.approx(339.337, rel=1e-5)
    # FE = 1 is plain Vogel.
    pwf = np.linspace(0, 2600, 14)
    np.testing.assert_allclose(
        inflow.standing_fe_rate(pwf=pwf, p_res=2600.0, qmax_fe1=800.0, fe=1.0),
        inflow.vogel_rate(pwf=pwf, p_res=2600.0, qmax=800.0),
    )
    # Round trip through the test-point inverse.
    qm = inflow.standing_qmax_fe1(q_test=q, pwf_test=1700.0, p_res=2600.0, fe=0.6)
    assert qm == pytest.approx(1000.0)


def test_standing_fe_above_one_refuses_undefined_region():
    p_min = inflow.standing_fe_pwf_min(p_res=3000.0, fe=1.5)
    assert p_min == pytest.approx(1000.0)
    # At the limit the ideal pressure is 0: q = qmax(FE=1).
    assert inflow.standing_fe_rate(
        pwf=p_min, p_res=3000.0, qmax_fe1=500.0, fe=1.5
    ) == pytest.approx(500.0)
    with pytest.raises(ValueError, match="pwf"):
        inflow.standing_fe_rate(pwf=500.0, p_res=3000.0, qmax_fe1=500.0, fe=1.5)


def test_fetkovich_fit_recovers_exact_and_noisy_data():
    p_res = 3000.0
    pwf = np.array([2700.0, 2400.0, 2000.0, 1500.0])
    q = 2.5e-3 * (p_res**2 - pwf**2) ** 0.8
    c, n = inflow.fetkovich_fit(p_res=p_res, q=q, pwf=pwf)
    assert n == pytest.approx(0.8, rel=1e-9)
    assert c == pytest.approx(2.5e-3, rel=1e-9)
    rng = np.random.default_rng(7)
    noisy = q * np.exp(rng.normal(0, 0.01, q.size))
    c2, n2 = inflow.fetkovich_fit(p_res=p_res, q=noisy, pwf=pwf)
    assert n2 == pytest.approx(0.8, abs=0.05)
    back = inflow.fetkovich_rate(pwf=1800.0, p_res=p_res, c=c2, n=n2)
    assert back == pytest.approx(2.5e-3 * (p_res**2 - 1800.0**2) ** 0.8, rel=0.03)


def test_fetkovich_needs_two_drawdowns():
    with pytest.raises(ValueError, match="pwf"):
        inflow.fetkovich_fit(p_res=3000.0, q=[100.0, 101.0], pwf=[2500.0, 2500.0])


def _e1(x: float) -> float:
    """Exponential integral E1 by its convergent series (x small here)."""
    total, term, k = 0.0, 1.0, 1
    while True:
        term *= -x / k
        add = -term / k
        total += add
        if abs(add) < 1e-18:
            break
        k += 1
    return -0.5772156649015329 - math.log(x) + total


def test_horner_recovers_forward_model():
    # Independent forward model: line-source (Ei) solution in field units with skin,
    # Δp = 141.2 q B mu/(k h) [0.5 E1(phi mu ct rw² / (4 * 0.0002637 k t)) + s],
    # superposed for a build-up after tp hours of production.  Neither 162.6 nor 3.2275
    # appears here.
    k, s, pi = 25.0, 4.0, 4000.0  # truth: md, skin, initial pressure psia
    q, bo, mu, h, phi, ct, rw = 400.0, 1.2, 1.5, 40.0, 0.18, 1.5e-5, 0.3
    coef = 141.2 * q * bo * mu / (k * h)

    def dp(t: float) -> float:
        return coef * 0.5 * _e1(phi * mu * ct * rw * rw / (4 * 0.0002637 * k * t))

    tp = 500.0
    pwf = pi - (coef * s + dp(tp))
    dts = np.array([5.0, 10.0, 20.0, 40.0, 80.0])
    pws = np.array([pi - dp(tp + d) + dp(d) for d in dts])
    x = np.log10((tp + dts) / dts)
    slope, intercept = np.polyfit(x, pws, 1)
    m = -slope
    p1hr = intercept - m * math.log10(tp + 1.0)
    res = inflow.horner_analysis(
        q=q, bo=bo, mu=mu, h=h, m=m, p1hr=p1hr, pwf_shutin=pwf, phi=phi, ct=ct, rw=rw
    )
    assert res.k == pytest.approx(k, rel=2e-3)
    # log10(tp+1) vs log10(tp) and 162.6 vs 141.2*ln(10)/2 rounding: a few hundredths.
    assert res.skin == pytest.approx(s, abs=0.05)
    assert res.dp_skin == pytest.approx(coef * s, rel=0.02)


def test_horner_hand_calc():
    # k = 162.6*4900*1.55*0.20/(40*482) = 12.8107 md
    # φ μ ct rw² = 0.09*0.20*22.6e-6*0.354² = 5.09785e-8 ; log10(12.8107/5.09785e-8) = 8.40018
    # s = 1.1513*[(3266-2761)/40 - 8.40018 + 3.2275] = 1.1513*7.45232 = 8.5799
    # Δps = (141.2/162.6)*40*8.5799 = 298.03 psi
    res = inflow.horner_analysis(
        q=4900, bo=1.55, mu=0.20, h=482, m=40, p1hr=3266, pwf_shutin=2761,
        phi=0.09, ct=22.6e-6, rw=0.354,
    )  # fmt: skip
    assert res.k == pytest.approx(12.8107, abs=1e-4)
    assert res.skin == pytest.approx(8.5799, abs=1e-3)
    assert res.dp_skin == pytest.approx(298.03, abs=0.02)


@pytest.mark.parametrize(
    ("call", "arg"),
    [
        (lambda: inflow.vogel_rate(pwf=3100.0, p_res=3000.0, qmax=10.0), "pwf"),
        (lambda: inflow.vogel_rate(pwf=100.0, p_res=-3000.0, qmax=10.0), "p_res"),
        (lambda: inflow.vogel_rate(pwf=float("nan"), p_res=3000.0, qmax=10.0), "pwf"),
        (lambda: inflow.vogel_qmax(q_test=10.0, pwf_test=3000.0, p_res=3000.0), "pwf_test"),
        (lambda: inflow.productivity_index(q=-1.0, p_res=3000.0, pwf=100.0), "q"),
        (lambda: inflow.composite_ipr_rate(pwf=[1, 2, 4000], p_res=3000, pb=2000, j=1), "pwf"),
        (lambda: inflow.fetkovich_rate(pwf=1.0, p_res=3000.0, c=1.0, n=2.5), "n"),
        (lambda: inflow.standing_fe_rate(pwf=1.0, p_res=3.0, qmax_fe1=1.0, fe=0.0), "fe"),
    ],
)
def test_bad_input_names_the_argument(call, arg):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value).startswith(arg + ":")
