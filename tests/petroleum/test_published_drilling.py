"""Drilling formulas against worked examples printed in field references.

Lapeyrouse, N.J., "Formulas and Calculations for Drilling, Production and Workover"
(Gulf Professional Publishing), as reproduced with its examples on docs.kws.tn
("1.2 Hydrostatic Pressure") and on drillingformulas.com.
"""

import pytest

from daemons.petroleum import drilling


def test_hydrostatic_lapeyrouse_example() -> None:
    # docs.kws.tn/formulas/1/hydrostatic-pressure.html (Lapeyrouse §1.2):
    # mud weight 13.5 ppg, TVD 12,000 ft -> HP = 8,424 psi.
    assert drilling.hydrostatic(mw=13.5, tvd=12_000.0) == pytest.approx(8424.0, abs=0.5)


def test_ecd_and_bottomhole_pressure_drillingformulas_example() -> None:
    # drillingformulas.com, "Pressure Loss and Equivalent Circulating Density Review":
    # 12.7 ppg mud, annulus friction loss 50 psi, 10,000 ft TVD ->
    # BHP = 0.052 x 12.7 x 10000 + 50 = 6654 psi, ECD = 12.7 + 50/(0.052 x 10000) = 12.8 ppg.
    ecd = drilling.ecd(mw=12.7, annular_pressure_loss=50.0, tvd=10_000.0)
    assert ecd == pytest.approx(12.8, abs=0.05)  # printed to 0.1 ppg
    bhp = drilling.hydrostatic(mw=12.7, tvd=10_000.0) + 50.0
    assert bhp == pytest.approx(6654.0, abs=0.5)
    # ECD and BHP must tell the same story: BHP is the hydrostatic of the ECD.
    assert drilling.hydrostatic(mw=ecd, tvd=10_000.0) == pytest.approx(bhp, rel=1e-12)


def test_mse_teale_worked_example() -> None:
    # "How to Calculate Mechanical Specific Energy (MSE) in Drilling", worked example
    # (calculator5.snowdaycalculatornow.com/?p=2817): WOB 35,000 lbf, 8.5 in bit
    # (A = 56.75 in^2), 120 rpm, 4,500 ft·lbf, 50 ft/h -> "MSE is ~72,357 psi".
    # A weak source: it rounds the bit area and prints an approximate total, and the
    # exact Teale expression gives 72,368 psi, 0.015 % above.  The tolerance (0.05 %)
    # covers the page's rounding and nothing more: a wrong unit factor (e.g. 2π instead
    # of 120π, or torque in in·lbf) would miss by orders of magnitude.
    mse = drilling.mse_teale(wob=35_000.0, rpm=120.0, torque=4_500.0, rop=50.0,
                             bit_diameter=8.5)
    assert mse == pytest.approx(72_357.0, rel=5e-4)
