"""Arps decline against the example outputs printed in the aRpsDCA documentation.

aRpsDCA (CRAN, "Arps Decline Curve Analysis in R") prints the output of its own usage
examples (rdrr.io/cran/aRpsDCA/man/exponential.html and .../hyperbolic.html).  Its time
conversions use 365.25 days per year and `as.nominal(De)` is the tangent-effective
conversion D = -ln(1 - De); the tests apply the same conventions explicitly.  Values are
printed to 4 decimals (rates) and 2 decimals (cumulative), so the tolerance is half a unit
in the last printed digit.
"""

import math

import numpy as np
import pytest

from daemons.petroleum import decline

DAYS_PER_YEAR = 365.25  # aRpsDCA's rescale.by.time convention
# as.nominal(0.95, from.period="year", to.period="day"): tangent effective 95 %/yr.
DI_PER_DAY = -math.log(1.0 - 0.95) / DAYS_PER_YEAR

# exponential.q(1000, as.nominal(0.95, "year", "day"), seq(0, 25)) — printed output.
EXPONENTIAL_Q = (
    1000.0000, 991.8317, 983.7301, 975.6946, 967.7249, 959.8202, 951.9800, 944.2040,
    936.4914, 928.8418, 921.2547, 913.7296, 906.2660, 898.8633, 891.5211, 884.2389,
    877.0161, 869.8524, 862.7471, 855.6999, 848.7103, 841.7778, 834.9019, 828.0821,
    821.3181, 814.6093,
)  # fmt: skip

# hyperbolic.q(1000, as.nominal(0.95, "year", "day"), 1.2, seq(0, 25)) — the printed
# output as far as the stored page shows it (days 0..16).
HYPERBOLIC_Q = (
    1000.0000, 991.8714, 983.8869, 976.0423, 968.3341, 960.7585, 953.3121, 945.9915,
    938.7934, 931.7148, 924.7525, 917.9037, 911.1654, 904.5351, 898.0099, 891.5875,
    885.2652,
)  # fmt: skip


def test_exponential_rate_arpsdca_example() -> None:
    t = np.arange(len(EXPONENTIAL_Q), dtype=float)
    q = decline.arps_rate(qi=1000.0, di=DI_PER_DAY, b=0.0, t=t)
    assert np.allclose(q, EXPONENTIAL_Q, rtol=0.0, atol=5e-5)


def test_hyperbolic_rate_arpsdca_example_b_1_2() -> None:
    t = np.arange(len(HYPERBOLIC_Q), dtype=float)
    q = decline.arps_rate(qi=1000.0, di=DI_PER_DAY, b=1.2, t=t)
    assert np.allclose(q, HYPERBOLIC_Q, rtol=0.0, atol=5e-5)


def test_exponential_cumulative_arpsdca_example() -> None:
    # exponential.Np(rescale.by.time(500, from.period="day", to.period="year"), 3.91, 5)
    # printed: 46707.16 (bbl, with qi in bbl/yr and D = 3.91 nominal per year).
    np_ = decline.arps_cum(qi=500.0 * DAYS_PER_YEAR, di=3.91, b=0.0, t=5.0)
    assert np_ == pytest.approx(46707.16, abs=0.005)


def test_time_to_rate_inverts_the_printed_hyperbolic_point() -> None:
    # Reading the printed table backwards: the rate printed for day 16 must be reached
    # at day 16 to within the printing's resolution in time.
    t = decline.arps_time_to_rate(qi=1000.0, di=DI_PER_DAY, b=1.2, q=HYPERBOLIC_Q[16])
    assert t == pytest.approx(16.0, abs=1e-3)
