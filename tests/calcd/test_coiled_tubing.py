"""Coiled tubing against the simulated unit (in-process, simulated clock): depth, speed,
the weight model and its deviation, lock-up margin, stress, and fatigue per string kept
across jobs (a reload, a restart, another well running the same string)."""

from __future__ import annotations

import numpy as np
import pytest

from daemons.calcd.calcs.coiled_tubing import CtFatigue, CtMechanics
from daemons.core.config import loads_config

from .simfeed import REPO, Harness

pytestmark = pytest.mark.timeout(300)
CALCS = [CtMechanics, CtFatigue]


@pytest.fixture(scope="module")
def one_trip():
    """A whole cleanout trip: run in, wash, circulate, pull out (about 4 h)."""
    h = Harness(["ctu1"], calcs=CALCS)
    log: list = []

    def each(h):
        t = h.feed.truth("ctu1")
        log.append((t["stage"], t["depth_ft"], t["speed_ft_min"], t["weight_lbf"],
                    h.value("W107.CALC.WEIGHT_DEVIATION"), h.value("W107.CALC.DEPTH"),
                    h.value("W107.CALC.SPEED"), h.value("W107.CALC.FATIGUE_USED")))

    while h.feed.truth("ctu1")["reel_trips"] < 1:
        h.run(60, step=5, each=each)
    return h, log


def test_depth_speed_and_weight_against_the_truth(one_trip):
    h, log = one_trip
    depth_err = max(abs(r[5] - r[1]) for r in log)
    moving = [r for r in log if abs(r[2]) > 5]
    speed_err = max(abs(r[6] - r[2]) for r in moving)
    # steady running (the weight model is for a direction of travel, not for the seconds
    # in which the injector reverses)
    steady = [r for r in log if abs(r[2]) > 10.0]
    dev = np.array([r[4] for r in steady])
    share = max(abs(r[4]) / max(abs(r[3]), 1.0) for r in steady if abs(r[3]) > 5000)
    print(f"\none trip: depth within {depth_err:.2f} ft, speed within {speed_err:.2f} ft/min, "
          f"weight deviation within {abs(dev).max():.0f} lbf ({100 * share:.1f} % of the "
          "weight; the simulator ignores the capstan effect of the build)")
    assert depth_err < 1.0 and speed_err < 2.0
    assert abs(dev).max() < 1500.0
    assert h.value("W107.CALC.LOCKUP_MARGIN") >= 0.0
    assert 0.0 < h.value("W107.CALC.VME_UTILISATION") < 60.0


def test_extra_drag_shows_as_a_weight_deviation():
    h = Harness(["ctu1"], calcs=[CtMechanics])
    h.run(2400, step=5)  # running in, about 3,000 ft
    assert abs(h.value("W107.CALC.WEIGHT_DEVIATION")) < 1000.0
    h.feed.models["ctu1"].inject("drag", extra_lbf=3000.0)
    h.run(60, step=5)
    assert h.value("W107.CALC.WEIGHT_DEVIATION") < -2500.0  # slack-off short of the model


def test_fatigue_accumulates_per_trip_and_follows_the_string(one_trip):
    h, _ = one_trip
    used = h.value("W107.CALC.FATIGUE_USED")
    calc = next(g.calc for g in h.engine.groups if isinstance(g.calc, CtFatigue))
    damage = calc.damage[0]
    passes = calc._damage  # per pass at 0 psi is the floor of every pass
    per_pass_floor = 100.0 * passes(_batch_of(h, CtFatigue), 0, 0.0)
    deep = damage[: int(8000 / 50)]  # went in and came out: two passes or more
    assert (100.0 * deep >= 2 * per_pass_floor * 0.999).all()
    assert used == pytest.approx(100.0 * damage.max())
    assert 0.1 < used < 5.0  # a few tenths of a per cent per trip: hundreds of trips
    state = h.engine.export_state()
    assert ("coiled_tubing.fatigue", "string:CT-1750-0001") in state
    # the same string on another well (a config where W107 runs it under another id is
    # a new string; the same id carries the damage over)
    again = Harness(["ctu1"], calcs=CALCS)
    again.engine.import_state(state)
    again.run(10, step=5)
    assert again.value("W107.CALC.FATIGUE_USED") >= used
    text = (REPO / "config" / "gateway.toml").read_text().replace(
        'ct_string_id = "CT-1750-0001"', 'ct_string_id = "CT-NEW"')
    fresh = Harness(["ctu1"], calcs=CALCS, config=loads_config(text, "g.toml"))
    fresh.engine.import_state(state)
    fresh.run(10, step=5)
    assert fresh.value("W107.CALC.FATIGUE_USED") < 0.1 * used  # a few feet of a new string
    assert ("coiled_tubing.fatigue", "string:CT-1750-0001") in fresh.engine.export_state()


def _batch_of(h: Harness, cls: type):
    """A Batch of one calculation over the harness's current frame (for its helpers)."""
    from daemons.calcd import quality as qm
    from daemons.calcd.batch import Batch

    g = next(g for g in h.engine.groups if isinstance(g.calc, cls))
    frame = h.feed.frame()
    h.engine.attach(frame.names)
    values = np.append(frame.values, np.nan)
    ts = np.append(frame.ts_ns, 0)
    quality = np.append(frame.quality, qm.WAITING).astype(np.uint32)
    return Batch(g.calc.DEF, g.calc.wells, 0, g.idx, g.mapped, g.params, g.out_slots, frame,
                 values, ts, quality, h.engine.outputs, 0)
