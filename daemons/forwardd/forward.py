"""Report by exception and the rolling window: which samples go out, and which are kept.

`Rbe` compares each tick's ring snapshot with what was last sent, vectorised over every
metric: a new sample is sent when it moved more than the metric's deadband since the
last sent value (or its quality or null-ness changed), and any metric whose last send is
older than its heartbeat is sent again so a quiet tag is still proven alive.

`RollingWindow` keeps everything sent over the last ``window_s`` seconds with the
connection epoch it went out on.  QoS 0 data has no acknowledgement, and a dead link is
only noticed after up to 1.5–2 × keep-alive (gmqtt closes after 2 × keep-alive without
traffic): when the connection drops, the window's live samples go to the outbox and are
replayed, and replayed outbox rows in the window stay in the outbox.  An entry older
than the window whose connection is still up is proven delivered: its replayed rows are
deleted from the outbox.  Duplicates that this causes are harmless: a host stores a
sample once per (metric, timestamp).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LiveSample = tuple[int, int, Any, int]  # metric index, ts_ms, value, quality


def fast_samples(idx: np.ndarray, ts_ms: np.ndarray, values: np.ndarray) -> list[LiveSample]:
    """Hot-path arrays (Good live scalars) as samples, e.g. for the outbox."""
    return list(zip(idx.tolist(), ts_ms.tolist(), values.tolist(), [0] * len(idx),
                    strict=True))


class Rbe:
    def __init__(self, deadband: np.ndarray, heartbeat: np.ndarray,
                 always: np.ndarray | None = None, relative: np.ndarray | None = None
                 ) -> None:
        n = len(deadband)
        # relative deadband: a fraction of the last sent value (0 = none)
        self.relative = np.zeros(n) if relative is None else relative.astype(np.float64)
        # Arrays (cards) read NaN in snapshots: every new one is sent.
        self.always = np.zeros(n, dtype=bool) if always is None else always.astype(bool)
        self.deadband = deadband.astype(np.float64)
        self.heartbeat = heartbeat.astype(np.float64)
        self.last_value = np.full(n, np.nan)
        self.last_quality = np.zeros(n, dtype=np.uint32)
        self.last_ts = np.zeros(n, dtype=np.int64)  # newest sample seen (sent or not)
        self.last_sent = np.full(n, -np.inf)  # monotonic seconds
        self.sent_once = np.zeros(n, dtype=bool)

    def select(self, values: np.ndarray, ts_ns: np.ndarray, quality: np.ndarray,
               now: float, present: np.ndarray | None = None) -> np.ndarray:
        """Indices of the metrics to send now (and remember them as sent)."""
        new = (ts_ns != self.last_ts) & (ts_ns > 0)
        if present is not None:
            new &= present
        with np.errstate(invalid="ignore"):
            moved = np.abs(values - self.last_value) > np.maximum(
                self.deadband, self.relative * np.abs(self.last_value))
        null_changed = np.isnan(values) != np.isnan(self.last_value)
        changed = new & (moved | null_changed | (quality != self.last_quality)
                         | ~self.sent_once | self.always)
        due = (self.heartbeat > 0) & (now - self.last_sent >= self.heartbeat) & (ts_ns > 0)
        if present is not None:
            due &= present
        send = changed | due
        self.last_ts = np.where(new, ts_ns, self.last_ts)
        idx = np.flatnonzero(send)
        self.last_value[idx] = values[idx]
        self.last_quality[idx] = quality[idx]
        self.last_sent[idx] = now
        self.sent_once[idx] = True
        return idx

    def forget(self, indices: np.ndarray) -> None:
        """Send these again at the next change or heartbeat (after a DBIRTH, say)."""
        self.last_sent[indices] = -np.inf


@dataclass
class _Entry:
    at: float
    epoch: int
    live: list[LiveSample] = field(default_factory=list)
    replay_ids: list[int] = field(default_factory=list)
    min_ts_ms: int | None = None
    fast: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # idx, ts_ms, values


class RollingWindow:
    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.entries: collections.deque[_Entry] = collections.deque()
        self.inflight: set[int] = set()  # outbox ids replayed but not yet proven

    def add(self, now: float, epoch: int, live: list[LiveSample],
            replay_ids: list[int],
            fast: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
        """*fast*: Good scalar samples sent on the hot path, kept as arrays."""
        if fast is not None and not len(fast[0]):
            fast = None
        if not live and not replay_ids and fast is None:
            return
        found = [min(s[1] for s in live)] if live else []
        if fast is not None:
            found.append(int(fast[1].min()))
        self.entries.append(_Entry(now, epoch, live, replay_ids,
                                   min(found) if found else None, fast))
        self.inflight.update(replay_ids)

    def confirm(self, now: float, epoch: int) -> list[int]:
        """Entries older than the window sent on the still-live connection *epoch*: their
        replayed outbox ids, now safe to delete."""
        done: list[int] = []
        while self.entries and now - self.entries[0].at >= self.window_s:
            e = self.entries.popleft()
            if e.epoch == epoch:
                done.extend(e.replay_ids)
            self.inflight.difference_update(e.replay_ids)
        return done

    def fail(self) -> list[LiveSample]:
        """The connection died: every live sample of the window, to be kept in the
        outbox; the replayed rows are still there and become eligible again."""
        live = []
        for e in self.entries:
            live.extend(e.live)
            if e.fast is not None:
                live.extend(fast_samples(*e.fast))
        self.entries.clear()
        self.inflight.clear()
        return live

    def oldest_live_ts_ms(self) -> int | None:
        """The oldest sample time not yet proven delivered (the catch-up watermark)."""
        found = [e.min_ts_ms for e in self.entries if e.min_ts_ms is not None]
        return min(found) if found else None

    def __len__(self) -> int:
        return sum(len(e.live) + len(e.replay_ids) + (len(e.fast[0]) if e.fast else 0)
                   for e in self.entries)
