"""Scan-class timing: ticks on whole seconds of UTC, overruns counted, jitter measured.

A scan class with interval I fires at every UTC instant that is a multiple of I (for
I = 1 s: hh:mm:00.000, :01.000 …; for I = 10 s: :00, :10 …).  Aligned timestamps line
up across devices and gateways and compress better in the historian (delta-of-delta is 0).
A sample's timestamp is the tick it was scheduled for, not when the reply arrived.

If a cycle is still running when its next tick comes, that tick is counted as an overrun
and owed: one cycle (not a queue of stale ones) starts as soon as the running one ends,
stamped with the newest tick it missed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NS = 1_000_000_000


def tick_ns(interval_s: float) -> int:
    return max(1, round(interval_s * NS))


def next_tick(now_ns: int, interval_ns: int) -> int:
    """The first aligned tick strictly after `now_ns`."""
    return (now_ns // interval_ns + 1) * interval_ns


@dataclass
class ScanClock:
    """One scan class on one bus: when it is due, and how late it has been."""

    name: str
    interval_ns: int
    priority: int  # 0 = fastest class: served first between requests
    due_ns: int = 0  # the tick of the cycle waiting to run (0 = none)
    next_ns: int = 0  # the tick after that
    overruns: int = 0
    owed_ns: int = 0  # a tick skipped while busy: its cycle starts as soon as the bus is free
    cycles: int = 0
    jitter_sum_ns: int = field(default=0, repr=False)
    jitter_max_ns: int = 0

    def start(self, now_ns: int) -> None:
        """The first cycle runs on the next whole second, whatever the interval: a tag on
        an hourly scan gets its first value at start, not up to an hour later."""
        self.next_ns = next_tick(now_ns, NS)
        self.due_ns = 0

    def poll(self, now_ns: int, busy: bool) -> int | None:
        """Called often; returns a tick when a new cycle should start now.

        `busy` says the previous cycle of this class has not finished: the tick is then
        counted as an overrun and owed, and the owed cycle starts the moment the previous
        one ends, stamped with the newest tick it missed (an overloaded bus is never left
        idle waiting for the next tick, and timestamps stay aligned).
        """
        if not busy and self.owed_ns:
            tick, self.owed_ns = self.owed_ns, 0
            return self._started(tick, now_ns)
        if now_ns < self.next_ns:
            return None
        tick = self.next_ns
        latest = max(tick, now_ns // self.interval_ns * self.interval_ns)
        missed = (latest - tick) // self.interval_ns  # ticks passed over entirely
        self.next_ns = next_tick(latest, self.interval_ns)
        if busy:
            self.overruns += 1 + missed
            self.owed_ns = latest
            return None
        self.overruns += missed
        return self._started(latest, now_ns)

    def _started(self, tick: int, now_ns: int) -> int:
        self.cycles += 1
        late = max(0, now_ns - tick)
        self.jitter_sum_ns += late
        self.jitter_max_ns = max(self.jitter_max_ns, late)
        return tick

    @property
    def jitter_avg_ms(self) -> float:
        return self.jitter_sum_ns / max(1, self.cycles) / 1e6
