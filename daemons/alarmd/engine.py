"""The evaluation engine: every alarm of a set evaluated at once over numpy arrays.

Pure: values, qualities and the time come in as arguments (tests inject the clock), the
transitions go out; alarmd journals and publishes them.  Per tick the cost is a handful
of array operations over all alarms; only `suppress_when` conditions (one evaluation per
distinct text) and the alarms that actually change state touch Python objects.

Rules (docs/alarms.md):
- limit types raise at the limit (>= for hi/hihi, <= for lo/lolo) and clear only past
  the limit by `deadband`;
- a Bad input holds the condition as it was (a `quality` alarm reports the Bad itself);
- `on_delay` / `off_delay`: the condition must hold (be gone) that many seconds, measured
  from the first evaluation that saw it, before the alarm is raised (cleared);
- an alarm raised while out of service, shelved or suppressed is not annunciated; when it
  comes back into view still active it must be acknowledged like a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from daemons.alarmd.states import (
    ACKED,
    NORMAL,
    OUT_OF_SERVICE,
    RTN_UNACK,
    SHELVED,
    SUPPRESSED,
    UNACK,
    SavedState,
    Transition,
)
from daemons.core.alarms import AlarmDef, AlarmSet, evaluate

_KIND = {"hihi": 0, "hi": 0, "lo": 1, "lolo": 1, "deviation": 2, "roc": 3, "state": 4,
         "quality": 5, "event": 6}


@dataclass(frozen=True, slots=True)
class AlarmStatus:
    """One alarm as the list and the HMI show it."""

    alarm: AlarmDef
    state: int
    value: float
    limit: float
    since: float
    active: bool
    acked: bool
    shelved_until: float
    out_of_service: bool
    first_out: bool
    acked_by: str


class Engine:
    """All alarms of one AlarmSet; `inputs` are the tags to pass to `evaluate`, in order."""

    def __init__(self, alarms: AlarmSet, saved: Mapping[str, SavedState] | None = None) -> None:
        self.alarms = alarms.alarms
        self.ids = tuple(a.id for a in self.alarms)
        self.by_id = {a.id: a for a in self.alarms}
        self._pos = {i: n for n, i in enumerate(self.ids)}
        tags: dict[str, int] = {}
        for a in self.alarms:
            for t in a.inputs():
                tags.setdefault(t, len(tags))
        self.inputs = tuple(tags)
        self.input_index = tags  # tag -> position in `inputs`
        n = len(self.alarms)
        self.src = np.array([tags[a.tag] for a in self.alarms], dtype=np.intp)
        self.kind = np.array([_KIND[a.type] for a in self.alarms], dtype=np.int8)
        self.limit_idx = np.array([tags[a.limit_tag] if a.limit_tag else -1
                                   for a in self.alarms], dtype=np.intp)
        nan = float("nan")
        self.limit_const = np.array([nan if a.limit is None else a.limit for a in self.alarms])
        # hi-type: sign +1 (value above), lo-type: -1; deviation band as the limit.
        self.band = np.array([a.band or 0.0 for a in self.alarms])
        self.sign = np.array([-1.0 if a.type in ("lo", "lolo") else 1.0 for a in self.alarms])
        self.deadband = np.array([a.deadband for a in self.alarms])
        self.on_delay = np.array([a.on_delay for a in self.alarms])
        self.off_delay = np.array([a.off_delay for a in self.alarms])
        self.event_any = np.array([a.type == "event" and a.limit is None for a in self.alarms])
        conditions: dict[str, int] = {}
        self.cond_idx = np.array([conditions.setdefault(a.suppress_when, len(conditions))
                                  if a.condition is not None else -1 for a in self.alarms],
                                 dtype=np.intp)
        self._conditions = [next(a.condition for a in self.alarms if a.suppress_when == text)
                            for text in conditions]
        groups: dict[str, int] = {}
        self.group = np.array([groups.setdefault(a.group, len(groups)) if a.group else -1
                               for a in self.alarms], dtype=np.intp)
        self.group_names = tuple(groups)
        # Per-alarm state.
        self.raw = np.zeros(n, dtype=bool)
        self.active = np.zeros(n, dtype=bool)
        self.acked = np.ones(n, dtype=bool)
        self.shelved_until = np.zeros(n)
        self.oos = np.zeros(n, dtype=bool)
        self.suppressed = np.zeros(n, dtype=bool)
        self.pending = np.full(n, nan)  # when the condition was first seen (on-delay)
        self.clearing = np.full(n, nan)  # when it was first seen gone (off-delay)
        self.value = np.full(n, nan)
        self.limit = self.limit_const.copy()
        self.since = np.zeros(n)
        self.prev_v = np.full(n, nan)  # roc: the last sample and its time
        self.prev_t = np.full(n, nan)
        self.first_out = np.zeros(n, dtype=bool)
        self.state = np.zeros(n, dtype=np.int8)
        self.acked_by = [""] * n  # who acknowledged the current activation
        for aid, s in (saved or {}).items():
            i = self._pos.get(aid)
            if i is not None:
                self.active[i], self.raw[i], self.acked[i] = s.active, s.active, s.acked
                self.shelved_until[i], self.oos[i], self.since[i] = (s.shelved_until,
                                                                     s.out_of_service, s.since)
                self.acked_by[i] = s.acked_by if s.acked else ""
                self.suppressed[i] = s.suppressed
        self.state = self._states(0.0)

    # --- evaluation ---------------------------------------------------------------------

    def _condition(self, now: float, values: np.ndarray, good: np.ndarray,
                   ts: np.ndarray | None, known: np.ndarray | None) -> np.ndarray:
        v = values[self.src]
        ok = good[self.src]
        li = self.limit_idx
        has_tag = li >= 0
        limit = self.limit_const.copy()
        limit[has_tag] = values[li[has_tag]]
        ok = ok & np.where(has_tag, good[np.maximum(li, 0)], True)
        kind = self.kind
        with np.errstate(invalid="ignore"):
            # Distance past the limit in the alarm's direction (>= 0 means over the limit).
            over = np.where(kind == 2, np.abs(v - limit) - self.band, self.sign * (v - limit))
            t = now if ts is None else ts[self.src]
            dt = t - self.prev_t
            new = ok & ~(dt <= 0)  # a sample not seen before (the first one: dt is NaN)
            fresh = new & (dt > 0)  # … with an earlier one to take a rate from
            rate = np.where(fresh, np.abs(v - self.prev_v) / np.where(fresh, dt, 1.0) * 60.0,
                            np.nan)
            over = np.where(kind == 3, rate - limit, over)
            raised = over >= 0
            held = over > -self.deadband  # still inside the deadband: stays active
            cond = np.where(self.raw, held, raised)
            cond = np.where(kind == 4, v == limit, cond)
            cond = np.where(kind == 6, np.where(self.event_any, v != 0, v == limit), cond)
        # roc keeps its last rate until a new sample arrives.
        roc = kind == 3
        cond = np.where(roc & ~fresh, self.raw, cond)
        upd = roc & new
        self.prev_v[upd], self.prev_t[upd] = v[upd], np.broadcast_to(t, v.shape)[upd]
        cond = np.where(ok, cond, self.raw)
        cond = np.where(kind == 5, ~good[self.src], cond)
        if known is not None:
            # Never written yet (a daemon starting): no news, not a communication loss.
            cond = np.where(known[self.src], cond, self.raw)
        self.value = v
        self.limit = limit
        return cond

    def _states(self, now: float) -> np.ndarray:
        return np.select(
            [self.oos, self.shelved_until > now, self.suppressed,
             self.active & ~self.acked, self.active, ~self.acked],
            [OUT_OF_SERVICE, SHELVED, SUPPRESSED, UNACK, ACKED, RTN_UNACK],
            NORMAL).astype(np.int8)

    def evaluate(self, now: float, values: np.ndarray, good: np.ndarray,
                 ts: np.ndarray | None = None, known: np.ndarray | None = None
                 ) -> list[Transition]:
        """One tick: `values`/`good` (optionally sample times `ts` in seconds, and `known`:
        False for inputs never written yet, which hold every condition) per input."""
        values = np.asarray(values, dtype=float)
        good = np.asarray(good, dtype=bool)
        raw = self._condition(now, values, good, ts, known)
        self.raw = raw
        # on/off delays, measured from the first tick that saw the change.
        self.pending = np.where(raw & ~self.active, np.fmin(self.pending, now), np.nan)
        self.clearing = np.where(~raw & self.active, np.fmin(self.clearing, now), np.nan)
        rise = ~self.active & raw & (now - self.pending >= self.on_delay)
        fall = self.active & ~raw & (now - self.clearing >= self.off_delay)
        started = np.where(rise, self.pending, np.nan)
        self.active = (self.active | rise) & ~fall
        self.pending[rise] = np.nan
        self.clearing[fall] = np.nan
        self._suppress(values, good)
        expired = (self.shelved_until > 0) & (self.shelved_until <= now)
        self.shelved_until[expired] = 0.0
        hidden = self.oos | (self.shelved_until > now) | self.suppressed
        was_hidden = np.isin(self.state, (SHELVED, SUPPRESSED, OUT_OF_SERVICE))
        # A new activation, or an active alarm coming back into view, needs an ack; a
        # hidden alarm is not outstanding.
        acked = np.where(hidden, True,
                         np.where(self.active & (rise | was_hidden), False, self.acked))
        for i in np.flatnonzero(self.acked & ~acked):
            self.acked_by[i] = ""
        self.acked = acked
        self._first_out(rise & ~hidden, started, hidden)
        return self._commit(now, self._states(now), expired)

    def _suppress(self, values: np.ndarray, good: np.ndarray) -> None:
        if not self._conditions:
            return
        pos = self.input_index

        def lookup(tag: str) -> float | None:
            i = pos.get(tag)
            return float(values[i]) if i is not None and good[i] else None

        held = np.array([evaluate(c, lookup) for c in self._conditions] + [False])
        self.suppressed = held[self.cond_idx]  # index -1 reads the trailing False

    def _first_out(self, raised: np.ndarray, started: np.ndarray, hidden: np.ndarray) -> None:
        grouped = self.group >= 0
        # A group resets once none of its alarms is in view and active or waiting for an
        # ack; until then a later alarm of the group is not the first out.
        busy = np.zeros(len(self.group_names) + 1, dtype=bool)
        np.logical_or.at(busy, self.group[grouped],
                         ((self.active & ~hidden) | ~self.acked)[grouped] & ~raised[grouped])
        self.first_out &= busy[self.group]
        new = np.flatnonzero(raised & grouped)
        for g in np.unique(self.group[new]):
            if busy[g] or self.first_out[self.group == g].any():
                continue
            members = new[self.group[new] == g]
            # Several in one tick: the one whose condition appeared first.
            first = members[np.argmin(started[members])]  # ties: the file's order
            self.first_out[first] = True

    def _commit(self, now: float, state: np.ndarray, expired: np.ndarray,
                action: str = "eval", user: str = "", comment: str = "") -> list[Transition]:
        changed = np.flatnonzero((state != self.state) | expired)
        out = [Transition(self.ids[i], now, int(self.state[i]), int(state[i]),
                          float(self.value[i]), bool(self.active[i]), bool(self.acked[i]),
                          float(self.shelved_until[i]), bool(self.oos[i]),
                          "expire" if expired[i] and action == "eval" else action, user,
                          comment, bool(self.first_out[i]))
               for i in changed]
        self.since[changed] = now
        self.state = state
        return out

    # --- operator actions ---------------------------------------------------------------

    def index(self, alarm_id: str) -> int:
        """The alarm with this id (case-insensitive); KeyError when there is none."""
        if alarm_id in self._pos:
            return self._pos[alarm_id]
        folded = [i for a, i in self._pos.items() if a.casefold() == alarm_id.casefold()]
        if len(folded) != 1:
            raise KeyError(alarm_id)
        return folded[0]

    def _act(self, i: int, now: float, action: str, user: str, comment: str
             ) -> list[Transition]:
        none = np.zeros(len(self.ids), dtype=bool)
        state = self._states(now)
        if state[i] == self.state[i]:
            return []
        return self._commit(now, state, none, action, user, comment)

    def ack(self, alarm_id: str, now: float, user: str = "", comment: str = ""
            ) -> list[Transition]:
        """Acknowledge; [] when there is nothing to acknowledge."""
        i = self.index(alarm_id)
        if self.state[i] not in (UNACK, RTN_UNACK):
            return []
        self.acked[i] = True
        self.acked_by[i] = user
        return self._act(i, now, "ack", user, comment)

    def shelve(self, alarm_id: str, now: float, seconds: float, user: str = "",
               comment: str = "") -> list[Transition]:
        i = self.index(alarm_id)
        self.shelved_until[i] = now + seconds
        self.acked[i] = True
        return self._act(i, now, "shelve", user, comment)

    def unshelve(self, alarm_id: str, now: float, user: str = "", comment: str = ""
                 ) -> list[Transition]:
        i = self.index(alarm_id)
        if self.shelved_until[i] == 0:
            return []
        self.shelved_until[i] = 0.0
        if self.active[i] and not (self.oos[i] or self.suppressed[i]):
            self.acked[i] = False
        return self._act(i, now, "unshelve", user, comment)

    def set_out_of_service(self, alarm_id: str, now: float, out: bool, user: str = "",
                           comment: str = "") -> list[Transition]:
        i = self.index(alarm_id)
        if bool(self.oos[i]) == out:
            return []
        self.oos[i] = out
        self.acked[i] = True if out else not (self.active[i] and not self.suppressed[i]
                                               and self.shelved_until[i] <= now)
        return self._act(i, now, "disable" if out else "enable", user, comment)

    # --- views ----------------------------------------------------------------------------

    def status(self) -> list[AlarmStatus]:
        return [AlarmStatus(a, int(self.state[i]), float(self.value[i]), float(self.limit[i]),
                            float(self.since[i]), bool(self.active[i]), bool(self.acked[i]),
                            float(self.shelved_until[i]), bool(self.oos[i]),
                            bool(self.first_out[i]), self.acked_by[i])
                for i, a in enumerate(self.alarms)]

    def saved(self) -> dict[str, SavedState]:
        return {aid: SavedState(bool(self.active[i]), bool(self.acked[i]),
                                float(self.shelved_until[i]), bool(self.oos[i]),
                                float(self.since[i]), self.acked_by[i],
                                bool(self.suppressed[i]))
                for i, aid in enumerate(self.ids)}

    def reload(self, alarms: AlarmSet) -> Engine:
        """A new engine for a new set, keeping the state of every unchanged alarm."""
        old = {a.id: a for a in self.alarms}
        saved = self.saved()
        keep = {a.id: saved[a.id] for a in alarms.alarms
                if a.id in old and old[a.id].same_definition(a)}
        return Engine(alarms, keep)
