"""Live alarm-flood detection (EEMUA 191: more than 10 alarms in 10 minutes).

Fed with every transition; an activation is a transition to `unacknowledged`.  The
flood flag and the summary counts are published in alarm.ring as site tags, so the HMI
can switch to its flood view (first-out and priority first) while it lasts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from daemons.alarmd.states import UNACK, Transition

WINDOW_S = 600.0
THRESHOLD = 10  # more than this many activations in the window is a flood
FLOOD_TAG = "ALARMS.FLOOD"  # 1 during a flood
RATE_TAG = "ALARMS.RATE_10MIN"  # activations in the last 10 minutes
SUMMARY_TAGS = (FLOOD_TAG, RATE_TAG)


class FloodDetector:
    def __init__(self, window_s: float = WINDOW_S, threshold: int = THRESHOLD) -> None:
        self.window_s, self.threshold = window_s, threshold
        self.times: deque[float] = deque()
        self.flooding = False

    def feed(self, now: float, transitions: Iterable[Transition]) -> bool | None:
        """Count activations; True when a flood starts, False when it ends, else None."""
        self.times.extend(t.at for t in transitions if t.new == UNACK)
        while self.times and self.times[0] <= now - self.window_s:
            self.times.popleft()
        flooding = len(self.times) > self.threshold
        if flooding == self.flooding:
            return None
        self.flooding = flooding
        return flooding

    @property
    def rate(self) -> int:
        return len(self.times)
