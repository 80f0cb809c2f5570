"""The calculation engine: binds calculations to wells, tags and parameters, runs cycles.

Binding happens once per configuration / tag map / input layout, never per cycle:
- each calculation of a well type gets the wells of that type whose required inputs
  (roles in the tag maps) and parameters (`[[well]]` tables) are all there; the others
  are *problems*, reported once per (well, role or parameter), and only that
  calculation's results for that well are Bad (config-error) — the rest run;
- each role becomes an index array into the input frame (one slot per well; a sentinel
  slot, NaN / waiting-for-initial-data, where the ring has no such tag yet).
A cycle then costs, per calculation, one gather per role and one scatter per result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from daemons.calcd import quality as qmod
from daemons.calcd.batch import Batch, Frame, Outputs
from daemons.calcd.model import Calculation, tag_name
from daemons.core.config import GatewayConfig, WellConfig
from daemons.core.tagmap import TagDef, TagMap

DEFAULT_STALE_S = 30.0  # inputs not in the tag maps (never expected)
STALE_SCANS = 3  # a Good input older than this many scan intervals (+ grace) is stale
STALE_GRACE_S = 2.0
DEFAULT_ARRAY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Problem:
    """A calculation that cannot run for a well: what it lacks."""

    well: str
    calc: str
    kind: str  # role | param
    name: str

    def en(self) -> str:
        what = "no tag with role" if self.kind == "role" else "no parameter"
        return f"{self.well}: {self.calc} stopped: {what} '{self.name}'"

    def es(self) -> str:
        what = "ningún tag con el rol" if self.kind == "role" else "falta el parámetro"
        return f"{self.well}: {self.calc} detenido: {what} '{self.name}'"


@dataclass(frozen=True, slots=True)
class OutSpec:
    """One result tag of the calc ring."""

    name: str
    units: str
    length: int  # 0 = scalar
    kind: str
    calc: str


@dataclass
class Group:
    calc: Calculation
    tags: dict[str, list[str | None]]  # role -> input tag name per well
    mapped: dict[str, np.ndarray]
    params: dict[str, Any]
    out_slots: dict[str, np.ndarray]
    idx: dict[str, np.ndarray]


def _role_index(tagmap: TagMap) -> dict[tuple[str | None, str], TagDef]:
    return {(t.well, t.role): t for t in tagmap if t.role}


def _param_value(well: WellConfig, name: str) -> Any:
    return well.param(name)


class Engine:
    def __init__(self, config: GatewayConfig, tagmap: TagMap,
                 calcs: Sequence[type[Calculation]],
                 services: Mapping[str, Any] | None = None) -> None:
        self.config = config
        self.tagmap = tagmap
        roles = _role_index(tagmap)
        self.problems: list[Problem] = []
        self.groups: list[Group] = []
        specs: list[OutSpec] = []
        pending: list[tuple[Group, dict[str, list[str]]]] = []
        for cls in calcs:
            d = cls.DEF
            wells = [w for w in config.wells.values()
                     if d.well_type in ("*", w.type)
                     and (not d.applies or any((w.id, r) in roles for r in d.applies))]
            ok: list[WellConfig] = []
            for w in wells:
                missing = [Problem(w.id, d.key, "role", i.role) for i in d.inputs
                           if i.required and (None if i.site else w.id, i.role) not in roles]
                missing += [Problem(w.id, d.key, "param", p.name) for p in d.params
                            if p.required and p.default is None
                            and _param_value(w, p.name) is None]
                self.problems.extend(missing)
                if not missing:
                    ok.append(w)
                for o in d.outputs:
                    length = 0
                    if o.kind == "array":
                        src = roles.get((w.id, o.length_from))
                        length = src.count if src is not None else DEFAULT_ARRAY_LENGTH
                    specs.append(OutSpec(tag_name(w.id, o.name), o.units, length, o.kind,
                                         d.key))
            ids = tuple(w.id for w in ok)
            tags = {i.role: [(t.name if (t := roles.get((None if i.site else w, i.role)))
                              else None) for w in ids] for i in d.inputs}
            mapped = {r: np.array([n is not None for n in names], dtype=bool)
                      for r, names in tags.items()}
            params: dict[str, Any] = {}
            for p in d.params:
                vals = [_param_value(w, p.name) for w in ok]
                vals = [p.default if v is None else v for v in vals]
                params[p.name] = vals if p.text else np.array(
                    [math.nan if v is None else float(v) for v in vals], dtype=np.float64)
            calc = cls(ids)
            calc.services = dict(services or {})
            group = Group(calc, tags, mapped, params, {}, {})
            pending.append((group, {o.name: [tag_name(w, o.name) for w in ids]
                                    for o in d.outputs}))
            self.groups.append(group)
        self.specs = tuple(specs)
        index = {s.name: k for k, s in enumerate(self.specs)}
        for group, names in pending:
            group.out_slots = {o: np.array([index[n] for n in ns], dtype=np.int64)
                               for o, ns in names.items()}
        self.outputs = Outputs.empty([s.name for s in self.specs])
        # results of wells that cannot compute: Bad config-error, published once
        bad = np.array([index[s.name] for s in self.specs
                        if (s.name.split(".CALC.")[0], s.calc) in
                        {(p.well, p.calc) for p in self.problems}], dtype=np.int64)
        self.outputs.quality[bad] = qmod.CONFIG
        self.outputs.dirty[bad] = True
        self._bad_slots = bad
        self._names: tuple[str, ...] | None = None
        self._stale_ns = np.zeros(0, np.int64)
        self.errors: dict[str, str] = {}  # calc key -> last exception text (this cycle)
        self.restore_errors: dict[str, str] = {}  # calc key -> why its state was dropped

    # --- binding to the input frame ------------------------------------------------------
    def attach(self, names: tuple[str, ...]) -> None:
        """Index arrays of every role into a frame with these slot names."""
        if self._names is names or self._names == names:
            self._names = names
            return
        self._names = names
        where = {n: k for k, n in enumerate(names)}
        sentinel = len(names)
        for g in self.groups:
            g.idx = {r: np.array([where.get(n, sentinel) if n else sentinel for n in ns],
                                 dtype=np.int64) for r, ns in g.tags.items()}
        intervals = {name: s.interval for name, s in self.config.scans.items()}
        fastest = min(intervals.values(), default=1.0)
        stale = np.full(len(names), int(DEFAULT_STALE_S * 1e9), dtype=np.int64)
        for k, n in enumerate(names):
            tag = self.tagmap.get(n)
            if tag is not None:
                interval = intervals.get(tag.scan, fastest)
                stale[k] = int((STALE_SCANS * interval + STALE_GRACE_S) * 1e9)
        self._stale_ns = stale

    # --- one cycle -------------------------------------------------------------------------
    def cycle(self, frame: Frame, now_ns: int, tick_ns: int | None = None) -> Outputs:
        """Run every calculation once on `frame`; the returned buffer's `dirty` marks the
        results set this cycle (arrays in `arrays`).  Clear with `published()`."""
        self.attach(frame.names)
        tick = now_ns if tick_ns is None else tick_ns
        q = qmod.mark_stale(frame.quality, frame.ts_ns, now_ns, self._stale_ns)
        values = np.append(frame.values, np.nan)
        ts = np.append(frame.ts_ns, 0)
        quality = np.append(q, qmod.WAITING).astype(np.uint32)
        self.errors = {}
        for g in self.groups:
            if not g.calc.wells:
                continue
            b = Batch(g.calc.DEF, g.calc.wells, now_ns, g.idx, g.mapped, g.params,
                      g.out_slots, frame, values, ts, quality, self.outputs, tick)
            try:
                g.calc.compute(b)
            except Exception as exc:  # one calculation's bug must not stop the others
                self.errors[g.calc.DEF.key] = f"{type(exc).__name__}: {exc}"
                for slots in g.out_slots.values():
                    self.outputs.quality[slots] = qmod.BAD
                    self.outputs.ts_ns[slots] = tick
                    self.outputs.dirty[slots] = True
        return self.outputs

    def published(self) -> None:
        self.outputs.dirty[:] = False
        self.outputs.arrays.clear()

    # --- durable state -----------------------------------------------------------------------
    def export_state(self) -> dict[tuple[str, str], dict[str, Any]]:
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for g in self.groups:
            for scope, data in g.calc.export_state().items():
                out[(g.calc.DEF.key, scope)] = data
        return out

    def import_state(self, state: Mapping[tuple[str, str], Mapping[str, Any]]) -> None:
        by_calc: dict[str, dict[str, Mapping[str, Any]]] = {}
        for (calc, scope), data in state.items():
            by_calc.setdefault(calc, {})[scope] = data
        for g in self.groups:
            mine = by_calc.get(g.calc.DEF.key)
            if mine:
                try:
                    g.calc.import_state(mine)
                except (TypeError, ValueError, KeyError) as exc:
                    # a state saved by another version, or damaged: start that calculation
                    # fresh rather than not at all
                    fresh = type(g.calc)(g.calc.wells)
                    fresh.services = g.calc.services
                    g.calc = fresh
                    self.restore_errors[g.calc.DEF.key] = repr(exc)
