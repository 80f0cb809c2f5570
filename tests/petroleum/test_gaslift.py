"""Gas lift: optimum injection on a performance curve and equal-slope allocation.

Checks: the interpolant passes through the data and never overshoots it; on a densely
sampled analytic curve the economic optimum matches calculus (dq/dqi = cost ratio); the
allocation spends exactly the gas available, equalises marginal slopes, and beats (or
ties) every split found by brute force.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemons.petroleum import gaslift

X = np.linspace(0.0, 2000.0, 41)


def curve(a: float, b: float, c: float, x: np.ndarray = X) -> np.ndarray:
    """Smooth concave lift curve q = a + b (1 - exp(-x/c)) - 0.02 x (STB/d, x Mscf/d)."""
    return a + b * (1.0 - np.exp(-x / c)) - 0.02 * x


def test_interpolant_passes_through_data():
    y = curve(300.0, 500.0, 400.0)
    np.testing.assert_allclose(gaslift.lift_curve_rate(q_inj=X, q_oil=y, at=X), y, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 2000.0), min_size=3, max_size=12, unique=True))
def test_interpolant_never_overshoots_monotone_data(xs):
    x = np.sort(np.array(xs))
    if np.min(np.diff(x)) < 1e-3:
        return
    y = np.sqrt(x)  # monotone data
    at = np.linspace(x[0], x[-1], 500)
    q = gaslift.lift_curve_rate(q_inj=x, q_oil=y, at=at)
    assert np.all(np.diff(q) >= -1e-9)
    assert q.min() >= y.min() - 1e-9 and q.max() <= y.max() + 1e-9


def test_optimum_matches_calculus():
    # q' = (b/c) e^(-x/c) - 0.02 = λ  ->  x* = c ln(b / (c (λ + 0.02)))
    a, b, c = 300.0, 500.0, 400.0
    y = curve(a, b, c)
    technical = gaslift.optimum_injection(q_inj=X, q_oil=y)
    assert technical.q_inj == pytest.approx(c * np.log(b / (c * 0.02)), abs=50.0)  # 1654
    assert technical.q_oil == pytest.approx(y.max(), rel=1e-9)
    opt = gaslift.optimum_injection(q_inj=X, q_oil=y, gas_cost=2.0, oil_price=10.0)
    expected = c * np.log(b / (c * (0.2 + 0.02)))  # λ = 0.2 STB/Mscf -> 691.3 Mscf/d
    assert opt.q_inj == pytest.approx(expected, abs=5.0)
    assert opt.q_inj < technical.q_inj


def test_two_identical_wells_split_evenly():
    y = curve(300.0, 500.0, 400.0)
    res = gaslift.allocate_gas(curves=[(X, y), (X, y)], total_gas=1000.0)
    np.testing.assert_allclose(res.q_inj, [500.0, 500.0], atol=1e-6)
    assert res.unused == 0.0


def test_allocation_is_optimal_against_brute_force():
    y1, y2, y3 = curve(300.0, 500.0, 400.0), curve(100.0, 900.0, 700.0), curve(50, 300, 200)
    curves = [(X, y1), (X, y2), (X, y3)]
    total = 1500.0
    res = gaslift.allocate_gas(curves=curves, total_gas=total)
    assert res.q_inj.sum() == pytest.approx(total)
    oil = res.q_oil.sum()
    # Marginal slopes are equal at the optimum (numerical derivative on the curve).
    h = 1.0
    slopes = [
        (gaslift.lift_curve_rate(q_inj=x, q_oil=y, at=xi + h)
         - gaslift.lift_curve_rate(q_inj=x, q_oil=y, at=xi - h)) / (2 * h)
        for (x, y), xi in zip(curves, res.q_inj, strict=True)
    ]  # fmt: skip
    np.testing.assert_allclose(slopes, res.marginal, atol=5e-3)
    # Brute force over a 20 Mscf/d grid of splits.
    best = 0.0
    for g1 in np.arange(0.0, total + 1, 20.0):
        for g2 in np.arange(0.0, total - g1 + 1, 20.0):
            g3 = total - g1 - g2
            q = sum(
                gaslift.lift_curve_rate(q_inj=x, q_oil=y, at=g)
                for (x, y), g in zip(curves, (g1, g2, g3), strict=True)
            )
            best = max(best, q)
    assert oil >= best - 1e-6


def test_surplus_gas_leaves_every_well_at_its_technical_optimum():
    y1, y2 = curve(300.0, 500.0, 400.0), curve(100.0, 900.0, 700.0)
    res = gaslift.allocate_gas(curves=[(X, y1), (X, y2)], total_gas=10_000.0)
    for (x, y), xi in zip([(X, y1), (X, y2)], res.q_inj, strict=True):
        assert xi == pytest.approx(gaslift.optimum_injection(q_inj=x, q_oil=y).q_inj)
    assert res.unused == pytest.approx(10_000.0 - res.q_inj.sum())
    assert res.marginal == 0.0


@pytest.mark.parametrize("total", [300.0, 500.0, 700.0, 900.0, 1200.0])
def test_kick_off_well_gets_gas_only_when_worth_it(total):
    # Well B is dead below 400 Mscf/d, then responds strongly: a non-concave curve where
    # the equal-slope rule alone can pick the wrong regime.
    xb = np.array([0.0, 200.0, 400.0, 600.0, 800.0, 1000.0])
    yb = np.array([0.0, 0.0, 10.0, 400.0, 520.0, 560.0])
    ya = curve(300.0, 500.0, 400.0)
    res = gaslift.allocate_gas(curves=[(X, ya), (xb, yb)], total_gas=total)
    assert res.q_inj.sum() == pytest.approx(total)
    split = np.arange(0.0, min(total, 1000.0) + 1e-9, 2.0)  # gas to B, brute force
    brute = gaslift.lift_curve_rate(q_inj=X, q_oil=ya, at=total - split) + gaslift.lift_curve_rate(
        q_inj=xb, q_oil=yb, at=split
    )
    assert res.q_oil.sum() >= brute.max() - 1e-6
    if total <= 500.0:  # too little gas to kick B off: it all goes to A
        assert res.q_inj[1] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("call", "arg"),
    [
        (lambda: gaslift.optimum_injection(q_inj=[0, 100, 100], q_oil=[1, 2, 3]), "q_inj"),
        (lambda: gaslift.optimum_injection(q_inj=[0, 100], q_oil=[1, -2]), "q_oil"),
        (lambda: gaslift.optimum_injection(q_inj=[0, 1], q_oil=[1, 2], oil_price=0), "oil_price"),
        (lambda: gaslift.allocate_gas(curves=[([100, 200], [1, 2])], total_gas=50), "total_gas"),
        (
            lambda: gaslift.allocate_gas(curves=[([0, 1], [1, 2]), ([0], [1])], total_gas=5),
            "q_inj[1]",
        ),
        (lambda: gaslift.allocate_gas(curves=[], total_gas=5), "curves"),
    ],
)
def test_bad_input_names_the_argument(call, arg):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value).startswith(arg + ":")


def test_fit_lift_curve_recovers_its_own_form_and_optimum():
    q = np.linspace(200.0, 3000.0, 8)
    c = (-50.0, 0.05, -2.0e-5, 80.0)
    oil = c[0] + c[1] * q + c[2] * q * q + c[3] * np.log(q + 1.0)
    fit = gaslift.fit_lift_curve(q_inj=q, q_oil=oil)
    assert fit.c2 == pytest.approx(c[1], rel=1e-6) and fit.rms < 1e-6
    # technical optimum: c2 + 2 c3 q + c4/(q+1) = 0, by brute force on a fine grid
    grid = np.linspace(200.0, 3000.0, 280001)
    best = grid[np.argmax(fit.rate(grid))]
    assert gaslift.fitted_optimum(fit).q_inj == pytest.approx(best, abs=0.02)
    # economic slope: the optimum moves down where the marginal oil pays for the gas
    econ = gaslift.fitted_optimum(fit, gas_cost=2.0, oil_price=70.0)
    lam = 2.0 / 70.0
    assert econ.q_inj < best
    assert c[1] + 2 * c[2] * econ.q_inj + c[3] / (econ.q_inj + 1) == pytest.approx(lam, abs=1e-9)


def test_fitted_optimum_stays_inside_the_data():
    q = np.array([100.0, 200.0, 300.0, 400.0])
    fit = gaslift.fit_lift_curve(q_inj=q, q_oil=2.0 * q)  # still rising: the last point wins
    assert gaslift.fitted_optimum(fit).q_inj == pytest.approx(400.0)


def test_fit_needs_four_distinct_rates():
    with pytest.raises(ValueError, match="q_inj"):
        gaslift.fit_lift_curve(q_inj=[1.0, 1.0, 2.0, 3.0], q_oil=[1.0, 2.0, 3.0, 4.0])
