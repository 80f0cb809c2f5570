"""PVT correlations against values printed in published worked examples and reference tables.

Each case cites where the numbers were printed.  Tolerances follow the printing: a value
printed to n significant figures is checked to half a unit in its last printed digit.
The library is not tuned to these numbers; they were looked up after it was written.
"""

import math

import numpy as np
import pytest

from daemons.petroleum import pvt


def _half_ulp(printed: str) -> float:
    """Half a unit in the last printed decimal place of `printed` ("17.44" -> 0.005)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10.0**-decimals


# ---------------------------------------------------------------------------------------
# Beggs & Robinson viscosity.  Worked example printed on wiki.pengtools.com, "Beggs and
# Robinson Oil Viscosity correlation", section "Example. Calculation of the oil
# viscosity", whose stated example source is Beggs, H.D., "Oil System Correlations",
# Petroleum Engineering Handbook (SPE 1987), ch. 22.  Input: T = 137 °F, API 22
# (γo = 0.922), Rs = 90 scf/STB.  Printed: μod = 17.44 cP, A = 0.719, B = 0.853,
# μos = 8.24 cP.
# ---------------------------------------------------------------------------------------


def test_beggs_robinson_dead_oil_pengtools_beggs_1987() -> None:
    mu_od = pvt.beggs_robinson_dead_oil_viscosity(t=137.0, api=22.0)
    assert mu_od == pytest.approx(17.44, abs=_half_ulp("17.44"))


def test_beggs_robinson_live_oil_pengtools_beggs_1987() -> None:
    # Chained exactly as the example does: the live-oil step takes the dead-oil result.
    mu_od = pvt.beggs_robinson_dead_oil_viscosity(t=137.0, api=22.0)
    mu_os = pvt.beggs_robinson_live_oil_viscosity(mu_od=mu_od, rs=90.0)
    assert mu_os == pytest.approx(8.24, abs=_half_ulp("8.24"))
    # The printed intermediate coefficients A and B (3 decimals): mu_os = A mu_od^B, so
    # with mu_od fixed at 1 cP the function returns A, and B follows from a second point.
    a = pvt.beggs_robinson_live_oil_viscosity(mu_od=1.0, rs=90.0)
    assert a == pytest.approx(0.719, abs=_half_ulp("0.719"))
    b = math.log(pvt.beggs_robinson_live_oil_viscosity(mu_od=10.0, rs=90.0) / a) / math.log(10)
    assert b == pytest.approx(0.853, abs=_half_ulp("0.853"))


# ---------------------------------------------------------------------------------------
# Sutton (1985) pseudo-criticals.  petrocalchub.com, "Sutton Pseudo-Critical Gas
# Properties Formula", default example (source stated there: Sutton, R.P. 1985, SPE-14265):
# γg = 0.65 -> Tpc = 365.11 °R.
# ---------------------------------------------------------------------------------------


def test_sutton_tpc_petrocalchub_default_example() -> None:
    pc = pvt.sutton_pseudocritical(gas_sg=0.65)
    assert pc.tpc == pytest.approx(365.11, abs=_half_ulp("365.11"))


# ---------------------------------------------------------------------------------------
# Vasquez & Beggs (1980) solution GOR.  petrocalchub.com, "Vasquez-Beggs Solution Gas-Oil
# Ratio from Pressure Formula", default example: p = 2500 psi, T = 180 °F, API 35,
# γg = 0.8, C1..C3 = 0.0178, 1.187, 23.931 (the API > 30 set) -> Rs = 569.164106 scf/STB.
# The page feeds γg straight in (no separator correction), i.e. it is γgs here.
# ---------------------------------------------------------------------------------------


def test_vasquez_beggs_rs_petrocalchub_default_example() -> None:
    rs = pvt.vasquez_beggs_rs(p=2500.0, t=180.0, api=35.0, gas_sg=0.8)
    assert rs == pytest.approx(569.164106, abs=_half_ulp("569.164106"))


# ---------------------------------------------------------------------------------------
# Standing solution GOR — a documented difference of convention, not a bug.
# petrocalchub.com, "Solution Gas-Oil Ratio - Standing Correlation Formula" (source stated:
# Guo, Lyons & Ghalambor 2007, Petroleum Production Engineering, p. 2/20): γg = 0.8,
# p = 2500 psi, API 30, T = 180 °F -> Rs = 548.314278 scf/STB, using Standing's 1947 form
# Rs = γg [(p/18) 10^(0.0125 API - 0.00091 T)]^1.2048.  The library implements the 1981
# form Rs = γg [(p/18.2 + 1.4) 10^(0.0125 API - 0.00091 T)]^1.2048 (issue 5 asks for it),
# which at this point gives 547.71: 0.11 % lower.  The test pins both facts: the printed
# 1947 value is reproduced by the 1947 formula, and the library sits within the 0.2 %
# that separates the two forms at this pressure.
# ---------------------------------------------------------------------------------------


def test_standing_rs_guo_example_differs_only_by_the_1981_form() -> None:
    g, p, api, t = 0.8, 2500.0, 30.0, 180.0
    rs_1947 = g * ((p / 18.0) * 10.0 ** (0.0125 * api - 0.00091 * t)) ** 1.2048
    assert rs_1947 == pytest.approx(548.314278, abs=_half_ulp("548.314278"))
    rs_lib = pvt.standing_rs(p=p, t=t, api=api, gas_sg=g)
    rs_1981 = g * ((p / 18.2 + 1.4) * 10.0 ** (0.0125 * api - 0.00091 * t)) ** 1.2048
    assert rs_lib == pytest.approx(rs_1981, rel=1e-12)
    assert rs_lib == pytest.approx(548.314278, rel=2e-3)


# ---------------------------------------------------------------------------------------
# z-factor reference tables.  The zFactor R package vignettes (f0nzie/zFactor, e.g.
# f0nzie.github.io/zFactor/articles/Beggs-Brill.html and the CRAN 0.1.x tarballs) print
# Hall-Yarborough (1973) and Dranchuk & Abou-Kassem (1975) z at Ppr 0.5..6.5 and
# Tpr 1.3..2.0, to 7 decimals, as the reference against which their other correlations
# are compared ("# From Hall-Yarborough", "# From Dranchuk-AbouKassem").  Both are
# iterative solutions of an exact equation of state, so agreement should be limited only
# by the printed digits and the solvers' convergence tolerance: 1e-6 absolute.
# ---------------------------------------------------------------------------------------

PPR = (0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5)

HALL_YARBOROUGH = {
    1.3: (0.9176300, 0.7534433, 0.6399020, 0.6323003, 0.6881127, 0.7651710, 0.8493794),
    1.5: (0.9496855, 0.8581232, 0.7924067, 0.7687902, 0.7868071, 0.8316848, 0.8906351),
    1.7: (0.9682547, 0.9134862, 0.8756412, 0.8605668, 0.8694525, 0.8978885, 0.9396353),
    2.0: (0.9838234, 0.9580002, 0.9426939, 0.9396286, 0.9490995, 0.9697839, 0.9994317),
}

DRANCHUK_ABOU_KASSEM = {
    1.3: (0.9203019, 0.7543694, 0.6377871, 0.6339357, 0.6898314, 0.7663247, 0.8499523),
    1.5: (0.9509373, 0.8593144, 0.7929993, 0.7710525, 0.7896224, 0.8331893, 0.8904317),
    1.7: (0.9681353, 0.9128087, 0.8753784, 0.8619509, 0.8721085, 0.9003962, 0.9409634),
    2.0: (0.9824731, 0.9551087, 0.9400752, 0.9385273, 0.9497137, 0.9715388, 1.0015560),
}


@pytest.mark.parametrize(
    ("method", "table"),
    [("hall_yarborough", HALL_YARBOROUGH), ("dak", DRANCHUK_ABOU_KASSEM)],
)
@pytest.mark.parametrize("tpr", [1.3, 1.5, 1.7, 2.0])
def test_z_factor_matches_zfactor_reference_table(
    method: str, table: dict[float, tuple[float, ...]], tpr: float
) -> None:
    for ppr, printed in zip(PPR, table[tpr], strict=True):
        z = pvt.z_factor(ppr=ppr, tpr=tpr, method=method)
        assert z == pytest.approx(printed, abs=1e-6), (method, tpr, ppr)


def test_z_factor_vectorised_matches_table() -> None:
    z = pvt.z_factor(ppr=np.array(PPR), tpr=np.full(len(PPR), 1.3), method="dak")
    assert np.allclose(z, DRANCHUK_ABOU_KASSEM[1.3], atol=1e-6)
