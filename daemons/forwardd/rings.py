"""Every ring of the runtime directory as one snapshot, cheaply, ten times a second.

`RingDirectory.snapshot()` rebuilds the merged name tuple and name → slot index on every
call: about 90 ms for 100,000 tags, too much for forwardd's 0.1 s tick.  Here the merged
layout is rebuilt only when a ring's layout changes (its name tuple is another object:
a re-layout or a new ring); a tick then costs one `RingReader.snapshot()` per ring (about
3 ms for 100,000 tags) and three concatenations.  `generations` lets the caller skip a
tick in which no ring published.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from daemons.core.ring import RingDirectory, RingError


@dataclass(frozen=True)
class Merged:
    names: tuple[str, ...]
    units: tuple[str, ...]
    segment: tuple[str, ...]
    is_array: np.ndarray
    index: dict[str, int]  # first slot of each name
    values: np.ndarray
    ts_ns: np.ndarray
    quality: np.ndarray
    generations: tuple[tuple[str, int], ...]


class MergedRings:
    def __init__(self, runtime_dir: Path) -> None:
        self.directory = RingDirectory(runtime_dir)
        self._key: tuple = ()
        self._layout: tuple[Any, ...] = ()
        self.errors: dict[str, str] = {}

    def snapshot(self) -> Merged:
        readers = self.directory.rings()
        parts = {}
        self.errors = {}
        for name in sorted(readers):
            try:
                parts[name] = readers[name].snapshot()
            except RingError as exc:
                self.errors[name] = exc.what
        if not parts:
            raise RingError(self.directory.runtime_dir, "no readable ring file")
        key = tuple((name, id(s.names)) for name, s in parts.items())
        if key != self._key:
            names = tuple(n for s in parts.values() for n in s.names)
            index: dict[str, int] = {}
            for i, n in enumerate(names):
                index.setdefault(n, i)
            self._layout = (names, tuple(u for s in parts.values() for u in s.units),
                            tuple(r for r, s in parts.items() for _ in s.names),
                            np.concatenate([s.is_array for s in parts.values()]), index)
            self._key = key
        names, units, segment, is_array, index = self._layout
        snaps = list(parts.values())
        return Merged(names, units, segment, is_array, index,
                      np.concatenate([s.values for s in snaps]),
                      np.concatenate([s.ts_ns for s in snaps]),
                      np.concatenate([s.quality for s in snaps]),
                      tuple((r, s.generation) for r, s in parts.items()))

    def array(self, name: str) -> tuple[np.ndarray, int, int, int]:
        return self.directory.array(name)

    def history(self, name: str, n: int | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.directory.history(name, n)

    def close(self) -> None:
        self.directory.close()
