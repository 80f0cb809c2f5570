"""The simulated site in-process, on a simulated clock, as calcd's input frame.

The device models (daemons/sim/devices) are stepped to any time we like — an hour of a rig
costs a second — and their published values become a `Frame` with the reference tag
maps' names, exactly the tags acqd would put in its ring (engineering values before the
register encoding; Good quality, timestamped now).  Long accuracy scenarios run this way;
the daemon test runs the real thing (simulator over Modbus, acqd, calcd processes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from daemons.calcd.batch import Frame
from daemons.calcd.catalogue import CALCULATIONS
from daemons.calcd.engine import Engine
from daemons.core.config import GatewayConfig, load_config
from daemons.core.tagmap import TagMap, TagMapContext, load_tagmaps
from daemons.sim.bank import RegisterBank
from daemons.sim.devices import MODELS
from daemons.sim.devices.tagmaps import DEMO_DEVICES, tag_name

REPO = Path(__file__).resolve().parents[2]
START = 1_750_000_000.0  # a fixed simulated epoch (2025-06-15)


def demo_config() -> GatewayConfig:
    return load_config(REPO / "config" / "gateway.toml")


def demo_tagmap(config: GatewayConfig) -> TagMap:
    return load_tagmaps(sorted((REPO / "tagmaps").glob("*.csv")),
                        TagMapContext.from_config(config))


class SimFeed:
    """Some of the demo site's devices, stepped on a simulated clock."""

    def __init__(self, devices: Iterable[str], *, seed: int = 5, start: float = START,
                 params: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.t = start
        self.models: dict[str, Any] = {}
        rows: list[tuple[str, Any, tuple[str, int | None], bool]] = []
        wanted = set(devices)
        for k, dev in enumerate(DEMO_DEVICES):
            if dev.name not in wanted:
                continue
            model = MODELS[dev.model](RegisterBank(), wells=list(dev.wells),
                                      params=dict((params or {}).get(dev.name, {})),
                                      seed=seed + k)
            self.models[dev.name] = model
            for pt in model.points:
                rows.append((tag_name(pt, dev), model, (pt.key, pt.well), pt.count > 1))
        self.names = tuple(r[0] for r in rows)
        self._rows = rows
        self._arrays: dict[str, tuple[int, Any, int]] = {}  # name -> (id, value, seq)
        self.step(start)

    def step(self, t: float) -> None:
        self.t = t
        for m in self.models.values():
            m.step(t)

    def advance(self, seconds: float) -> None:
        self.step(self.t + seconds)

    def frame(self) -> Frame:
        n = len(self._rows)
        values = np.full(n, np.nan)
        now = int(self.t * 1e9)
        for k, (_, model, key, is_array) in enumerate(self._rows):
            if is_array:
                continue
            v = model.values.get(key)
            if v is not None and not isinstance(v, str):
                values[k] = float(v)
        arrays = {}
        for name, model, key, is_array in self._rows:
            if is_array:
                v = model.values.get(key)
                ident, _, seq = self._arrays.get(name, (0, None, 0))
                if v is not None and id(v) != ident:
                    seq += 1
                self._arrays[name] = (id(v), v, seq)
                arrays[name] = (np.asarray(v, dtype=float), now, 0, seq)
        return Frame(self.names, values, np.full(n, now, np.int64), np.zeros(n, np.uint32),
                     arrays.get)

    def truth(self, device: str) -> dict[str, Any]:
        return self.models[device].truth()


class Harness:
    """A SimFeed driving a calcd engine built from the demo configuration."""

    def __init__(self, devices: Iterable[str], *, config: GatewayConfig | None = None,
                 calcs: Iterable[type] = CALCULATIONS, services: dict | None = None,
                 tagmap: TagMap | None = None, **kw: Any) -> None:
        self.config = config or demo_config()
        self.tagmap = tagmap or demo_tagmap(self.config)
        self.feed = SimFeed(devices, **kw)
        self.engine = Engine(self.config, self.tagmap, tuple(calcs), services=services)
        self.index = {s.name: k for k, s in enumerate(self.engine.specs)}
        self.latest: dict[str, tuple[float, int]] = {}

    def run(self, seconds: float, step: float = 1.0, each: Any = None) -> None:
        """Advance the simulation and run a cycle every `step` seconds."""
        end = self.feed.t + seconds
        while self.feed.t < end - 1e-9:
            self.feed.advance(step)
            self.cycle()
            if each is not None:
                each(self)

    def cycle(self) -> None:
        now = int(self.feed.t * 1e9)
        out = self.engine.cycle(self.feed.frame(), now)
        for k in np.flatnonzero(out.dirty):
            self.latest[out.names[k]] = (float(out.values[k]), int(out.quality[k]))
        self.engine.published()

    def value(self, tag: str) -> float:
        return self.latest[tag][0]

    def quality(self, tag: str) -> int:
        return self.latest[tag][1]
