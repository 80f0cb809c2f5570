"""Alarm-system performance figures from journal rows (expected results by hand)."""

from daemons.alarmd.report import report

H = 3600.0


def row(at, aid, new="unacknowledged", active=True):
    return {"at": at, "alarm_id": aid, "new": new, "active": int(active)}


def test_rates_floods_standing_chattering_bad_actors():
    now = 30 * H
    rows = [row(0.0, "OLD:hi")]  # raised 30 h ago, still active: standing
    # A flood: 12 activations in the 10-minute window starting at 10 h, 11 in the next.
    rows += [row(10 * H + i, f"F{i}:hi") for i in range(12)]
    rows += [row(10 * H + 600 + i * 10, f"G{i}:hi") for i in range(11)]
    # Chattering: CH raised 3 times within 50 s (clearing in between), then once more later.
    for t in (20 * H, 20 * H + 20, 20 * H + 49, 21 * H):
        rows += [row(t, "CH:lo"), row(t + 5, "CH:lo", "rtn_unacknowledged", active=False)]
    rows += [row(25 * H, "NEW:hi")]  # active for 5 h: not standing
    rows.sort(key=lambda r: r["at"])
    r = report(rows, since=now - 24 * H, now=now)
    assert r["activations"] == 12 + 11 + 4 + 1  # OLD is before the period
    assert r["per_10_minutes"]["max"] == 12 and r["per_hour"]["max"] == 23
    assert r["per_hour"]["average"] == round(28 / 24, 2)
    assert r["flood_periods"] == [{"start": 10 * H, "end": 10 * H + 1200, "alarms": 23}]
    assert r["time_in_flood_pct"] == round(100 * 1200 / (24 * H), 2)
    assert r["standing"] == [{"id": "OLD:hi", "since": 0.0, "hours": 30.0}]
    assert r["chattering"] == [{"id": "CH:lo", "activations_in_a_minute": 3}]
    assert r["bad_actors"][0] == {"id": "CH:lo", "activations": 4}
    assert len(r["bad_actors"]) == 10


def test_empty_journal():
    r = report([], since=0.0, now=H)
    assert r["activations"] == 0 and r["per_hour"] == {"average": 0.0, "max": 0}
    assert r["flood_periods"] == [] and r["bad_actors"] == []
