"""Arps decline, modified hyperbolic, conversions and the robust fit.

Checks are limits (b -> 0, b -> 1), identities (cumulative = numerical integral of the
rate, time-to-rate inverts the rate, EUR = cumulative at the limit), and two documented
conversion examples of the aRpsDCA package (CRAN reference manual, as.nominal and
as.effective, which use 365.25 d/yr).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemons.petroleum import decline as dc


def _integral(f, t_end: float, n: int = 200_001) -> float:
    t = np.linspace(0.0, t_end, n)
    y = f(t)
    return float(np.sum((y[1:] + y[:-1]) * np.diff(t)) / 2.0)


@pytest.mark.parametrize("b", [1e-9, 1e-6, 1e-4])
def test_b_to_zero_tends_to_exponential(b):
    t = np.linspace(0.0, 500.0, 11)
    expo = 1000.0 * np.exp(-0.01 * t)
    np.testing.assert_allclose(dc.arps_rate(qi=1000.0, di=0.01, b=b, t=t), expo, rtol=30 * b)
    np.testing.assert_allclose(
        dc.arps_cum(qi=1000.0, di=0.01, b=b, t=t),
        dc.arps_cum(qi=1000.0, di=0.01, b=0.0, t=t),
        rtol=30 * b,
    )
    assert dc.arps_eur(qi=1000.0, di=0.01, b=b, q_limit=5.0) == pytest.approx(
        (1000.0 - 5.0) / 0.01, rel=30 * b
    )


@pytest.mark.parametrize("db", [-1e-7, 1e-7])
def test_b_near_one_is_continuous_with_harmonic(db):
    harmonic_cum = 1000.0 / 0.02 * np.log1p(0.02 * 300.0)
    assert dc.arps_cum(qi=1000.0, di=0.02, b=1.0, t=300.0) == pytest.approx(harmonic_cum)
    assert dc.arps_cum(qi=1000.0, di=0.02, b=1.0 + db, t=300.0) == pytest.approx(
        harmonic_cum, rel=1e-5
    )
    harmonic_eur = 1000.0 / 0.02 * np.log(1000.0 / 2.0)
    assert dc.arps_eur(qi=1000.0, di=0.02, b=1.0 + db, q_limit=2.0) == pytest.approx(
        harmonic_eur, rel=1e-5
    )


@pytest.mark.parametrize("b", [0.0, 0.4, 1.0, 1.6, 2.0])
def test_cum_is_the_integral_of_rate(b):
    qi, di, t_end = 800.0, 0.05, 120.0
    num = _integral(lambda t: dc.arps_rate(qi=qi, di=di, b=b, t=t), t_end)
    assert dc.arps_cum(qi=qi, di=di, b=b, t=t_end) == pytest.approx(num, rel=1e-8)


@given(
    qi=st.floats(1.0, 1e5),
    di=st.floats(1e-4, 1.0),
    b=st.floats(0.0, 2.0),
    frac=st.floats(1e-3, 0.999),
)
def test_time_to_rate_and_eur_identities(qi, di, b, frac):
    q = qi * frac
    t = dc.arps_time_to_rate(qi=qi, di=di, b=b, q=q)
    assert dc.arps_rate(qi=qi, di=di, b=b, t=t) == pytest.approx(q, rel=1e-9)
    eur = dc.arps_eur(qi=qi, di=di, b=b, q_limit=q)
    assert eur == pytest.approx(dc.arps_cum(qi=qi, di=di, b=b, t=t), rel=1e-7)


def test_eur_is_zero_when_already_below_limit():
    assert dc.arps_eur(qi=10.0, di=0.1, b=0.5, q_limit=20.0) == 0.0


def test_modified_hyperbolic_switches_continuously():
    qi, di, b, d_term = 1000.0, 0.02, 1.2, 0.0005
    t_sw = dc.modified_hyperbolic_switch_time(di=di, b=b, d_term=d_term)
    # Instantaneous decline di/(1 + b di t) equals d_term there.
    assert di / (1 + b * di * t_sw) == pytest.approx(d_term)
    eps = 1e-9 * t_sw
    left = dc.modified_hyperbolic_rate(qi=qi, di=di, b=b, d_term=d_term, t=t_sw - eps)
    right = dc.modified_hyperbolic_rate(qi=qi, di=di, b=b, d_term=d_term, t=t_sw + eps)
    assert left == pytest.approx(right, rel=1e-8)
    # Before the switch it is Arps, after it a constant decline of d_term.
    t1 = 0.5 * t_sw
    assert dc.modified_hyperbolic_rate(qi=qi, di=di, b=b, d_term=d_term, t=t1) == pytest.approx(
        dc.arps_rate(qi=qi, di=di, b=b, t=t1)
    )
    t2 = np.array([1.5, 2.0]) * t_sw
    q2 = dc.modified_hyperbolic_rate(qi=qi, di=di, b=b, d_term=d_term, t=t2)
    assert np.log(q2[0] / q2[1]) / (t2[1] - t2[0]) == pytest.approx(d_term)
    # Cumulative is the integral of the rate across the switch.
    t_end = 2.0 * t_sw
    num = _integral(
        lambda t: dc.modified_hyperbolic_rate(qi=qi, di=di, b=b, d_term=d_term, t=t), t_end
    )
    assert dc.modified_hyperbolic_cum(qi=qi, di=di, b=b, d_term=d_term, t=t_end) == pytest.approx(
        num, rel=1e-7
    )


def test_modified_hyperbolic_without_terminal_is_arps():
    t = np.linspace(0, 1000, 7)
    np.testing.assert_allclose(
        dc.modified_hyperbolic_rate(qi=500.0, di=0.01, b=0.8, d_term=0.0, t=t),
        dc.arps_rate(qi=500.0, di=0.01, b=0.8, t=t),
    )
    np.testing.assert_allclose(
        dc.modified_hyperbolic_cum(qi=500.0, di=0.01, b=0.0, d_term=0.005, t=t),
        dc.arps_cum(qi=500.0, di=0.01, b=0.0, t=t),
    )
    with pytest.raises(ValueError, match=r"^d_term:"):
        dc.modified_hyperbolic_rate(qi=500.0, di=0.01, b=0.8, d_term=0.02, t=t)


def test_conversions_match_aRpsDCA_documented_examples():
    # as.nominal(0.95, from.period="year", to.period="day") -> 0.008201868
    assert dc.nominal_from_tangent(d_tan=0.95) / 365.25 == pytest.approx(0.008201868, rel=1e-7)
    # as.effective(0.008, from.period="day", to.period="year") -> 0.9461741
    assert dc.tangent_from_nominal(d_nom=0.008 * 365.25) == pytest.approx(0.9461741, rel=1e-7)


@given(d=st.floats(0.0, 0.99), b=st.floats(0.0, 2.0))
def test_secant_conversion_round_trip_and_definition(d, b):
    nominal = dc.nominal_from_secant(d_sec=d, b=b)
    assert dc.secant_from_nominal(d_nom=nominal, b=b) == pytest.approx(d, abs=1e-12)
    if nominal > 0:  # secant effective = drop of rate over the first unit of time
        q1 = dc.arps_rate(qi=1.0, di=nominal, b=b, t=1.0)
        assert 1.0 - q1 == pytest.approx(d, abs=1e-12)


def test_secant_b_to_zero_is_tangent():
    assert dc.nominal_from_secant(d_sec=0.3, b=1e-9) == pytest.approx(
        dc.nominal_from_tangent(d_tan=0.3), rel=1e-8
    )


@pytest.mark.parametrize("b", [0.0, 0.5, 1.0, 1.7])
def test_fit_recovers_exact_data(b):
    t = np.arange(0.0, 365.0)
    q = dc.arps_rate(qi=1200.0, di=0.015, b=b, t=t)
    qi, di, b_fit = dc.fit_arps(t=t, q=q)
    assert qi == pytest.approx(1200.0, rel=1e-6)
    assert di == pytest.approx(0.015, rel=1e-5)
    assert b_fit == pytest.approx(b, abs=1e-5)


def test_fit_ignores_shut_ins_and_outliers():
    rng = np.random.default_rng(42)
    t = np.arange(0.0, 540.0)
    q = dc.arps_rate(qi=900.0, di=0.01, b=0.8, t=t) * np.exp(rng.normal(0.0, 0.04, t.size))
    q[200:215] = 0.0  # two weeks shut in
    spikes = rng.choice(np.flatnonzero(q > 0), 20, replace=False)
    q[spikes] *= rng.choice([0.2, 4.0], spikes.size)  # metering glitches
    fit = dc.fit_arps_detail(t=t, q=q)
    assert not fit.used[200:215].any()
    assert not fit.used[spikes].any()
    assert fit.used.sum() > 480
    assert fit.qi == pytest.approx(900.0, rel=0.03)
    assert fit.di == pytest.approx(0.01, rel=0.08)
    assert fit.b == pytest.approx(0.8, abs=0.1)
    # A plain least-squares fit through the glitches would be pulled far off; check
    # that the data really are hostile: the raw RMS in ln q is large.
    raw = np.log(q[q > 0]) - np.log(dc.arps_rate(qi=900.0, di=0.01, b=0.8, t=t[q > 0]))
    assert np.sqrt(np.mean(raw**2)) > 5 * fit.rms_log


@settings(max_examples=25, deadline=None)
@given(
    qi=st.floats(10.0, 1e4),
    di=st.floats(1e-3, 0.1),
    b=st.floats(0.0, 2.0),
)
def test_fit_property_noiseless(qi, di, b):
    t = np.linspace(0.0, 400.0, 80)
    q = dc.arps_rate(qi=qi, di=di, b=b, t=t)
    fit = dc.fit_arps(t=t, q=q)
    np.testing.assert_allclose(dc.arps_rate(qi=fit.qi, di=fit.di, b=fit.b, t=t), q, rtol=1e-4)


@pytest.mark.parametrize(
    ("call", "arg"),
    [
        (lambda: dc.arps_rate(qi=100.0, di=0.1, b=2.5, t=1.0), "b"),
        (lambda: dc.arps_rate(qi=100.0, di=0.1, b=-0.1, t=1.0), "b"),
        (lambda: dc.arps_rate(qi=100.0, di=0.1, b=0.5, t=-1.0), "t"),
        (lambda: dc.arps_cum(qi=100.0, di=0.0, b=0.5, t=1.0), "di"),
        (lambda: dc.arps_time_to_rate(qi=100.0, di=0.1, b=0.5, q=200.0), "q"),
        (lambda: dc.nominal_from_tangent(d_tan=1.0), "d_tan"),
        (lambda: dc.fit_arps(t=[0, 1, 2, 3], q=[10, 0, 0, 5]), "q"),
        (lambda: dc.fit_arps(t=[0, 1, 2, 3], q=[1, 2, 3, 4]), "q"),
        (lambda: dc.fit_arps(t=[0, 1, 2], q=[3, 2, float("nan")]), "q"),
        (lambda: dc.fit_arps(t=[0, 1, 2], q=[3, 2, 1, 0.5]), "t"),
    ],
)
def test_bad_input_names_the_argument(call, arg):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value).startswith(arg + ":")
