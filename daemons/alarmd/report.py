"""Alarm-system performance (ISA-18.2 §16 / EEMUA 191) from the alarm journal.

An *activation* is a journal row whose new state is `unacknowledged` (a new annunciation:
raised, or still active when it came back from shelving, suppression or out of service).

- rate per 10 minutes and per hour: average over the period and the worst window;
- flood periods: fixed 10-minute windows (aligned to UTC) with more than 10 activations,
  consecutive ones merged;
- standing alarms: active now and active for more than 24 h;
- chattering alarms: 3 or more activations within 60 s;
- top 10 bad actors: the alarms with most activations.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

FLOOD_WINDOW_S = 600.0
FLOOD_COUNT = 10  # "more than 10 alarms in 10 minutes"
STANDING_S = 86_400.0
CHATTER_WINDOW_S = 60.0
CHATTER_COUNT = 3
TOP = 10


def _windows(times: Sequence[float], width: float) -> Counter[int]:
    return Counter(int(t // width) for t in times)


def report(rows: Sequence[dict[str, Any]], since: float, now: float) -> dict[str, Any]:
    """The figures for journal `rows` (all of them, oldest first) over [since, now]."""
    period = max(now - since, 1.0)
    acts = [r for r in rows if r["new"] == "unacknowledged" and r["at"] >= since]
    times = [r["at"] for r in acts]
    per10 = _windows(times, FLOOD_WINDOW_S)
    per_hour = _windows(times, 3600.0)
    floods: list[dict[str, Any]] = []
    for w in sorted(k for k, n in per10.items() if n > FLOOD_COUNT):
        start = w * FLOOD_WINDOW_S
        if floods and floods[-1]["end"] == start:
            floods[-1]["end"] = start + FLOOD_WINDOW_S
            floods[-1]["alarms"] += per10[w]
        else:
            floods.append({"start": start, "end": start + FLOOD_WINDOW_S, "alarms": per10[w]})
    by_alarm: dict[str, list[float]] = defaultdict(list)
    for r in acts:
        by_alarm[r["alarm_id"]].append(r["at"])
    chattering = []
    for aid, ts in sorted(by_alarm.items()):
        worst = max(sum(1 for u in ts[i:] if u - t < CHATTER_WINDOW_S) for i, t in enumerate(ts))
        if worst >= CHATTER_COUNT:
            chattering.append({"id": aid, "activations_in_a_minute": worst})
    last: dict[str, dict[str, Any]] = {}
    raised: dict[str, float] = {}
    for r in rows:
        if r["active"] and not last.get(r["alarm_id"], {}).get("active"):
            raised[r["alarm_id"]] = r["at"]
        last[r["alarm_id"]] = r
    standing = [{"id": aid, "since": raised[aid], "hours": round((now - raised[aid]) / 3600, 1)}
                for aid, r in sorted(last.items())
                if r["active"] and aid in raised and now - raised[aid] > STANDING_S]
    top = Counter(r["alarm_id"] for r in acts).most_common(TOP)
    return {
        "since": since, "until": now, "activations": len(acts),
        "per_10_minutes": {"average": round(len(acts) / (period / FLOOD_WINDOW_S), 2),
                           "max": max(per10.values(), default=0)},
        "per_hour": {"average": round(len(acts) / (period / 3600.0), 2),
                     "max": max(per_hour.values(), default=0)},
        "flood_periods": floods,
        "time_in_flood_pct": round(100 * sum(f["end"] - f["start"] for f in floods) / period, 2),
        "standing": standing,
        "chattering": chattering,
        "bad_actors": [{"id": aid, "activations": n} for aid, n in top],
    }
