"""What a calculation sees in one cycle: its wells' inputs and parameters as arrays, and
where its results go.

Everything here is vectorised: `value(role)` is one fancy index into the input frame for
all the calculation's wells at once; `set(name, values)` one scatter into the output
buffer.  A result's quality defaults to the worst quality of the calculation's required
inputs (quality.py); a calculation that uses other inputs passes its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from daemons.calcd import quality as qmod
from daemons.calcd.model import CalcDef

ArrayValue = tuple[np.ndarray, int, int, int]  # values, ts_ns, quality, seq


@dataclass
class Frame:
    """One consistent copy of the input ring (or, in tests, of a simulated site)."""

    names: tuple[str, ...]
    values: np.ndarray  # float64, one per slot
    ts_ns: np.ndarray  # int64
    quality: np.ndarray  # uint32
    array: Callable[[str], ArrayValue | None]  # latest value of an array slot, by name


@dataclass
class Outputs:
    """The engine's output buffer: one slot per result tag (calc ring layout)."""

    names: tuple[str, ...]
    values: np.ndarray
    ts_ns: np.ndarray
    quality: np.ndarray
    dirty: np.ndarray  # bool: set this cycle
    arrays: dict[int, tuple[np.ndarray, int, int]]  # slot -> (values, ts, quality) this cycle

    @classmethod
    def empty(cls, names: Sequence[str]) -> Outputs:
        n = len(names)
        return cls(tuple(names), np.full(n, np.nan), np.zeros(n, np.int64),
                   np.full(n, qmod.WAITING, np.uint32), np.zeros(n, bool), {})


class Batch:
    """One calculation, one cycle.  Built by the engine; read `docs` of each method."""

    def __init__(self, calc_def: CalcDef, wells: tuple[str, ...], now_ns: int,
                 idx: dict[str, np.ndarray], mapped: dict[str, np.ndarray],
                 params: dict[str, Any], out_slots: dict[str, np.ndarray],
                 frame: Frame, values: np.ndarray, ts: np.ndarray, quality: np.ndarray,
                 out: Outputs, tick_ns: int) -> None:
        self.d = calc_def
        self.wells = wells
        self.n = len(wells)
        self.now_ns = now_ns
        self.tick_ns = tick_ns  # timestamp given to this cycle's results
        self._idx, self._mapped, self._params = idx, mapped, params
        self._slots = out_slots
        self._frame = frame
        self._v, self._ts, self._q = values, ts, quality  # extended by one sentinel slot
        self._out = out
        self._default_q: np.ndarray | None = None

    # --- inputs ------------------------------------------------------------------------
    def value(self, role: str) -> np.ndarray:
        """Engineering value of `role` for every well (NaN where not available)."""
        return self._v[self._idx[role]]

    def quality(self, role: str) -> np.ndarray:
        return self._q[self._idx[role]]

    def ts(self, role: str) -> np.ndarray:
        return self._ts[self._idx[role]]

    def mapped(self, role: str) -> np.ndarray:
        """True where the tag maps give this well the role (optional inputs)."""
        return self._mapped[role]

    def usable(self, role: str) -> np.ndarray:
        """Mapped, not Bad, and a finite value."""
        return (self._mapped[role] & (qmod.severity(self.quality(role)) < 2)
                & np.isfinite(self.value(role)))

    def array(self, role: str, i: int) -> tuple[np.ndarray, int, int, int] | None:
        """(values, ts_ns, quality, seq) of an array input of well i, or None."""
        slot = int(self._idx[role][i])
        if slot >= len(self._frame.names):
            return None
        return self._frame.array(self._frame.names[slot])

    def param(self, name: str) -> Any:
        """A numeric parameter as a float array over wells, or a text parameter as a list."""
        return self._params[name]

    def worst(self, *roles: str) -> np.ndarray:
        return qmod.worst(*(self.quality(r) for r in roles))

    @property
    def required_quality(self) -> np.ndarray:
        """The worst quality of the required inputs (the default of every result)."""
        if self._default_q is None:
            roles = [i.role for i in self.d.inputs if i.required and not i.array]
            self._default_q = self.worst(*roles) if roles else np.full(self.n, qmod.GOOD)
        return self._default_q

    # --- outputs -----------------------------------------------------------------------
    def set(self, name: str, values: Any, quality: Any = None, where: Any = None) -> None:
        """Publish `name` for every well (or only `where`, a bool array).

        NaN values of otherwise usable results become Bad (not computable); the value
        stays NaN so a display shows a gap rather than a number.
        """
        slots = self._slots[name]
        v = np.broadcast_to(np.asarray(values, dtype=np.float64), (self.n,))
        q = self.required_quality if quality is None else np.broadcast_to(
            np.asarray(quality, dtype=np.uint32), (self.n,))
        q = np.where(np.isnan(v) & (qmod.severity(q) < 2), qmod.BAD, q).astype(np.uint32)
        if where is not None:
            sel = np.asarray(where, dtype=bool)
            slots, v, q = slots[sel], v[sel], q[sel]
        out = self._out
        out.values[slots] = v
        out.quality[slots] = q
        out.ts_ns[slots] = self.tick_ns
        out.dirty[slots] = True

    def set_array(self, name: str, i: int, values: np.ndarray, quality: int,
                  ts_ns: int | None = None) -> None:
        """Publish an array result (a pump card) of well i."""
        slot = int(self._slots[name][i])
        when = self.tick_ns if ts_ns is None else int(ts_ns)
        self._out.arrays[slot] = (np.asarray(values, dtype=np.float64), when, int(quality))
        self._out.quality[slot] = quality
        self._out.ts_ns[slot] = when
