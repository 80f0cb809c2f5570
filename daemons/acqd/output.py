"""acqd's side of the shared ring: one slot per tag plus the health tags.

Updates are staged in numpy arrays as replies arrive and published as one ring batch per
flush (every 100 ms), so readers see a whole cycle of a device at once and the ring's
per-batch cost is paid a few times a second, not once per request.  acqd is the ring's
only writer, so the last published values are mirrored here: a Bad sample keeps the last
value (OPC UA allows a value with a Bad status, and displays show the last reading).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from daemons.acqd.health import SlaveHealth, health_prefix, health_slots
from daemons.core.quality import Quality
from daemons.core.ring import RingReader, RingWriter, SlotSpec
from daemons.core.tagmap import TagDef

GOOD = int(Quality.GOOD)
STALE = int(Quality.UNCERTAIN_LAST_USABLE)
STALE_AFTER_SCANS = 3  # a Good value older than this many of its scan intervals is stale


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
        self._pending: dict[int, tuple[float, int, int]] = {}
        self._last_arrays: dict[int, np.ndarray] = {}  # arrays are few (cards): keep them

    def slots(self, tags: Sequence[TagDef]) -> np.ndarray:
        """Slot numbers of `tags` (callers keep the result: it is looked up once)."""
        return np.array([self._index[t.name] for t in tags], dtype=np.int64)

    def good(self, idx: np.ndarray, values: np.ndarray, ts_ns: int) -> None:
        for i, v in zip(idx.tolist(), values.tolist(), strict=True):
            self._pending[i] = (v, ts_ns, GOOD)

    def bad(self, idx: np.ndarray, ts_ns: int, quality: int) -> None:
        for i in idx.tolist():
            self._pending[i] = (float(self._last_value[i]), ts_ns, quality)

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
        for k, v in enumerate(h.values()):
            self._pending[base + k] = (v, ts_ns, GOOD)

    def flush(self, now_ns: int) -> int:
        """Publish what is staged as one batch, plus Good values gone stale; returns count."""
        stale = np.flatnonzero((self._last_q == GOOD) & (self._stale_ns > 0)
                               & (now_ns - self._last_ts > self._stale_ns))
        for i in stale.tolist():
            if i not in self._pending:
                self._pending[i] = (float(self._last_value[i]), int(self._last_ts[i]), STALE)
        if not self._pending:
            return 0
        idx = np.fromiter(self._pending.keys(), dtype=np.int64, count=len(self._pending))
        rows = np.array(list(self._pending.values()), dtype=np.float64)
        values = rows[:, 0]
        ts = rows[:, 1].astype(np.int64)
        quality = rows[:, 2].astype(np.uint32)
        self.ring.write_batch(idx, values, ts, quality)
        self._last_value[idx], self._last_ts[idx], self._last_q[idx] = values, ts, quality
        self._pending.clear()
        return len(idx)

    def close(self) -> None:
        self.ring.close()
