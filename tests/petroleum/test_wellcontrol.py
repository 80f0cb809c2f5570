"""Tests of daemons.petroleum.wellcontrol: a published kill-sheet example, IWCF-style hand
calculations (worked in the comments) and the identities between the sheets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemons.petroleum import wellcontrol as wc


def test_published_kill_sheet_figures():
    # drillingforgas.com, "Procedure and calculation example for Change in Circulating
    # Rate": SIDPP 530 psi, SCR 650 psi at 30 spm, OMW 14.1 ppg, TVD 12,366 ft; the kick
    # sheet printed KMW 14.9 ppg, ICP 1180 psi, FCP 688 psi.
    kmw = wc.kill_mud_weight(omw=14.1, sidpp=530.0, tvd=12366.0)
    assert round(kmw, 1) == 14.9
    assert wc.initial_circulating_pressure(scr=650.0, sidpp=530.0) == 1180.0
    assert wc.final_circulating_pressure(scr=650.0, kmw=kmw, omw=14.1) == pytest.approx(
        688.0, abs=0.5)


def test_formation_pressure_maasp_hand_calculations():
    # P_f = 0.052 · 10 · 10,000 + 520 = 5,720 psi; KMW = 10 + 520/520 = 11.0 ppg.
    assert wc.formation_pressure(omw=10.0, sidpp=520.0, tvd=10000.0) == pytest.approx(5720.0)
    assert wc.kill_mud_weight(omw=10.0, sidpp=520.0, tvd=10000.0) == pytest.approx(11.0)
    # MAASP = (15 − 12) · 0.052 · 8,000 = 1,248 psi.
    assert wc.maasp(lot_emw=15.0, mw=12.0, tvd_shoe=8000.0) == pytest.approx(1248.0)
    arr = wc.maasp(lot_emw=np.array([15.0, 16.0]), mw=12.0, tvd_shoe=8000.0)
    np.testing.assert_allclose(arr, [1248.0, 1664.0])


def test_influx_height_and_gradient_hand_calculations():
    # 20 bbl in 0.0459 bbl/ft: H = 435.7 ft; G = 0.052·10 − (800 − 600)/435.7 = 0.061.
    h = wc.influx_height(pit_gain=20.0, annular_capacity=0.0459)
    assert h == pytest.approx(435.73, abs=0.01)
    g = wc.influx_gradient(mw=10.0, sicp=800.0, sidpp=600.0, pit_gain=20.0,
                           annular_capacity=0.0459)
    assert g == pytest.approx(0.52 - 200.0 * 0.0459 / 20.0)
    assert g == pytest.approx(0.0610, abs=1e-4)
    # 30 bbl with 600 ft of BHA at 0.0291 bbl/ft (17.46 bbl) and 0.0459 above:
    # H = 600 + 12.54 / 0.0459 = 873.2 ft.
    h2 = wc.influx_height(pit_gain=30.0, annular_capacity=0.0291, bha_length=600.0,
                          annular_capacity_above=0.0459)
    assert h2 == pytest.approx(873.2, abs=0.1)
    h3 = wc.influx_height(pit_gain=10.0, annular_capacity=0.0291, bha_length=600.0,
                          annular_capacity_above=0.0459)
    assert h3 == pytest.approx(10.0 / 0.0291)


def test_impossible_shut_in_pressures_are_rejected():
    with pytest.raises(ValueError, match=r"^sicp"):
        wc.influx_gradient(mw=10.0, sicp=2000.0, sidpp=100.0, pit_gain=5.0,
                           annular_capacity=0.05)
    with pytest.raises(ValueError, match=r"^pit_gain"):
        wc.influx_gradient(mw=10.0, sicp=800.0, sidpp=600.0, pit_gain=0.0,
                           annular_capacity=0.05)
    with pytest.raises(ValueError, match=r"^annular_capacity_above"):
        wc.influx_height(pit_gain=30.0, annular_capacity=0.0291, bha_length=600.0)


def test_kick_tolerance_hand_calculation():
    # Shoe 6,000 ft (LOT 14 ppg), hole 10,000 ft, MW 11, KI 0.5, gas 0.1 psi/ft,
    # 8½-in hole: 0.02915 bbl/ft around 6½-in collars, 0.04592 around 5-in pipe.
    # P_f = 0.052·11.5·10,000 = 5,980; P_shoe = 0.052·14·6,000 = 4,368; G_m = 0.572;
    # H = (4,368 − 5,980 + 0.572·4,000)/(0.572 − 0.1) = 676/0.472 = 1,432.2 ft;
    # V1 = 1,432.2·0.02915 = 41.75 bbl; V2 = 1,432.2·0.04592·4,368/5,980 = 48.04 bbl.
    kt = wc.kick_tolerance(lot_emw=14.0, mw=11.0, tvd_shoe=6000.0, tvd=10000.0,
                           kick_intensity=0.5, influx_gradient=0.1,
                           annular_capacity_bottom=0.02915, annular_capacity_shoe=0.04592)
    assert kt.max_height == pytest.approx(1432.2, abs=0.1)
    assert kt.volume_at_bottom == pytest.approx(41.75, abs=0.01)
    assert kt.volume_at_shoe == pytest.approx(48.04, abs=0.01)
    assert kt.volume == kt.volume_at_bottom and kt.limited_by == "bottom"


@settings(max_examples=60, deadline=None)
@given(lot=st.floats(11.5, 18.0), ki=st.floats(0.0, 2.0), extra=st.floats(0.1, 2.0))
def test_kick_tolerance_grows_with_shoe_strength_and_shrinks_with_intensity(lot, ki, extra):
    base = {"mw": 11.0, "tvd_shoe": 6000.0, "tvd": 10000.0, "influx_gradient": 0.1,
            "annular_capacity_bottom": 0.029, "annular_capacity_shoe": 0.046}
    kt = wc.kick_tolerance(lot_emw=lot, kick_intensity=ki, **base).volume
    stronger = wc.kick_tolerance(lot_emw=lot + extra, kick_intensity=ki, **base).volume
    harder = wc.kick_tolerance(lot_emw=lot, kick_intensity=ki + extra, **base).volume
    assert stronger >= kt >= harder >= 0.0


def test_kick_tolerance_is_zero_when_the_shoe_cannot_take_the_intensity():
    kt = wc.kick_tolerance(lot_emw=11.5, mw=11.0, tvd_shoe=5000.0, tvd=10000.0,
                           kick_intensity=1.0, influx_gradient=0.1,
                           annular_capacity_bottom=0.03, annular_capacity_shoe=0.05)
    assert kt.volume == 0.0 and kt.max_height == 0.0
    with pytest.raises(ValueError, match=r"^tvd_shoe"):
        wc.kick_tolerance(lot_emw=14.0, mw=11.0, tvd_shoe=12000.0, tvd=10000.0,
                          kick_intensity=0.5, influx_gradient=0.1,
                          annular_capacity_bottom=0.03, annular_capacity_shoe=0.05)


STRING = [(9500.0, 0.01776), (500.0, 0.0077)]


def test_vertical_kill_sheet_hand_calculation():
    # OMW 10, SIDPP 520, TVD 10,000 → KMW 11.0; SCR 800 → ICP 1,320, FCP 880.
    # Strokes to bit: (9,500·0.01776 + 500·0.0077)/0.1 = (168.72 + 3.85)/0.1 = 1,725.7;
    # drop per 100 strokes = 440/1,725.7·100 = 25.50 psi.
    ks = wc.kill_sheet(omw=10.0, sidpp=520.0, tvd=10000.0, scr=800.0, pump_output=0.1,
                       drillstring=STRING)
    assert ks.kmw == pytest.approx(11.0)
    assert (ks.icp, ks.fcp) == (pytest.approx(1320.0), pytest.approx(880.0))
    assert ks.strokes_to_bit == pytest.approx(1725.7)
    assert ks.pressure_drop_per_100_strokes == pytest.approx(25.50, abs=0.005)
    assert ks.strokes[0] == 0.0 and ks.strokes[-1] == pytest.approx(1725.7)
    assert ks.strokes[1] == 100.0
    assert ks.pressure[0] == pytest.approx(1320.0) and ks.pressure[-1] == pytest.approx(880.0)
    assert ks.pressure_at(1000.0) == pytest.approx(1320.0 - 10 * 25.497, abs=0.01)
    assert ks.pressure_at(5000.0) == pytest.approx(880.0)  # kill mud past the bit: FCP


def test_deviated_kill_sheet_hand_calculation():
    # KOP 3,000 ft, EOB at 5,000 MD / 4,700 TVD, bit at 12,000 MD / 9,000 TVD; uniform
    # 0.0178 bbl/ft, 0.1 bbl/stk.  OMW 10, SIDPP 468 → KMW = 10 + 468/468 = 11.0;
    # SCR 700 → ICP 1,168, FCP 770.  IWCF deviated sheet:
    # at KOP: 700 + 70·3,000/12,000 + 468 − 0.052·1·3,000 = 1,029.5 psi;
    # at EOB: 700 + 70·5,000/12,000 + 468 − 0.052·4,700 = 952.77 psi.
    survey = [[0, 0], [3000, 3000], [5000, 4700], [12000, 9000]]
    ks = wc.kill_sheet(omw=10.0, sidpp=468.0, tvd=9000.0, scr=700.0, pump_output=0.1,
                       drillstring=[(12000.0, 0.0178)], survey=survey)
    per_ft = 0.0178 / 0.1
    assert ks.pressure_at(3000 * per_ft) == pytest.approx(1029.5, abs=0.01)
    assert ks.pressure_at(5000 * per_ft) == pytest.approx(952.77, abs=0.01)
    assert ks.pressure[0] == pytest.approx(1168.0) and ks.pressure[-1] == pytest.approx(770.0)
    # The straight line would hold 1,068.5 psi at KOP: 39 psi of extra bottom-hole pressure.
    line = wc.kill_sheet(omw=10.0, sidpp=468.0, tvd=9000.0, scr=700.0, pump_output=0.1,
                         drillstring=[(12000.0, 0.0178)])
    assert line.pressure_at(3000 * per_ft) == pytest.approx(1068.5)


@settings(max_examples=40, deadline=None)
@given(tvd=st.floats(3000, 20000), omw=st.floats(8.6, 16), sidpp=st.floats(50, 1500),
       scr=st.floats(200, 1500), cap=st.floats(0.005, 0.03))
def test_deviated_formula_on_a_vertical_uniform_string_is_the_straight_line(
        tvd, omw, sidpp, scr, cap):
    kw = {"omw": omw, "sidpp": sidpp, "tvd": tvd, "scr": scr, "pump_output": 0.12,
          "drillstring": [{"length_ft": tvd, "capacity_bbl_ft": cap}]}
    line = wc.kill_sheet(**kw)
    dev = wc.kill_sheet(survey=[[0.0, 0.0], [tvd, tvd]], **kw)
    np.testing.assert_allclose(dev.pressure, line.pressure, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"sidpp": -5.0}, "sidpp"),
        ({"kmw": 9.0}, "kmw"),
        ({"drillstring": []}, "drillstring"),
        ({"drillstring": [(1000.0,)]}, "drillstring"),
        ({"drillstring": [(-1000.0, 0.0178)]}, r"drillstring\[0\].length_ft"),
        ({"survey": [[0, 0], [5000, 5000]]}, "survey"),
        ({"survey": [[0, 0], [10000, 9000]]}, "tvd"),
        ({"pump_output": 0.0}, "pump_output"),
    ],
)
def test_kill_sheet_bad_input(kwargs, name):
    args = {"omw": 10.0, "sidpp": 520.0, "tvd": 10000.0, "scr": 800.0, "pump_output": 0.1,
            "drillstring": [(10000.0, 0.0178)]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"^{name}"):
        wc.kill_sheet(**args)
