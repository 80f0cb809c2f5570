"""Annulus pressure monitor: A, B and C annulus pressures of three wells (W101-W103).

A closed annulus's pressure moves with the temperature of the well (annular pressure
build-up: trapped fluid expands, about 1-10 psi/degF with a gas cap, far more when full of
liquid; Oudeman & Bacarreza, SPE 26738, 1995).  A leak (sustained casing pressure) feeds
it from a source at pressure Ps through a restriction: dP/dt = (Ps - P)/tau, so after a
bleed-down it builds up again; a thermal pressure does not: that difference is the API
RP 90 bleed-down/build-up diagnostic this model lets technicians practise.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any

from daemons.sim.devices.base import DeviceModel, Drift, Point, relax, require

ANNULI = ("A", "B", "C")
DAY_S = 86400.0


def _points(i: int) -> tuple[Point, ...]:
    pts: list[Point] = []
    for k, name in enumerate(ANNULI):
        pts.append(Point(f"ANN_{name}", "ir", 10 * i + k, "uint16", 0.1, units="psi",
                         role=f"annulus_{name.lower()}_pressure", lo=0, hi=6000, deadband=1,
                         well=i, description=f"{name} annulus pressure"))
        pts.append(Point(f"ANN_{name}_HIGH", "ir", 10 * i + 4, f"bit:{k}", lo=0, hi=1, well=i,
                         description=f"Status bit {k}: {name} annulus above its MAWOP"))
        pts.append(Point(f"MAWOP_{name}", "hr", 100 + 10 * i + k, "uint16", units="psi",
                         access="rw", lo=0, hi=10000, scan="slow", well=i,
                         description=f"{name} annulus maximum allowable pressure (alarm)"))
        pts.append(Point(f"BLEED_{name}", "co", 10 * i + k, "bool", access="rw", lo=0, hi=1,
                         scan="slow", well=i,
                         description=f"{name} annulus bleed valve open"))
    pts.append(Point("ANN_WH_TEMP", "ir", 10 * i + 3, "int16", 0.1, units="degF", lo=-20,
                     hi=300, deadband=0.5, well=i,
                     description="Wellhead temperature at the annulus monitor"))
    return tuple(pts)


class AnnulusMonitor(DeviceModel):
    model = "annulus_monitor"
    WELLS = 3
    MAX_STEP_S = 5.0
    DEFAULTS = MappingProxyType({
        "a_base_psi": (40.0, 80.0, 1150.0),
        "b_base_psi": (25.0, 40.0, 60.0),
        "c_base_psi": (5.0, 10.0, 15.0),
        "thermal_psi_per_degf": (1.0, 3.0, 2.0),  # A, B, C
        "mawop_psi": (1500.0, 900.0, 500.0),  # A, B, C
        "wellhead_temperature_degf": (105.0, 140.0, 120.0),
        "scp_per_day": 0.01,  # chance per well per day that a B-annulus leak starts
    })

    def layout(self) -> tuple[Point, ...]:
        return tuple(pt for i in range(3) for pt in _points(i))

    def check_params(self) -> None:
        p, m = self.p, self.model
        for key in ("a_base_psi", "b_base_psi", "c_base_psi", "thermal_psi_per_degf",
                    "mawop_psi"):
            require(m, all(v >= 0 for v in p[key]), f"{key} must not be negative")
        require(m, 0 <= p["scp_per_day"] <= 10, "scp_per_day must be 0..10")

    def setup(self) -> None:
        p = self.p
        bases = (p["a_base_psi"], p["b_base_psi"], p["c_base_psi"])
        self.temp = [Drift(t, 2.0, 3 * 3600.0) for t in p["wellhead_temperature_degf"]]
        self.t_ref = list(p["wellhead_temperature_degf"])
        # charge[i][k]: pressure the annulus holds apart from thermal expansion (psi)
        self.charge = [[float(bases[k][i]) for k in range(3)] for i in range(3)]
        self.mawop = [[float(p["mawop_psi"][k]) for k in range(3)] for i in range(3)]
        self.bleed = [[False] * 3 for _ in range(3)]
        self.leaks: dict[tuple[int, int], dict[str, float]] = {}
        self.events: list[dict[str, Any]] = []
        self.diurnal_phase = 0.0
        self._put_setpoints()

    def start(self, now: float) -> None:
        self.diurnal_phase = 2 * math.pi * ((now % DAY_S) / DAY_S)

    def _thermal(self, i: int, k: int) -> float:
        # the surface section also breathes with the day (+-4 degF, peak mid-afternoon)
        t = self.temp[i].x + 4.0 * math.sin(self.diurnal_phase - 2.0)
        return self.p["thermal_psi_per_degf"][k] * (t - self.t_ref[i])

    def pressure(self, i: int, k: int) -> float:
        return max(self.charge[i][k] + self._thermal(i, k), 0.0)

    # --- time --------------------------------------------------------------------------
    def advance(self, t: float, h: float) -> None:
        now = t + h
        self.diurnal_phase = (self.diurnal_phase + 2 * math.pi * h / DAY_S) % (2 * math.pi)
        for d in self.temp:
            d.advance(h, self.rng)
        for i in range(3):
            if self.rng.random() < self.p["scp_per_day"] * h / DAY_S and (i, 1) not in self.leaks:
                self._leak(i, 1, 400.0 + 600.0 * float(self.rng.random()), 6.0, now, "natural")
            for k in range(3):
                if self.bleed[i][k]:  # open to the bleed line: down to ~0 in minutes
                    self.charge[i][k] = relax(self.charge[i][k], -self._thermal(i, k), h, 60.0)
                elif (i, k) in self.leaks:
                    leak = self.leaks[(i, k)]
                    target = leak["source_psi"] - self._thermal(i, k)
                    self.charge[i][k] = relax(self.charge[i][k], target, h,
                                              3600.0 * leak["tau_h"])

    def _leak(self, i: int, k: int, source: float, tau_h: float, now: float, why: str) -> None:
        self.leaks[(i, k)] = {"source_psi": source, "tau_h": tau_h, "since": now}
        self.events.append({"time": now, "well": self.wells[i], "annulus": ANNULI[k],
                            "leak_source_psi": source, "tau_h": tau_h, "cause": why})
        del self.events[:-50]

    # --- registers -------------------------------------------------------------------
    def refresh(self, now: float) -> None:
        for i in range(3):
            for k, name in enumerate(ANNULI):
                value = self.pressure(i, k)
                self.put(f"ANN_{name}", max(self.noisy(value, 0.3), 0.0), i)
                self.put(f"ANN_{name}_HIGH", value > self.mawop[i][k], i)
            self.put("ANN_WH_TEMP", self.noisy(self.temp[i].x, 0.2), i)

    def _put_setpoints(self) -> None:
        for i in range(3):
            for k, name in enumerate(ANNULI):
                self.put(f"MAWOP_{name}", self.mawop[i][k], i)
                self.put(f"BLEED_{name}", self.bleed[i][k], i)

    def apply_write(self, point: Point, value: float) -> None:
        i = point.well if point.well is not None else 0
        k = ANNULI.index(point.key[-1])
        if point.key.startswith("MAWOP_"):
            self.mawop[i][k] = max(value, 0.0)
        elif point.key.startswith("BLEED_"):
            self.bleed[i][k] = bool(value)
            self.events.append({"time": self.t, "well": self.wells[i], "annulus": ANNULI[k],
                                "bleed": bool(value)})
        self._put_setpoints()

    # --- events and truth ----------------------------------------------------------------
    def inject(self, event: str, **kwargs: Any) -> None:
        now = self.t or 0.0
        well = str(kwargs.get("well", self.wells[0]))
        require(self.model, well in self.wells, f"unknown well {well!r}")
        i = self.wells.index(well)
        name = str(kwargs.get("annulus", "B")).upper()
        require(self.model, name in ANNULI, f"annulus must be one of {ANNULI}")
        k = ANNULI.index(name)
        if event == "sustained_casing_pressure":
            self._leak(i, k, float(kwargs.get("source_psi", 800.0)),
                       float(kwargs.get("tau_h", 4.0)), now, "injected")
        elif event == "stop_leak":
            self.leaks.pop((i, k), None)
            self.events.append({"time": now, "well": well, "annulus": name, "leak": "stopped"})
        else:
            raise ValueError(f"{self.model}: unknown event {event!r}; known: "
                             "sustained_casing_pressure, stop_leak")

    def truth(self) -> dict[str, Any]:
        wells = {}
        for i, name in enumerate(self.wells):
            wells[name] = {
                **{f"annulus_{a.lower()}_psi": self.pressure(i, k) for k, a in enumerate(ANNULI)},
                "wellhead_temperature_degf": self.temp[i].x,
                "leaks": {ANNULI[k]: dict(v) for (j, k), v in self.leaks.items() if j == i},
                "bleeding": [ANNULI[k] for k in range(3) if self.bleed[i][k]],
            }
        return {"wells": wells, "events": list(self.events)}
