"""The evaluation engine with an injected clock: expected-result cases per rule."""

import math

import numpy as np
import pytest

from daemons.alarmd.engine import Engine
from daemons.alarmd.states import STATE_NAMES, SavedState
from daemons.core.alarms import AlarmDef, AlarmSet, parse_condition


def alarm(tag="W1.P", type="hi", priority="high", **kw):
    if "suppress_when" in kw:
        kw["condition"] = parse_condition(kw["suppress_when"])
    return AlarmDef(tag, type, priority, **kw)


class Site:
    """An engine and the current values of its inputs (NaN / missing = Bad)."""

    def __init__(self, *alarms, saved=None):
        self.engine = Engine(AlarmSet(tuple(alarms)), saved)
        self.values = {}

    def step(self, now, **values):
        self.values.update({k.replace("_", "."): v for k, v in values.items()})
        vals = np.array([self.values.get(t, math.nan) for t in self.engine.inputs])
        good = ~np.isnan(vals)
        return [(t.alarm_id, t.new_name) for t in self.engine.evaluate(now, vals, good)]

    def state(self, i=0):
        return STATE_NAMES[self.engine.state[i]]


def run(site, script):
    """script: (time, {tag: value}, expected state of alarm 0) rows."""
    for now, values, expected in script:
        site.step(now, **values)
        assert site.state() == expected, (now, values)


@pytest.mark.parametrize(("kind", "limit", "script"), [
    ("hi", 100.0, [(0, 99.9, "normal"), (1, 100.0, "unacknowledged"),
                   (2, 95.1, "unacknowledged"), (3, 95.0, "rtn_unacknowledged")]),
    ("hihi", 100.0, [(0, 101, "unacknowledged"), (1, 94, "rtn_unacknowledged")]),
    ("lo", 10.0, [(0, 10.1, "normal"), (1, 10.0, "unacknowledged"), (2, 14.9, "unacknowledged"),
                  (3, 15.0, "rtn_unacknowledged")]),
    ("lolo", 10.0, [(0, 5, "unacknowledged"), (1, 16, "rtn_unacknowledged")]),
])
def test_limits_with_deadband_at_the_boundary(kind, limit, script):
    site = Site(alarm(type=kind, limit=limit, deadband=5.0))
    run(site, [(t, {"W1_P": v}, s) for t, v, s in script])


def test_setpoint_tag_limit_and_deviation():
    site = Site(alarm(type="hi", limit_tag="W1.SP"),
                alarm(tag="W1.F", type="deviation", limit_tag="W1.FSP", band=10.0, deadband=2))
    assert site.step(0, W1_P=5, W1_SP=6, W1_F=100, W1_FSP=110) == [("W1.F:deviation",
                                                                   "unacknowledged")]
    assert site.step(1, W1_SP=4, W1_F=101.9) == [("W1.P:hi", "unacknowledged")]
    assert site.step(2, W1_F=102) == [("W1.F:deviation", "rtn_unacknowledged")]
    assert site.step(3, W1_F=88) == [("W1.F:deviation", "unacknowledged")]


def test_rate_of_change_per_minute_from_sample_times():
    site = Site(alarm(type="roc", limit=60.0))  # 60 units/min = 1 unit/s
    vals = lambda v: (np.array([v]), np.array([True]))  # noqa: E731
    e = site.engine
    assert e.evaluate(0, *vals(0.0), ts=np.array([0.0])) == []
    assert e.evaluate(1, *vals(0.5), ts=np.array([1.0])) == []  # 30/min
    (t,) = e.evaluate(2, *vals(1.5), ts=np.array([2.0]))  # 60/min: at the limit
    assert t.new_name == "unacknowledged"
    assert e.evaluate(3, *vals(1.5), ts=np.array([2.0])) == []  # no new sample: holds
    (t,) = e.evaluate(4, *vals(1.5), ts=np.array([4.0]))
    assert t.new_name == "rtn_unacknowledged"


def test_state_event_and_quality():
    site = Site(alarm(tag="W1.TRIP", type="state", limit=1.0),
                alarm(tag="W1.CALC.KICK", type="event"),
                alarm(tag="W1.CALC.COND", type="event", limit=2.0),
                alarm(tag="W1.THP", type="quality", on_delay=10))
    assert site.step(0, W1_TRIP=0, W1_CALC_KICK=0, W1_CALC_COND=1, W1_THP=5) == []
    got = site.step(1, W1_TRIP=1, W1_CALC_KICK=3, W1_CALC_COND=2, W1_THP=math.nan)
    assert [a for a, _ in got] == ["W1.TRIP:state", "W1.CALC.KICK:event", "W1.CALC.COND:event"]
    assert site.step(10.9) == []
    assert site.step(11) == [("W1.THP:quality", "unacknowledged")]
    assert site.step(12, W1_THP=7) == [("W1.THP:quality", "rtn_unacknowledged")]


def test_inputs_never_written_hold_even_quality_alarms():
    e = Engine(AlarmSet((alarm(type="quality"),)))
    nan = np.array([math.nan])
    assert e.evaluate(0, nan, np.array([False]), known=np.array([False])) == []
    (t,) = e.evaluate(1, nan, np.array([False]), known=np.array([True]))
    assert t.new_name == "unacknowledged"


def test_bad_input_holds_the_condition():
    site = Site(alarm(limit=10.0))
    run(site, [(0, {"W1_P": 11}, "unacknowledged"), (1, {"W1_P": math.nan}, "unacknowledged"),
               (2, {"W1_P": 1}, "rtn_unacknowledged"), (3, {"W1_P": math.nan},
                                                        "rtn_unacknowledged")])


def test_on_and_off_delays_at_the_boundary():
    site = Site(alarm(limit=10.0, on_delay=5, off_delay=3))
    run(site, [(0, {"W1_P": 11}, "normal"), (4.9, {}, "normal"), (5, {}, "unacknowledged"),
               (6, {"W1_P": 1}, "unacknowledged"), (8.9, {}, "unacknowledged"),
               (9, {}, "rtn_unacknowledged")])


def test_chattering_inside_the_delay_never_raises():
    site = Site(alarm(limit=10.0, on_delay=5))
    for t in range(20):
        site.step(t, W1_P=11 if t % 2 == 0 else 9)
        assert site.state() == "normal"


def test_acknowledgement_paths():
    site = Site(alarm(limit=10.0))
    site.step(0, W1_P=11)
    e = site.engine
    (t,) = e.ack("w1.p:HI", 1, "ana", "seen")
    assert (t.new_name, t.action, t.user, t.comment, t.acked) == ("acknowledged", "ack", "ana",
                                                                  "seen", True)
    assert e.ack("W1.P:hi", 2) == []  # nothing left to acknowledge
    assert site.step(3, W1_P=1) == [("W1.P:hi", "normal")]  # acked, then cleared
    site.step(4, W1_P=11)
    site.step(5, W1_P=1)
    assert site.state() == "rtn_unacknowledged"
    (t,) = e.ack("W1.P:hi", 6)
    assert t.new_name == "normal"
    with pytest.raises(KeyError):
        e.ack("W9.X:hi", 7)


def test_shelving_expires_and_reannunciates():
    site = Site(alarm(limit=10.0))
    site.step(0, W1_P=11)
    e = site.engine
    (t,) = e.shelve("W1.P:hi", 1, 60, "ana", "known leak")
    assert (t.new_name, t.shelved_until) == ("shelved", 61)
    assert site.step(60.9) == []
    got = site.engine.evaluate(61, np.array([11.0]), np.array([True]))
    assert [(x.new_name, x.action) for x in got] == [("unacknowledged", "expire")]


def test_shelved_alarm_that_cleared_returns_to_normal_and_unshelve():
    site = Site(alarm(limit=10.0))
    site.step(0, W1_P=11)
    site.engine.shelve("W1.P:hi", 1, 60)
    site.step(2, W1_P=1)
    assert site.step(61) == [("W1.P:hi", "normal")]
    site.engine.shelve("W1.P:hi", 62, 60)
    site.step(63, W1_P=12)
    (t,) = site.engine.unshelve("W1.P:hi", 64)
    assert t.new_name == "unacknowledged"


def test_out_of_service():
    site = Site(alarm(limit=10.0))
    (t,) = site.engine.set_out_of_service("W1.P:hi", 0, True, "ana", "sensor replaced")
    assert t.new_name == "out_of_service"
    assert site.step(1, W1_P=11) == []
    (t,) = site.engine.set_out_of_service("W1.P:hi", 2, False)
    assert t.new_name == "unacknowledged"


def test_suppression_by_design_pump_off():
    site = Site(alarm(tag="W1.CURRENT", type="lo", limit=5.0,
                      suppress_when="W1.PUMPED_OFF or W1.RUNNING == 0"))
    assert site.step(0, W1_CURRENT=20, W1_PUMPED_OFF=0, W1_RUNNING=1) == []
    # The POC stops the well: current falls, the alarm is suppressed, never raised.
    assert site.step(1, W1_CURRENT=0, W1_PUMPED_OFF=1, W1_RUNNING=0) == [
        ("W1.CURRENT:lo", "suppressed")]
    assert site.step(2) == []
    # Unreadable condition fails open: the low current alarms.
    assert site.step(3, W1_PUMPED_OFF=math.nan, W1_RUNNING=math.nan) == [
        ("W1.CURRENT:lo", "unacknowledged")]
    site.step(4, W1_PUMPED_OFF=1, W1_RUNNING=0)
    assert site.state() == "suppressed"
    assert site.step(5, W1_CURRENT=20, W1_PUMPED_OFF=0, W1_RUNNING=1) == [
        ("W1.CURRENT:lo", "normal")]


def test_first_out_per_group():
    site = Site(alarm(tag="A.P", limit=10.0, group="TRIP", on_delay=2),
                alarm(tag="B.P", limit=10.0, group="TRIP"),
                alarm(tag="C.P", limit=10.0, group="TRIP"),
                alarm(tag="D.P", limit=10.0, group="OTHER"))
    e = site.engine
    site.step(0, A_P=11, B_P=0, C_P=0, D_P=11)
    site.step(1, B_P=11)
    got = site.step(2, C_P=11)  # A's on-delay ends with C's raise: A started first
    assert sorted(a for a, _ in got) == ["A.P:hi", "C.P:hi"]
    first = dict(zip(e.ids, e.first_out, strict=True))
    assert first == {"A.P:hi": False, "B.P:hi": True, "C.P:hi": False, "D.P:hi": True}
    # Reset: every alarm of the group clear and acknowledged, then a new trip.
    site.step(3, A_P=0, B_P=0, C_P=0)
    for aid in ("A.P:hi", "B.P:hi", "C.P:hi"):
        e.ack(aid, 4)
    site.step(5, A_P=11, C_P=11)
    site.step(7)
    assert list(e.first_out[:3]) == [False, False, True]


def test_ties_in_one_tick_go_by_start_then_file_order():
    site = Site(alarm(tag="A.P", limit=10.0, group="G", on_delay=1),
                alarm(tag="B.P", limit=10.0, group="G"))
    site.step(0, A_P=11, B_P=0)
    site.step(1, B_P=11)
    assert list(site.engine.first_out) == [True, False]


def test_restore_and_reload_keep_state():
    a, b = alarm(limit=10.0), alarm(tag="W1.Q", limit=5.0)
    site = Site(a, b)
    site.step(0, W1_P=11, W1_Q=6)
    site.engine.ack("W1.P:hi", 1, "ana")
    site.engine.shelve("W1.Q:hi", 2, 600)
    saved = site.engine.saved()
    assert saved["W1.P:hi"] == SavedState(True, True, 0.0, False, 1.0, "ana", False)
    again = Site(a, b, saved=saved)
    assert [STATE_NAMES[s] for s in again.engine.state] == ["acknowledged", "shelved"]
    assert again.step(3, W1_P=11, W1_Q=6) == []  # still active: no new annunciation
    changed = alarm(tag="W1.Q", limit=7.0)
    reloaded = again.engine.reload(AlarmSet((a, changed)))
    assert [STATE_NAMES[s] for s in reloaded.state] == ["acknowledged", "normal"]


def test_many_alarms_vectorised():
    n = 10_000
    alarms = tuple(alarm(tag=f"W{i}.P", type=("hi", "lo", "roc", "event")[i % 4],
                         limit=None if i % 4 == 3 else 10.0, deadband=1.0)
                   for i in range(n))
    e = Engine(AlarmSet(alarms))
    values = np.full(len(e.inputs), 11.0)
    good = np.ones(len(e.inputs), dtype=bool)
    got = e.evaluate(0, values, good)
    assert len(got) == n // 2  # hi and event raise; lo does not; roc has no rate yet


def test_suppressed_state_survives_restart_and_reload_without_new_transitions():
    a = alarm(tag="W1.I", type="lo", limit=5.0, suppress_when="W1.OFF")
    site = Site(a)
    assert site.step(0, W1_I=0, W1_OFF=1) == [("W1.I:lo", "suppressed")]
    again = Site(a, saved=site.engine.saved())
    assert again.state() == "suppressed"
    assert again.step(1, W1_I=0, W1_OFF=1) == []
    reloaded = again.engine.reload(AlarmSet((a,)))
    assert STATE_NAMES[reloaded.state[0]] == "suppressed"
