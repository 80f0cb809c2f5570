"""PCP results against the simulated drive's ground truth (in-process, simulated clock).

The simulated pump slips as (ΔP/1000)^1.3 scaled by an elastomer swell that wanders and a
wear factor; calcd knows the pump only from its geometry and bench-test slip."""

from __future__ import annotations

import pytest

from daemons.calcd.calcs.pcp import Pcp
from daemons.core.tagmap import TagMap

from .simfeed import Harness, demo_config, demo_tagmap

pytestmark = pytest.mark.timeout(120)


def without_meter():
    cfg = demo_config()
    tags = [t for t in demo_tagmap(cfg) if t.name != "W108.FLOW_RATE"]
    return TagMap(tuple(tags))


@pytest.mark.parametrize("metered", [True, False], ids=["flowline meter", "pump model"])
def test_flow_efficiency_and_torque_against_the_truth(metered):
    h = Harness(["pcp1"], calcs=[Pcp], tagmap=None if metered else without_meter())
    errors = []

    def check(h):
        t = h.feed.truth("pcp1")
        errors.append((h.value("W108.CALC.FLOW") / t["liquid_rate_bbl_d"] - 1.0,
                       h.value("W108.CALC.VOL_EFFICIENCY") - 100 * t["volumetric_efficiency"],
                       h.value("W108.CALC.TORQUE_LOAD")
                       - 100 * t["torque_ft_lbf"] / 1400.0))

    for speed in (150.0, 250.0, 350.0):
        model = h.feed.models["pcp1"]
        model.apply_write(model.point("SPEED_SP"), speed)
        h.run(3600, step=30, each=check)
    flow = max(abs(e[0]) for e in errors)
    eff = max(abs(e[1]) for e in errors)
    torque = max(abs(e[2]) for e in errors)
    print(f"\nPCP ({'meter' if metered else 'model'}): flow error max {100 * flow:.1f} %, "
          f"efficiency {eff:.1f} points, torque load {torque:.1f} points")
    assert flow <= (0.05 if metered else 0.10)
    assert eff <= (5.0 if metered else 10.0)
    assert torque <= 2.0


def test_a_worn_pump_shows_in_the_measured_efficiency():
    h = Harness(["pcp1"], calcs=[Pcp])
    h.run(600, step=30)
    before = h.value("W108.CALC.VOL_EFFICIENCY")
    h.feed.models["pcp1"].inject("wear", factor=3.0)
    h.run(600, step=30)
    after = h.value("W108.CALC.VOL_EFFICIENCY")
    truth = 100 * h.feed.truth("pcp1")["volumetric_efficiency"]
    assert after < before - 5.0
    assert after == pytest.approx(truth, abs=3.0)
