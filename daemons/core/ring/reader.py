"""Reading a ring file from any process: snapshots, history, arrays.

A reader never blocks the writer and never returns a torn value: it copies a published
unit (live block, array buffer, history column) and keeps the copy only if the copy
matches the checksum stored with it (layout.py explains why this, not a seqlock, is the
proof on weakly ordered CPUs).  It also never goes back in time: a whole but older
generation than one it already returned (possible when another core's stores become
visible out of order) is treated as "not yet consistent" and retried.

Every call first checks whether the file was replaced (its superseded flag, or another
inode at the path) and reopens, so readers follow a tag-map change without a restart.
"""

from __future__ import annotations

import mmap
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from daemons.core.ring.layout import (
    LIVE_HEAD,
    SUPERSEDED_AT,
    FileInfo,
    RingBusyError,
    RingError,
    array_buffer_size,
    history_views,
    live_crc,
    live_views,
    parse_array_buffer,
    read_info,
    record_check,
)

DEFAULT_BUSY_TIMEOUT = 1.0  # s; only a corrupt file or a writer outrunning us gets here
_SPIN = 3  # immediate retries before yielding the CPU (a 1-core gateway needs the writer
# to run for the retry to succeed)


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The latest value of every slot of one ring, all from one published batch."""

    names: tuple[str, ...]
    units: tuple[str, ...]
    values: np.ndarray  # float64; NaN for array slots
    ts_ns: np.ndarray  # int64, UTC ns; 0 = never written
    quality: np.ndarray  # uint32 OPC UA StatusCode
    is_array: np.ndarray  # bool
    generation: int
    tagmap_version: int
    index: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, name: str) -> tuple[float, int, int]:
        """(value, ts_ns, quality) of one tag; KeyError if this snapshot lacks it."""
        i = self.index[name] if self.index else self.names.index(name)
        return float(self.values[i]), int(self.ts_ns[i]), int(self.quality[i])


class _Mapped:
    """One opened ring file: the mapping and the read-only views over it."""

    def __init__(self, path: Path) -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise RingError(path, "no such ring file (is its daemon running?)") from None
        except OSError as exc:
            raise RingError(path, f"cannot open: {exc.strerror}") from exc
        try:
            st = os.fstat(fd)
            if st.st_size == 0:
                raise RingError(path, "truncated: empty file")
            self.mm = mmap.mmap(fd, st.st_size, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise RingError(path, f"cannot map: {exc}") from exc
        finally:
            os.close(fd)
        self.ident = (st.st_dev, st.st_ino)
        try:
            self.info: FileInfo = read_info(self.mm, st.st_size, path)
        except RingError:
            self.mm.close()
            raise
        lay = self.info.layout
        self.index: Mapping[str, int] = MappingProxyType(
            {name: i for i, name in enumerate(self.info.names)})
        self.is_array = self.info.lengths > 0
        self.is_array.flags.writeable = False
        self.superseded = np.frombuffer(self.mm, np.uint32, 1, SUPERSEDED_AT)
        self.heads = [np.frombuffer(self.mm, np.uint64, 2, lay.live_at(k)) for k in (0, 1)]
        self.lives = [np.frombuffer(self.mm, np.uint8, lay.live_size, lay.live_at(k))
                      for k in (0, 1)]
        self.hist = history_views(self.mm, lay)
        self.array_floor: dict[int, int] = {}
        self.floor = 0

    def close(self) -> None:
        self.superseded = self.heads = self.lives = self.hist = None  # type: ignore[assignment]
        try:
            self.mm.close()
        except BufferError:  # a traceback still holds a view; unmapped when it goes
            pass


class RingReader:
    """Reads one ring file; cheap to keep open, follows replacements of the file."""

    def __init__(self, path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._m: _Mapped | None = _Mapped(self.path)
        self.reopened = 0  # how many times a replaced file was followed
        self.rejected = 0  # copies that failed their checksum (or were older): retried

    # -- following replacements -------------------------------------------------------

    def _current(self) -> _Mapped:
        m = self._m
        if m is None:
            raise RingError(self.path, "reader is closed")
        try:
            st = os.stat(self.path)
            moved = (st.st_dev, st.st_ino) != m.ident
        except FileNotFoundError:
            moved = False
        if moved or m.superseded[0]:
            try:
                new = _Mapped(self.path)
            except RingError:
                if m.superseded[0]:
                    raise
                return m  # the daemon removed its file; keep the last values we have
            m.close()
            self._m = m = new
            self.reopened += 1
        return m

    @property
    def names(self) -> tuple[str, ...]:
        return self._current().info.names

    @property
    def units(self) -> tuple[str, ...]:
        return self._current().info.units

    @property
    def tagmap_version(self) -> int:
        return self._current().info.tagmap_version

    @property
    def history_depth(self) -> int:
        return self._current().info.layout.history_depth

    def index_of(self, name: str) -> int:
        return self._current().index[name]

    # -- reading ----------------------------------------------------------------------

    def _retry(self, tries: int, deadline: float, what: str) -> None:
        if time.monotonic() > deadline:
            raise RingBusyError(self.path, f"no consistent copy of {what} within "
                                           f"{self.busy_timeout:g} s (file damaged, or the "
                                           "writer rewrites it faster than it can be read)")
        if tries >= _SPIN:
            time.sleep(0.0002)

    def snapshot(self) -> Snapshot:
        """A copy of every slot's latest value, all from one batch (generation)."""
        m = self._current()
        lay = m.info.layout
        n = lay.n_slots
        deadline = time.monotonic() + self.busy_timeout
        tries = 0
        while True:
            g = (int(m.heads[0][0]), int(m.heads[1][0]))
            for k in ((0, 1) if g[0] >= g[1] else (1, 0)):
                raw = m.lives[k].copy()
                head, values, ts, quality = live_views(raw, 0, n)
                gen = int(head[0])
                if gen >= m.floor and live_crc(gen, raw[LIVE_HEAD:]) == int(head[1]):
                    m.floor = gen
                    return Snapshot(m.info.names, m.info.units, values, ts, quality,
                                    m.is_array, gen, m.info.tagmap_version, m.index)
                self.rejected += 1
            tries += 1
            self._retry(tries, deadline, "the live values")

    def history(self, name: str, n: int | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ts_ns, values, quality) of a scalar tag, oldest to newest, at most `n` samples.

        Only whole records are returned and they are consecutive: if the writer overwrote
        the oldest samples during the copy, the answer starts later, never with a gap.
        """
        m = self._current()
        i = m.index[name]
        if m.is_array[i]:
            raise ValueError(f"{name!r} is an array slot; arrays keep their latest value only")
        depth = m.info.layout.history_depth
        if depth == 0 or n == 0:
            return np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.uint32)
        value, ts, seq, quality, check = (a[:, i].copy() for a in m.hist)
        valid = (seq > 0) & (check == record_check(value, ts, quality, seq))
        valid &= (seq - np.uint64(1)) % np.uint64(depth) == np.arange(depth, dtype=np.uint64)
        rows = np.flatnonzero(valid)
        rows = rows[np.argsort(seq[rows], kind="stable")]
        s = seq[rows]
        gaps = np.flatnonzero(np.diff(s) != 1)
        start = int(gaps[-1]) + 1 if gaps.size else 0
        if n is not None:
            start = max(start, len(rows) - n)
        rows = rows[start:]
        return ts[rows], value[rows], quality[rows]

    def array(self, name: str) -> tuple[np.ndarray, int, int, int]:
        """(values, ts_ns, quality, seq) of an array slot's latest value, whole.

        seq counts updates (0 = never written), so a consumer sees a new card by seq.
        """
        m = self._current()
        i = m.index[name]
        if not m.is_array[i]:
            raise ValueError(f"{name!r} is a scalar slot; use snapshot() or history()")
        size = array_buffer_size(int(m.info.lengths[i]))
        off = int(m.info.array_offs[i])
        floor = m.array_floor.get(i, 0)
        deadline = time.monotonic() + self.busy_timeout
        tries = 0
        while True:
            found = [parse_array_buffer(m.mm[off + b * size:off + (b + 1) * size])
                     for b in (0, 1)]
            whole = [f for f in found if f is not None and f[0] >= floor]
            self.rejected += sum(f is None for f in found)
            if whole:
                seq, ts, quality, values = max(whole, key=lambda f: f[0])
                m.array_floor[i] = seq
                return values, ts, quality, seq
            tries += 1
            self._retry(tries, deadline, f"array {name!r}")

    def close(self) -> None:
        if self._m is not None:
            self._m.close()
            self._m = None

    def __enter__(self) -> RingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
