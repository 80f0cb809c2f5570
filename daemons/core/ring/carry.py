"""Carry live values and history over from the ring file being replaced.

A tag-map change (or a daemon restart) builds a new file; every tag that keeps its name and
kind (scalar, or array of the same length) keeps its latest value, timestamp, quality and
history, so operators and calculations lose nothing.  The old file is read here with the
same checks readers use (its writer may have died mid-batch), then marked superseded.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from daemons.core.quality import Quality
from daemons.core.ring.layout import (
    HEADER_SIZE,
    LIVE_HEAD,
    MAGIC,
    SUPERSEDED_AT,
    WRITER_PID_AT,
    FileInfo,
    Layout,
    RingError,
    array_buffer_size,
    counts_view,
    history_views,
    live_crc,
    live_views,
    parse_array_buffer,
    read_info,
    write_array_buffer,
)

WAITING = int(Quality.BAD_WAITING_FOR_INITIAL_DATA)
_CHUNK = 4096  # columns per step when copying history: bounds the temporary memory


@dataclass(frozen=True, slots=True)
class Relayout:
    """What `RingWriter.create` did with the file it replaced (the daemon logs this)."""

    kept: tuple[str, ...]  # carried over: value, ts, quality, history / latest array
    added: tuple[str, ...]  # new: NaN, BAD_WAITING_FOR_INITIAL_DATA
    dropped: tuple[str, ...]  # in the old file only
    changed: tuple[str, ...]  # same name, other kind or array length: started afresh
    previous_tagmap_version: int | None
    previous_generation: int
    unreadable: str | None  # why an existing file could not be carried over, if it could not


def claim(fd: int, path: Path) -> None:
    """Refuse to replace a file another live process is writing (one writer per ring).

    The writer holds flock(LOCK_EX) on its file for its lifetime; the kernel drops it when
    the process dies, so a crashed writer never blocks its successor.  Our own process may
    hold it through an older RingWriter: that is a re-layout, and allowed.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        head = os.pread(fd, HEADER_SIZE, 0)
        pid = None
        if len(head) == HEADER_SIZE and head[:8] == MAGIC:
            (pid,) = struct.unpack_from("<I", head, WRITER_PID_AT)
        if pid != os.getpid():
            raise RingError(path, f"is being written by another process (pid {pid}); "
                                  "a ring file has exactly one writer") from None


class OldRing:
    """The ring file at a path that is about to be replaced, opened read-write."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        self._mm: mmap.mmap | None = None
        self.info: FileInfo | None = None
        self.unreadable: str | None = None
        size = os.fstat(fd).st_size
        if size == 0:
            self.unreadable = "empty file"
            return
        self._mm = mmap.mmap(fd, size)
        try:
            self.info = read_info(self._mm, size, path)
        except RingError as exc:
            self.unreadable = exc.what

    @classmethod
    def open(cls, path: Path) -> OldRing | None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RingError(path, f"cannot open the existing file: {exc.strerror}") from exc
        try:
            claim(fd, path)
            return cls(path, fd)
        except BaseException:
            os.close(fd)
            raise

    def latest(self) -> tuple[int, np.ndarray, np.ndarray, np.ndarray] | None:
        """(generation, values, ts, quality) of the newest whole live block, if any."""
        assert self._mm is not None and self.info is not None
        lay = self.info.layout
        best = None
        for k in (0, 1):
            raw = np.frombuffer(self._mm, np.uint8, lay.live_size, lay.live_at(k)).copy()
            head, values, ts, quality = live_views(raw, 0, lay.n_slots)
            gen = int(head[0])
            if live_crc(gen, raw[LIVE_HEAD:]) == int(head[1]) and (best is None
                                                                  or gen > best[0]):
                best = (gen, values, ts, quality)
        return best

    def array(self, slot: int) -> tuple[int, int, int, np.ndarray] | None:
        """(seq, ts, quality, values) of the newest whole buffer of an array slot."""
        assert self._mm is not None and self.info is not None
        length = int(self.info.lengths[slot])
        size = array_buffer_size(length)
        off = int(self.info.array_offs[slot])
        found = [parse_array_buffer(self._mm[off + b * size:off + (b + 1) * size])
                 for b in (0, 1)]
        whole = [f for f in found if f is not None]
        return max(whole, key=lambda f: f[0]) if whole else None

    def history(self) -> tuple[np.ndarray, ...]:
        assert self._mm is not None and self.info is not None
        return history_views(self._mm, self.info.layout)

    @property
    def mm(self) -> mmap.mmap:
        assert self._mm is not None
        return self._mm

    def mark_superseded(self) -> None:
        """Tell readers still holding this file to reopen the path (one u32 store)."""
        if self._mm is not None and len(self._mm) >= HEADER_SIZE:
            struct.pack_into("<I", self._mm, SUPERSEDED_AT, 1)

    def close(self) -> None:
        if self._mm is not None:
            self._mm.close()
            self._mm = None
        if self._fd >= 0:
            os.close(self._fd)  # also releases our flock
            self._fd = -1


def init_new(mm: mmap.mmap, layout: Layout, lengths: np.ndarray,
             array_offs: np.ndarray) -> None:
    """Every slot waiting for its first value: NaN, ts 0, BAD_WAITING_FOR_INITIAL_DATA."""
    _, values, ts, quality = live_views(mm, layout.live_at(0), layout.n_slots)
    values[:] = np.nan
    ts[:] = 0
    quality[:] = WAITING
    del values, ts, quality, _
    empty = np.empty(0)
    for i in np.flatnonzero(lengths).tolist():
        length = int(lengths[i])
        for b in (0, 1):
            write_array_buffer(mm, int(array_offs[i]) + b * array_buffer_size(length), length,
                               0, 0, WAITING, empty)


def carry_over(old: OldRing | None, mm: mmap.mmap, layout: Layout, names: tuple[str, ...],
               lengths: np.ndarray, array_offs: np.ndarray, aseq: np.ndarray) -> Relayout:
    """Copy what survives from `old` into the new file's live block 0, history, arrays.

    Sample counts (in the file) and `aseq` (array update numbers) are carried too, so the
    writer continues each tag's sequence where the old file left it.
    """
    init_new(mm, layout, lengths, array_offs)
    if old is None or old.info is None:
        return Relayout((), names, (), (), None, 0, old.unreadable if old else None)
    oi = old.info
    old_at = {name: j for j, name in enumerate(oi.names)}
    pairs = [(i, old_at[name]) for i, name in enumerate(names)
             if name in old_at and int(oi.lengths[old_at[name]]) == int(lengths[i])]
    kept = {names[i] for i, _ in pairs}
    new_names = set(names)
    changed = tuple(n for n in names if n in old_at and n not in kept)
    report = Relayout(
        kept=tuple(names[i] for i, _ in pairs),
        added=tuple(n for n in names if n not in old_at),
        dropped=tuple(n for n in oi.names if n not in new_names),
        changed=changed, previous_tagmap_version=oi.tagmap_version,
        previous_generation=0, unreadable=None)
    if not pairs:
        return report
    new_i = np.array([i for i, _ in pairs], dtype=np.intp)
    old_j = np.array([j for _, j in pairs], dtype=np.intp)
    gen = 0
    latest = old.latest()
    if latest is not None:
        gen, o_values, o_ts, o_quality = latest
        _, values, ts, quality = live_views(mm, layout.live_at(0), layout.n_slots)
        values[new_i] = o_values[old_j]
        ts[new_i] = o_ts[old_j]
        quality[new_i] = o_quality[old_j]
        del values, ts, quality, _
    scalar = lengths[new_i] == 0
    if layout.history_depth and oi.layout.history_depth and scalar.any():
        _carry_history(old, mm, layout, new_i[scalar], old_j[scalar])
    for i, j in zip(new_i[~scalar].tolist(), old_j[~scalar].tolist(), strict=True):
        got = old.array(j)
        if got is not None and got[0] > 0:
            seq, ts_ns, q, vals = got
            length = int(lengths[i])
            off = int(array_offs[i]) + (seq % 2) * array_buffer_size(length)
            write_array_buffer(mm, off, length, seq, ts_ns, q, vals)
            aseq[i] = seq
    return Relayout(report.kept, report.added, report.dropped, report.changed,
                    report.previous_tagmap_version, gen, None)


def _carry_history(old: OldRing, mm: mmap.mmap, layout: Layout, new_i: np.ndarray,
                   old_j: np.ndarray) -> None:
    """Copy each kept tag's history records and sample count, re-placed for the new depth.

    Records are copied as they are, check included: one the old writer left torn when it
    died fails its check in the new file just as in the old, so readers drop it there.
    Sample s of a slot lives at row (s-1) % depth, so a depth change only moves rows;
    when the new ring is shorter, the newest `depth` samples are kept.
    """
    assert old.info is not None
    src = old.history()
    dst = history_views(mm, layout)
    top = counts_view(old.mm, old.info.layout)[old_j]
    counts_view(mm, layout)[new_i] = top
    d_old, d_new = src[0].shape[0], layout.history_depth
    used = int(min(d_old, top.max(initial=0)))  # rows past this were never written
    if d_old == d_new:
        k = len(new_i)
        if np.array_equal(new_i, old_j) and (k == 0 or int(new_i[-1]) == k - 1):
            for d, s in zip(dst, src, strict=True):  # same slots in front: block copy
                d[:used, :k] = s[:used, :k]
        else:
            for d, s in zip(dst, src, strict=True):
                for row in range(used):
                    d[row, new_i] = s[row, old_j]
        return
    for lo in range(0, len(new_i), _CHUNK):
        cols_n, cols_o = new_i[lo:lo + _CHUNK], old_j[lo:lo + _CHUNK]
        value, ts, seq, quality, check = (a[:used, cols_o] for a in src)
        newest = top[lo:lo + _CHUNK]
        keep = (seq > 0) & (seq + np.uint64(d_new) > newest)
        r, c = np.nonzero(keep)
        rows_new = ((seq[r, c] - np.uint64(1)) % np.uint64(d_new)).astype(np.intp)
        for d, s in zip(dst, (value, ts, seq, quality, check), strict=True):
            d[rows_new, cols_n[c]] = s[r, c]
