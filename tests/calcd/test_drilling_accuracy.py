"""Drilling results against the simulated rig's ground truth (in-process, simulated clock).

Targets from issue 10: a kick flagged within 2 minutes of the influx start, and no false
kick during connections over a simulated hour (here: fast drilling, so several
connections, and a pit transfer from the reserve pit at the start).
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest

from daemons.calcd.calcs.drilling import DrillingHydraulics, DrillingMechanics, KillSheet
from daemons.calcd.calcs.rigwatch import STATES, RigWatch

from .simfeed import Harness

pytestmark = pytest.mark.timeout(300)
CALCS = [RigWatch, DrillingMechanics, DrillingHydraulics, KillSheet]
NAMES = {c.value: c.name for c in STATES}
# the simulated rig's activities and the rig states that describe them; the simulator
# calls the pick-up before and the ream-down after the slips part of its connection
ACCEPT = {"drilling": {"drilling"}, "connection": {"connection", "reaming", "circulating",
                                                    "drilling"},
          "trip_out": {"tripping_out", "connection"}, "trip_in": {"tripping_in", "connection"},
          "circulating": {"circulating", "reaming"}}


@pytest.fixture(scope="module")
def drilled_hour():
    """An hour of fast drilling (a connection every ~20 minutes), pits low at the start
    so the derrickman transfers from the reserve pit, then a kick while drilling."""
    h = Harness(["rig1"], calcs=CALCS,
                params={"rig1": {"rop_ft_h": 450.0,
                                 "pit_volume_bbl": [60.0, 90.0, 90.0, 150.0]}})
    log: list = []

    def each(h):
        t = h.feed.truth("rig1")
        log.append((h.feed.t, t["activity"], NAMES[int(h.value("D201.CALC.RIG_STATE"))],
                    h.value("D201.CALC.KICK"), h.value("D201.CALC.PIT_GAIN"),
                    h.value("D201.CALC.KICK_SUPPRESSED")))

    h.run(3600, step=2, each=each)
    quiet = list(log)
    # the kick comes while drilling ahead with detection armed (not in a connection or
    # a transfer, which the issue asks to suppress)
    while not (log[-1][2] == "drilling" and all(r[5] == 0.0 for r in log[-30:])):
        h.run(2, step=2, each=each)
    model = h.feed.models["rig1"]
    kick_at = h.feed.t
    model.inject("kick", volume_bbl=20, rate_bbl_min=2)
    log.clear()
    h.run(180, step=2, each=each)
    return h, quiet, log, kick_at


def test_no_false_kick_over_an_hour_with_connections_and_a_transfer(drilled_hour):
    h, quiet, _, _ = drilled_hour
    connections = sum(1 for a, b in pairwise(quiet)
                      if a[1] != "connection" and b[1] == "connection")
    transfers = [e for e in h.feed.truth("rig1")["events"] if "transfer_bbl" in e]
    print(f"\none hour: {connections} connections, {len(transfers)} pit transfer(s), "
          f"kick flags: {sum(r[3] for r in quiet):.0f}")
    assert connections >= 3 and transfers
    assert not any(r[3] for r in quiet)
    ours = [r for r in quiet if r[2] == "connection"]  # pumps off / in slips near bottom
    assert ours and all(r[5] == 1.0 for r in ours)


def test_kick_flagged_within_two_minutes(drilled_hour):
    _, _, log, kick_at = drilled_hour
    first = next(t for t, *rest in log if rest[2] == 1.0)
    print(f"\nkick flagged {first - kick_at:.0f} s after the influx started")
    assert first - kick_at <= 120.0


def test_rig_state_follows_the_rig(drilled_hour):
    _, quiet, _, _ = drilled_hour
    agree = Counter(ours in ACCEPT[truth] for _, truth, ours, *_ in quiet)
    share = agree[True] / len(quiet)
    exact = sum(1 for r in quiet if r[1] == r[2]) / len(quiet)
    print(f"\nrig state: {100 * share:.1f} % consistent, {100 * exact:.1f} % same label")
    assert share >= 0.97


def test_hydraulics_and_kill_sheet_after_a_shut_in(drilled_hour):
    h, _, _, _ = drilled_hour
    t = h.feed.truth("rig1")
    tvd = t["bit_depth_ft"]
    assert h.value("D201.CALC.HYDROSTATIC") == pytest.approx(0.052 * 10.5 * tvd, rel=0.005)
    assert 10.6 < h.value("D201.CALC.ECD") < 11.5  # 0.1-1 ppg of annular friction
    model = h.feed.models["rig1"]
    model.inject("shut_in")
    h.run(300, step=2)
    t = h.feed.truth("rig1")
    sidpp = h.value("D201.CALC.SIDPP")
    assert sidpp == pytest.approx(t["sidpp_psi"], abs=10)
    under = t["kick"]["underbalance_psi"]
    kmw = 10.5 + under / (0.052 * t["bit_depth_ft"])
    print(f"\nkill mud {h.value('D201.CALC.KILL_MUD_WEIGHT'):.2f} ppg vs {kmw:.2f} from the "
          f"true underbalance (gas migrating since the shut-in)")
    assert h.value("D201.CALC.KILL_MUD_WEIGHT") == pytest.approx(kmw, abs=0.1)
    assert h.value("D201.CALC.ICP") == pytest.approx(450.0 + sidpp)
    assert h.value("D201.CALC.FCP") == pytest.approx(
        450.0 * h.value("D201.CALC.KILL_MUD_WEIGHT") / 10.5, rel=0.01)
    assert h.value("D201.CALC.KICK") == 1.0  # shut in: still flagged
    assert h.value("D201.CALC.MAASP") == pytest.approx((14.2 - 10.5) * 0.052 * 6000, rel=0.01)
