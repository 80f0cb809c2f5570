"""Every ring file of a runtime directory as one view, for the CLI, webd and opcuad."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from daemons.core.ring.layout import RingError
from daemons.core.ring.reader import DEFAULT_BUSY_TIMEOUT, RingReader, Snapshot

SUFFIX = ".ring"


@dataclass(frozen=True, eq=False)
class DirectorySnapshot:
    """The snapshots of all rings, concatenated in ring-name order (acq, alarm, calc, …).

    Each ring's part is whole (one batch of that ring); different rings are independent
    writers, so there is no single generation across them: see `segments`.
    """

    names: tuple[str, ...]
    units: tuple[str, ...]
    values: np.ndarray
    ts_ns: np.ndarray
    quality: np.ndarray
    is_array: np.ndarray
    segment: tuple[str, ...]  # per slot: the ring ("acq", "calc", …) it comes from
    segments: Mapping[str, Snapshot]
    index: Mapping[str, int]  # first slot of each name
    duplicates: tuple[str, ...]  # names written by more than one ring (a tag-map error)
    errors: Mapping[str, str]  # ring -> why it could not be read (others still are)

    def get(self, name: str) -> tuple[float, int, int]:
        """(value, ts_ns, quality) of one tag; KeyError if no ring holds it."""
        i = self.index[name]
        return float(self.values[i]), int(self.ts_ns[i]), int(self.quality[i])


class RingDirectory:
    """All `*.ring` files under `runtime_dir`; rings appearing or vanishing are noticed."""

    def __init__(self, runtime_dir: Path, *,
                 busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.runtime_dir = Path(runtime_dir)
        self.busy_timeout = busy_timeout
        self._readers: dict[str, RingReader] = {}
        self._layout: tuple | None = None  # (rings' names and units, merged static parts)

    def _scan(self) -> dict[str, str]:
        """Open new ring files, drop vanished ones; returns ring -> error for bad ones."""
        try:
            found = sorted(p for p in self.runtime_dir.iterdir()
                           if p.name.endswith(SUFFIX) and not p.name.startswith("."))
        except FileNotFoundError:
            raise RingError(self.runtime_dir, "runtime directory does not exist "
                                              "(no daemon has started)") from None
        except OSError as exc:
            raise RingError(self.runtime_dir, f"cannot list: {exc.strerror}") from exc
        if not found:
            raise RingError(self.runtime_dir, "no ring files (no daemon has started)")
        errors: dict[str, str] = {}
        present = {p.name[:-len(SUFFIX)]: p for p in found}
        for ring in set(self._readers) - set(present):
            self._readers.pop(ring).close()
        for ring, p in present.items():
            if ring not in self._readers:
                try:
                    self._readers[ring] = RingReader(p, busy_timeout=self.busy_timeout)
                except RingError as exc:
                    errors[ring] = exc.what
        return errors

    def rings(self) -> Mapping[str, RingReader]:
        """Reader per ring name (the file name without .ring)."""
        self._scan()
        return MappingProxyType(dict(self._readers))

    def snapshot(self) -> DirectorySnapshot:
        """One whole snapshot per ring, merged.  RingError only if no ring can be read."""
        errors = self._scan()
        parts: dict[str, Snapshot] = {}
        for ring in sorted(self._readers):
            try:
                parts[ring] = self._readers[ring].snapshot()
            except RingError as exc:
                errors[ring] = exc.what
        if not parts:
            detail = "; ".join(f"{r}: {e}" for r, e in sorted(errors.items()))
            raise RingError(self.runtime_dir, f"no readable ring file ({detail})")
        snaps = list(parts.values())
        names, units, segment, index, duplicates = self._static(parts)
        return DirectorySnapshot(
            names=names,
            units=units,
            values=np.concatenate([s.values for s in snaps]),
            ts_ns=np.concatenate([s.ts_ns for s in snaps]),
            quality=np.concatenate([s.quality for s in snaps]),
            is_array=np.concatenate([s.is_array for s in snaps]),
            segment=segment,
            segments=MappingProxyType(parts),
            index=index,
            duplicates=duplicates,
            errors=MappingProxyType(errors))

    def _static(self, parts: Mapping[str, Snapshot]) -> tuple:
        """Names, units, segment, index and duplicates of the merged layout: per-tag Python
        work, so made again only when a ring's layout changes (webd snapshots 5,000 tags
        several times a second; bench/webd.py)."""
        key = tuple((ring, s.names, s.units) for ring, s in parts.items())
        if self._layout is not None and self._layout[0] == key:
            return self._layout[1]
        names = tuple(n for s in parts.values() for n in s.names)
        index: dict[str, int] = {}
        duplicates = []
        for i, name in enumerate(names):
            if name in index:
                duplicates.append(name)
            else:
                index[name] = i
        static = (names, tuple(u for s in parts.values() for u in s.units),
                  tuple(r for r, s in parts.items() for _ in s.names),
                  MappingProxyType(index), tuple(duplicates))
        self._layout = (key, static)
        return static

    def _reader_of(self, name: str) -> RingReader:
        self._scan()
        for ring in sorted(self._readers):
            reader = self._readers[ring]
            try:
                reader.index_of(name)
            except (KeyError, RingError):
                continue
            return reader
        raise KeyError(name)

    def history(self, name: str, n: int | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ts_ns, values, quality) of a scalar tag from whichever ring holds it."""
        return self._reader_of(name).history(name, n)

    def array(self, name: str) -> tuple[np.ndarray, int, int, int]:
        """(values, ts_ns, quality, seq) of an array tag from whichever ring holds it."""
        return self._reader_of(name).array(name)

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()

    def __enter__(self) -> RingDirectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
