"""What a well view reads: the well's tags found by role (as calcd finds its inputs),
calcd's results by name, their live rows from the rings, and series from history.

One `ViewSource` per request, on webd's worker thread; every tag it hands out has passed
`may_read_tag` for the caller, so a view never shows a value `/api/tags` would refuse.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np

from daemons.core.access.model import User
from daemons.core.config import WellConfig
from daemons.core.history.reader import HistoryReader, default_paths
from daemons.core.quality import severity
from daemons.core.ring import RingDirectory, RingError
from daemons.core.ring.rows import collect, iso_utc
from daemons.webd.auth import Gatekeeper

NS = 1_000_000_000
T = TypeVar("T")
HOUR_NS = 3600 * NS


def calc_tag(well: str, name: str) -> str:
    """calcd's result tag (docs/calcs.md): `<WELL>.CALC.<NAME>`."""
    return f"{well}.CALC.{name}"


def finite(value: Any) -> float | None:
    """A JSON-safe number: None for missing, NaN or infinite."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def numbers(values: Iterable[Any]) -> list[float | None]:
    return [finite(v) for v in values]


class ViewSource:
    """The caller's readable slice of one well: tags by key, live rows, history."""

    def __init__(self, gate: Gatekeeper, rings: RingDirectory, user: User,
                 well: WellConfig) -> None:
        self.gate, self.rings, self.user, self.well = gate, rings, user, well
        try:
            rows = collect(rings, f"{well.id}.*")
        except RingError:
            rows = []  # no daemon has written yet: the view still shows its configuration
        self.rows = {r["tag"]: r for r in rows}
        self.tags: dict[str, str] = {}  # view key -> tag name (what the page subscribes to)
        self.problems: list[str] = []  # parameters daemons/petroleum refused, by section

    def guarded(self, section: str, build: Callable[[], T]) -> T | None:
        """`build()`, or None with the reason in `problems` when a petroleum function
        refuses the well's parameters (ValueError naming the argument): one section of
        the view is missing, the rest still answers."""
        try:
            return build()
        except ValueError as exc:
            self.problems.append(f"{section}: {exc}")
            return None

    # -- tags ------------------------------------------------------------------------
    def role_tag(self, role: str) -> str | None:
        """The well's tag for a role in the installed tag maps, if the caller may read it."""
        tagmap = self.gate.tagmap
        tag = tagmap.find_role(self.well.id, role) if tagmap is not None else None
        if tag is None or not self.gate.may_read_tag(self.user, tag.name):
            return None
        return tag.name

    def site_role_tag(self, role: str) -> str | None:
        """A site tag (no well) for a role, e.g. the test separator's rates."""
        tagmap = self.gate.tagmap
        tag = tagmap.find_role(None, role) if tagmap is not None else None
        if tag is None or not self.gate.may_read_tag(self.user, tag.name):
            return None
        return tag.name

    def indexed_role_tags(self, base: str, limit: int = 16) -> list[tuple[str, str]]:
        """(role, tag) of `base_1`, `base_2`, … (e.g. pit volumes) that exist."""
        out = []
        for n in range(1, limit + 1):
            name = self.role_tag(f"{base}_{n}")
            if name is not None:
                out.append((f"{base}_{n}", name))
        return out

    def use_roles(self, *roles: str) -> None:
        """Add the well's tags of these roles under their role names (lower case)."""
        for role in roles:
            name = self.role_tag(role)
            if name is not None:
                self.tags[role] = name

    def use_calcs(self, *names: str) -> None:
        """Add calcd's results under their names (upper case) that calcd's ring holds: a
        result of a calculation this well's inputs do not feed is left out, not shown
        as a bad value."""
        for name in names:
            tag = calc_tag(self.well.id, name)
            if tag in self.rows and self.gate.may_read_tag(self.user, tag):
                self.tags[name] = tag

    # -- live values -------------------------------------------------------------------
    def row(self, key: str) -> dict[str, Any] | None:
        tag = self.tags.get(key)
        return self.rows.get(tag) if tag is not None else None

    def value(self, key: str) -> float | None:
        """The live value of a view key when its quality is not bad."""
        r = self.row(key)
        if r is None or r["quality"] == "bad" or isinstance(r["value"], list):
            return None
        return finite(r["value"])

    def array(self, tag: str | None) -> dict[str, Any] | None:
        """An array tag (a card) with its time, quality and sequence number."""
        if tag is None:
            return None
        try:
            values, ts_ns, quality, seq = self.rings.array(tag)
        except (KeyError, RingError):
            return None
        return {"tag": tag, "values": numbers(values), "ts": iso_utc(int(ts_ns)),
                "quality": severity(int(quality)), "seq": int(seq)}

    def values(self) -> dict[str, dict[str, Any] | None]:
        """Live rows of every view key; a tag outside the well's prefix (a site tag such
        as the test separator's) is read by its name."""
        for tag in set(self.tags.values()) - set(self.rows):
            try:
                self.rows.update({r["tag"]: r for r in collect(self.rings, tag)
                                  if r["tag"] == tag})
            except RingError:
                break
        return {k: self.rows.get(t) for k, t in self.tags.items()}

    # -- history -----------------------------------------------------------------------
    def history(self, tags: dict[str, str | None], span_ns: int, points: int = 400
                ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(ts_ns, value) of each readable tag over the last `span_ns` (min/max decimated)."""
        end = time.time_ns()
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        with HistoryReader(default_paths(self.gate.config.paths.state_dir)) as reader:
            for key, tag in tags.items():
                if tag is None or not reader.has(tag):
                    continue
                d = reader.decimated(tag, end - span_ns, end, points)
                ok = ~np.isnan(d.value)
                out[key] = (np.asarray(d.ts, np.int64)[ok], np.asarray(d.value)[ok])
        return out

    def against(self, axis: str, tags: dict[str, str | None], span_ns: int,
                points: int = 400) -> dict[str, Any]:
        """Series plotted against another one (parameters vs depth, weight vs depth): each
        tag's history interpolated in time onto the samples of `axis`."""
        series = self.history({axis: tags.get(axis), **tags}, span_ns, points)
        if axis not in series or series[axis][0].size == 0:
            return {axis: [], **{k: [] for k in tags if k != axis}}
        ts, base = series[axis]
        out: dict[str, Any] = {axis: numbers(base)}
        for key in tags:
            if key == axis:
                continue
            if key in series and series[key][0].size:
                t, v = series[key]
                inside = (ts >= t[0]) & (ts <= t[-1])
                out[key] = numbers(np.where(inside, np.interp(ts, t, v), np.nan))
            else:
                out[key] = [None] * len(base)
        return out

    def trend_refs(self, *keys: str) -> list[dict[str, Any]]:
        """Series the page fetches itself from `/api/history/{tag}`."""
        out = []
        for key in keys:
            tag = self.tags.get(key)
            if tag is not None:
                row = self.rows.get(tag)
                out.append({"key": key, "tag": tag, "units": row["units"] if row else ""})
        return out
