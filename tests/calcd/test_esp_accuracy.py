"""ESP results against the simulated drive's ground truth (in-process, simulated clock).

Targets from issue 10: flow within 10 % and intake pressure within 5 %, here over a range
of frequencies (the affinity laws at work) and with the gauge replaced by an acoustic
fluid level; the condition code follows the drive's trips.
"""

from __future__ import annotations

import pytest

from daemons.calcd.calcs.esp import EspFlow, EspIntake, EspMotor
from daemons.core.tagmap import TagDef, TagMap

from .simfeed import Harness, demo_config, demo_tagmap

pytestmark = pytest.mark.timeout(300)
CALCS = [EspIntake, EspFlow, EspMotor]


def test_flow_and_intake_pressure_over_the_frequency_range():
    h = Harness(["vsd1"], calcs=CALCS)
    model = h.feed.models["vsd1"]
    flow_err, pip_err = [], []

    def check(h):
        t = h.feed.truth("vsd1")
        if t["state"] != "running" or t["liquid_rate_bbl_d"] < 100:
            return
        flow_err.append(h.value("W102.CALC.FLOW") / t["liquid_rate_bbl_d"] - 1.0)
        pip_err.append(h.value("W102.CALC.INTAKE_PRESSURE") / t["intake_pressure_psi"] - 1.0)

    for hz in (45.0, 50.0, 55.0, 60.0, 65.0):
        model.apply_write(model.point("FREQUENCY_SP"), hz)
        h.run(1800, step=30, each=check)
    flow = max(abs(e) for e in flow_err)
    pip = max(abs(e) for e in pip_err)
    print(f"\nESP 45-65 Hz: flow error max {100 * flow:.2f} %, intake pressure error max "
          f"{100 * pip:.2f} % ({len(flow_err)} samples)")
    assert len(flow_err) > 200
    assert flow <= 0.10
    assert pip <= 0.05


def with_fluid_level():
    """The reference map with no intake gauge but an acoustic fluid level shot (a
    hypothetical tag fed here from the truth)."""
    cfg = demo_config()
    tags = [t for t in demo_tagmap(cfg) if t.name != "W102.INTAKE_PRESSURE"]
    tags.append(TagDef("W102.FLUID_LEVEL", "vsd1", 2, "hr", 900, "float32", units="ft",
                       well="W102", role="fluid_level"))
    return TagMap(tuple(tags))


def test_intake_pressure_estimated_from_the_fluid_level():
    h = Harness(["vsd1"], calcs=[EspIntake], tagmap=with_fluid_level())
    frame_of = h.feed.frame

    def frame():  # the acoustic instrument's reading, from the simulated well
        f = frame_of()
        k = f.names.index("W102.FLUID_LEVEL") if "W102.FLUID_LEVEL" in f.names else None
        if k is not None:
            f.values[k] = h.feed.truth("vsd1")["fluid_level_ft"]
        return f

    h.feed.names = (*h.feed.names, "W102.FLUID_LEVEL")
    h.feed._rows.append(("W102.FLUID_LEVEL", h.feed.models["vsd1"], ("_FL", 0), False))
    h.feed.frame = frame
    h.run(120, step=10)
    t = h.feed.truth("vsd1")
    pip = h.value("W102.CALC.INTAKE_PRESSURE")
    # the simulated annulus column is gas-cut (0.9 of the liquid gradient): a fluid-level
    # estimate with the plain liquid gradient reads high by about that much
    print(f"\nPIP from the fluid level {pip:.0f} psi vs {t['intake_pressure_psi']:.0f} true")
    assert pip == pytest.approx(t["intake_pressure_psi"], rel=0.12)
    assert h.value("W102.CALC.FLUID_OVER_PUMP") == pytest.approx(t["fluid_above_pump_ft"],
                                                                 rel=0.01)


def test_condition_follows_the_drive():
    h = Harness(["vsd1"], calcs=CALCS)
    h.run(120, step=10)
    assert h.value("W102.CALC.ESP_CONDITION") == 1  # normal
    load = h.value("W102.CALC.MOTOR_LOAD")
    assert 40 < load < 100
    model = h.feed.models["vsd1"]
    model.inject("trip", code="overload")
    h.run(30, step=10)
    assert h.value("W102.CALC.ESP_CONDITION") == 6  # tripped
    model.apply_write(model.point("FAULT_RESET"), 1.0)
    model.inject("sand", factor=2.2, duration_min=30)  # solids load the pump: overload
    h.run(120, step=5)
    codes = []
    h.run(60, step=5, each=lambda h: codes.append(h.value("W102.CALC.ESP_CONDITION")))
    assert 3 in codes or 6 in codes  # overloaded, or already tripped on it
