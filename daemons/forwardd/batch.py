"""Live data held back and sent as fewer, bigger DDATA messages (``[mqtt] batch_seconds``).

On a satellite or metered cellular link the bytes that are not the samples cost most: each
DDATA repeats the topic, the MQTT header, the payload timestamp and seq, and DEFLATE can
only find repeats (aliases, the shared high bytes of the timestamps, steady values) inside
one payload.  Holding a device's live samples for tens of seconds and sending them in one
payload, every metric with its own timestamp and in time order per alias, cuts the uplink
to well under half with DEFLATE (bench/sparkplug.py, docs/sparkplug.md).

What is held is still live data (``is_historical`` false): it was never in the outbox.
Alarm states are never held, so an alarm reaches the host within a tick whatever the batch
length.

The publisher drains the batch into the outbox when the link drops or the metric set
changes, sends it before a DDEATH/DBIRTH or an NDEATH, and keeps the catch-up watermark at
or before the oldest held sample, so a kill -9 while samples are held loses nothing: the
scalars come back from the rings' history as historical data (the configuration refuses a
batch longer than that history), and the cards, of which the rings keep only the latest,
from the outbox's held table, where the publisher keeps them until they are sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .forward import LiveSample, fast_samples

MAX_HELD = 200_000  # samples: sent early past this (memory stays bounded at any rate)

Fast = tuple[np.ndarray, np.ndarray, np.ndarray]  # metric index, ts_ms, value


class LiveBatch:
    def __init__(self, seconds: float, typed: Callable[[int, float], Any]) -> None:
        """*typed*: a fast sample's ring value in its metric's datatype (by metric index)."""
        self.seconds = seconds
        self.typed = typed
        self.samples: list[LiveSample] = []
        self.fast: list[Fast] = []
        self.since: float | None = None  # monotonic time the oldest held sample came
        self.oldest_ms: int | None = None  # its sample time (the catch-up watermark's)
        self.held = 0

    def __len__(self) -> int:
        return self.held

    def hold(self, samples: list[LiveSample], fast: Fast, urgent_of: np.ndarray,
             now: float) -> tuple[list[LiveSample], Fast]:
        """Take this tick's live samples; return what goes now: the urgent metrics'
        samples (*urgent_of*, by metric index), and everything held once the oldest has
        waited ``seconds``."""
        now_samples = [s for s in samples if urgent_of[s[0]]]
        later = [s for s in samples if not urgent_of[s[0]]]
        idx, ts, vals = fast
        urgent = urgent_of[idx]
        keep = ~urgent
        kept = int(keep.sum())
        if later or kept:
            if self.since is None:
                self.since = now
            found = [min(s[1] for s in later)] if later else []
            if kept:
                self.fast.append((idx[keep], ts[keep], vals[keep]))
                found.append(int(ts[keep].min()))
            self.samples += later
            self.held += len(later) + kept
            self.oldest_ms = min(found) if self.oldest_ms is None else \
                min(self.oldest_ms, *found)
        out_fast: Fast = (idx[urgent], ts[urgent], vals[urgent])
        if self.since is not None and (now - self.since >= self.seconds
                                       or self.held >= MAX_HELD):
            held, held_fast = self.drain()
            return held + now_samples, _concat([held_fast, out_fast])
        return now_samples, out_fast

    def drain(self) -> tuple[list[LiveSample], Fast]:
        """Everything held; the batch is empty afterwards.  The publisher puts a device's
        plain samples before its fast ones in a payload: when both are held they become one
        list in time order, so each metric's values stay in time order in the payload (a
        host that keeps the last value it reads must read the newest last)."""
        samples, fast = self._take()
        if samples and len(fast[0]):
            idx, ts, vals = fast
            samples = sorted(samples + [(i, t, self.typed(i, v), 0) for i, t, v in zip(
                idx.tolist(), ts.tolist(), vals.tolist(), strict=True)], key=_ts)
            fast = _concat([])
        return samples, fast

    def drain_as_samples(self) -> list[LiveSample]:
        """Everything held as plain samples (quality Good for the fast ones), for the
        outbox."""
        samples, fast = self._take()
        return samples + fast_samples(*fast)

    def oldest_ts_ms(self) -> int | None:
        return self.oldest_ms

    def _take(self) -> tuple[list[LiveSample], Fast]:
        samples, fast = self.samples, _concat(self.fast)
        self.samples, self.fast, self.since, self.oldest_ms, self.held = [], [], None, None, 0
        return samples, fast


def _ts(sample: LiveSample) -> int:
    return sample[1]


def _concat(parts: list[Fast]) -> Fast:
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64), np.zeros(0))
    if len(parts) == 1:
        return parts[0]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]))
