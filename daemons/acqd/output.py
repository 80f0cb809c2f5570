"""acqd's side of the shared ring: one slot per tag plus the health tags.

Updates are staged in numpy arrays as replies arrive and published as one ring batch per
flush (every 250 ms), so readers see a whole cycle of a device at once and the ring's
per-batch cost is paid a few times a second, not once per request.  acqd is the ring's
only writer, so the last published values are mirrored here: a Bad sample keeps the last
value (OPC UA allows a value with a Bad status, and displays show the last reading).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from daemons.acqd.health import SlaveHealth, health_prefix, health_slots
from daemons.core.quality import Quality
from daemons.core.ring import RingReader, RingWriter, SlotSpec
from daemons.core.tagmap import TagDef

# (slots, timestamps, raw values, qualities) of every sample, in arrival order
HistorySink = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]
GOOD = int(Quality.GOOD)
STALE = int(Quality.UNCERTAIN_LAST_USABLE)
STALE_AFTER_SCANS = 3  # a Good value older than this many of its scan intervals is stale
STALE_CHECK_NS = 1_000_000_000  # staleness is judged in seconds: look once a second


def array_length(tag: TagDef) -> int:
    """Array slot size: element count; strings are stored as their character codes."""
    if tag.type == "string":
        return max(2, tag.string_registers * 2 * tag.count)
    return tag.count


class RingOutput:
    def __init__(self, path: Path, tags: Sequence[TagDef], slaves: Iterable[tuple[str, int]],
                 *, tagmap_version: int, history_depth: int,
                 scan_interval_ns: dict[str, int]) -> None:
        specs = [SlotSpec(t.name, array_length(t) if (t.is_array or t.type == "string")
                          else 0, t.units) for t in tags]
        for device, unit in sorted(set(slaves)):
            specs.extend(health_slots(device, unit))
        self.ring = RingWriter.create(path, specs, tagmap_version=tagmap_version,
                                      history_depth=history_depth)
        n = len(specs)
        self._index = {s.name: i for i, s in enumerate(specs)}
        self._last_value = np.full(n, np.nan)
        self._last_ts = np.zeros(n, dtype=np.int64)
        self._last_q = np.full(n, int(Quality.BAD_WAITING_FOR_INITIAL_DATA), dtype=np.uint32)
        # Tags carried over from a previous ring (a tag-map reload) keep their live values.
        if self.ring.relayout is not None and self.ring.relayout.kept:
            with RingReader(path) as reader:
                snap = reader.snapshot()
            self._last_value[:] = snap.values
            self._last_ts[:] = snap.ts_ns
            self._last_q[:] = snap.quality
        self._stale_ns = np.zeros(n, dtype=np.int64)
        for t in tags:
            if t.is_array or t.type == "string":
                continue  # array slots are published on their own (write_array)
            interval = scan_interval_ns.get(t.scan) or min(scan_interval_ns.values())
            self._stale_ns[self._index[t.name]] = STALE_AFTER_SCANS * interval
        self._last_raw = np.zeros(n)  # raw register values, for the historian
        self._stage: list[tuple[np.ndarray, ...]] = []  # (slots, eng, ts, quality, raw)
        self._last_arrays: dict[int, np.ndarray] = {}  # arrays are few (cards): keep them
        self.history: HistorySink | None = None
        self._stale_checked_ns = 0

    def slots(self, tags: Sequence[TagDef]) -> np.ndarray:
        """Slot numbers of `tags` (callers keep the result: it is looked up once)."""
        return np.array([self._index[t.name] for t in tags], dtype=np.int64)

    def slot_of(self, name: str) -> int:
        return self._index[name]

    @property
    def size(self) -> int:
        return len(self._index)

    def good(self, idx: np.ndarray, values: np.ndarray, ts_ns: int,
             raw: np.ndarray | None = None) -> None:
        """Good samples of scalar tags; `raw` is what the device sent (default: values)."""
        values = np.array(values, dtype=np.float64)
        raw = values if raw is None else np.array(raw, dtype=np.float64)
        self._stage.append((idx, values, np.full(len(idx), ts_ns, dtype=np.int64),
                            np.full(len(idx), GOOD, dtype=np.uint32), raw))

    def bad(self, idx: np.ndarray, ts_ns: int, quality: int) -> None:
        """A failed read: the last value stays, with the new quality."""
        self._stage.append((idx, self._last_value[idx], np.full(len(idx), ts_ns, np.int64),
                            np.full(len(idx), quality, dtype=np.uint32), self._last_raw[idx]))

    def array(self, tag: TagDef, values: np.ndarray, ts_ns: int, quality: int) -> None:
        i = self._index[tag.name]
        values = np.asarray(values, dtype=np.float64)
        self.ring.write_array(i, values, ts_ns, quality)
        self._last_arrays[i] = values
        self._last_ts[i], self._last_q[i] = ts_ns, quality

    def array_quality(self, tag: TagDef, ts_ns: int, quality: int) -> None:
        """A Bad sample of an array tag: keep the last array, change its quality."""
        i = self._index[tag.name]
        if self._last_q[i] != quality:
            last = self._last_arrays.get(i, np.full(1, np.nan))
            self.ring.write_array(i, last, ts_ns, quality)
            self._last_ts[i], self._last_q[i] = ts_ns, quality

    def health(self, h: SlaveHealth, ts_ns: int) -> None:
        base = self._index[f"{health_prefix(h.device, h.unit)}.comm"]
        values = np.array(h.values())
        self.good(np.arange(base, base + len(values)), values, ts_ns)

    def flush(self, now_ns: int) -> int:
        """Publish what is staged as one ring batch (the newest sample of each tag) and hand
        every sample to the historian; Good values gone stale are re-marked in the ring
        only (the historian sees the gap itself).  Returns the number of slots published."""
        stale = np.empty(0, dtype=np.int64)
        if now_ns - self._stale_checked_ns >= STALE_CHECK_NS:  # a scan over every slot
            self._stale_checked_ns = now_ns
            stale = np.flatnonzero((self._last_q == GOOD) & (self._stale_ns > 0)
                                   & (now_ns - self._last_ts > self._stale_ns))
        if not self._stage and not len(stale):
            return 0
        if self._stage:
            idx, eng, ts, q, raw = (np.concatenate(parts) for parts in zip(*self._stage,
                                                                           strict=True))
            self._stage.clear()
            if self.history is not None:
                self.history(idx, ts, raw, q)
        else:
            idx, eng, ts = np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64)
            q, raw = np.empty(0, np.uint32), np.empty(0)
        # The newest sample per slot goes to the ring (one update per slot per batch).
        _, first_from_end = np.unique(idx[::-1], return_index=True)
        keep = len(idx) - 1 - first_from_end
        idx, eng, ts, q, raw = idx[keep], eng[keep], ts[keep], q[keep], raw[keep]
        stale = np.setdiff1d(stale, idx, assume_unique=True)
        if len(stale):
            idx = np.concatenate([idx, stale])
            eng = np.concatenate([eng, self._last_value[stale]])
            ts = np.concatenate([ts, self._last_ts[stale]])
            q = np.concatenate([q, np.full(len(stale), STALE, dtype=np.uint32)])
            raw = np.concatenate([raw, self._last_raw[stale]])
        self.ring.write_batch(idx, eng, ts, q)
        self._last_value[idx], self._last_ts[idx], self._last_q[idx] = eng, ts, q
        self._last_raw[idx] = raw
        return len(idx)

    def close(self) -> None:
        self.ring.close()
