"""Test header and test separator for three flowing wells (W104-W106) + the separator (TS1).

Each well flows through its choke: Gilbert's critical-flow equation
THP = 435 * R^0.546 * q / S^1.89 (Gilbert, "Flowing and Gas-Lift Well Performance", API
Drilling and Production Practice, 1954; R in Mscf/bbl, S in 64ths of an inch) meets the
well's wellhead deliverability THP = Pmax*(1 - (q/qmax)^2); above the critical pressure
ratio (0.588) the choke's capacity falls as sqrt(1 - x^2), x = (r - 0.588)/(1 - 0.588), an
ellipse that joins zero flow at r = 1 (a simple subcritical blend, not Gilbert's).
Each well goes to the test separator (test valve), the production header (production
valve) or nowhere (shut in).
The separator's liquid holdup mixes like a stirred tank, so after a switch its net-oil
computer reads the previous well until the holdup has been displaced (the purge period).
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any

from daemons.sim.devices import fluids
from daemons.sim.devices.base import DeviceModel, Drift, Point, relax, require

IDLE, PURGING, TESTING = 0, 1, 2
STATE_NAMES = ("idle", "purging", "testing")
CRITICAL_RATIO = 0.588  # Gilbert-type chokes flow critically below this p2/p1
OIL_METER_BIAS, GAS_METER_BIAS = 1.005, 0.99  # calibrated meters are not perfect

_F = dict(type="float32", order="DCBA")


def _well_points(i: int) -> tuple[Point, ...]:
    base = 100 + 20 * i
    return (
        Point("THP", "ir", base, **_F, units="psi", role="thp", lo=0, hi=5000, deadband=1,
              well=i, description="Tubing head pressure"),
        Point("FLOWLINE_PRESSURE", "ir", base + 2, **_F, units="psi", role="flowline_pressure",
              lo=0, hi=3000, deadband=1, well=i, description="Flowline pressure at the header"),
        Point("FLOWLINE_TEMP", "ir", base + 4, **_F, units="degF",
              role="flowline_temperature", lo=-20, hi=300, deadband=0.2, well=i,
              description="Flowline temperature at the header"),
        Point("WELLHEAD_TEMP", "ir", base + 6, **_F, units="degF", role="wellhead_temperature",
              lo=-20, hi=300, deadband=0.2, well=i, description="Wellhead temperature"),
        Point("CHOKE_POSITION", "ir", base + 8, **_F, units="%", role="choke_position", lo=0,
              hi=100, well=i, description="Choke bean as % of a 64/64 in bean"),
        Point("CHOKE", "hr", 100 + 10 * i, "uint16", units="1/64 in", access="rw", lo=4,
              hi=64, scan="slow", well=i, description="Adjustable choke bean size"),
        Point("TEST_VALVE", "co", 10 + 2 * i, "bool", access="rw", role="header_valve_test",
              lo=0, hi=1, well=i, description="Header valve to the test separator"),
        Point("PROD_VALVE", "co", 11 + 2 * i, "bool", access="rw",
              role="header_valve_production", lo=0, hi=1, well=i,
              description="Header valve to the production header"),
    )


_SITE: tuple[Point, ...] = (
    Point("OIL_RATE", "ir", 0, **_F, units="bbl/d", role="test_oil_rate", lo=0, hi=20000,
          deadband=2, well=None, description="Test separator net oil rate"),
    Point("WATER_RATE", "ir", 2, **_F, units="bbl/d", role="test_water_rate", lo=0, hi=20000,
          deadband=2, well=None, description="Test separator water rate"),
    Point("GAS_RATE", "ir", 4, **_F, units="Mscf/d", role="test_gas_rate", lo=0, hi=50000,
          deadband=2, well=None, description="Test separator gas rate (orifice meter)"),
    Point("LIQUID_RATE", "ir", 6, **_F, units="bbl/d", lo=0, hi=40000, deadband=2,
          well=None, description="Test separator liquid rate (Coriolis)", role="test_liquid_rate"),
    Point("BSW", "ir", 8, **_F, units="%", role="test_bsw", lo=0, hi=100, deadband=0.1,
          well=None, description="Water cut of the liquid outlet"),
    Point("PRESSURE", "ir", 10, **_F, units="psi", role="test_pressure", lo=0, hi=1500,
          deadband=0.5, well=None, description="Test separator pressure"),
    Point("TEMPERATURE", "ir", 12, **_F, units="degF", role="test_temperature", lo=-20,
          hi=300, deadband=0.2, well=None, description="Test separator temperature"),
    Point("LEVEL", "ir", 14, **_F, units="%", role="test_level", lo=0, hi=100, deadband=0.5,
          well=None, description="Test separator liquid level"),
    Point("HEADER_PRESSURE", "ir", 16, **_F, units="psi", role="header_pressure", lo=0,
          hi=1500, deadband=0.5, well=None, description="Production header pressure"),
    Point("AMBIENT_TEMP", "ir", 18, **_F, units="degF", role="ambient_temperature", lo=-20,
          hi=140, deadband=0.2, well=None, description="Ambient temperature"),
    Point("TEST_STATE", "ir", 20, "uint16", lo=0, hi=2, well=None,
          description="0 idle, 1 purging, 2 testing"),
    Point("PURGE_LEFT", "ir", 21, "uint16", units="s", lo=0, hi=65535, well=None,
          description="Seconds left of the purge"),
    Point("TEST_ELAPSED", "ir", 22, "uint32", order="CDAB", units="s", lo=0, hi=4294967295,
          well=None, description="Seconds since the test started (after the purge)"),
    Point("TEST_START_TIME", "ir", 24, "int64", order="DCBA", units="s", lo=0,
          hi=9.2e18, scan="slow", well=None, description="Test start, Unix time"),
    Point("OIL_TOTAL", "ir", 28, "float64", order="DCBA", units="bbl", lo=0, hi=1e9,
          scan="slow", well=None, description="Oil since the test started"),
    Point("WATER_TOTAL", "ir", 32, "float64", order="DCBA", units="bbl", lo=0, hi=1e9,
          scan="slow", well=None, description="Water since the test started"),
    Point("GAS_TOTAL", "ir", 36, "uint64", order="DCBA", units="scf", lo=0, hi=1.8e19,
          scan="slow", well=None, description="Gas since the test started"),
    Point("TEST_WELL", "hr", 0, "uint16", access="rw", role="test_well", lo=0, hi=3,
          scan="slow", well=None, description="Well on test: 0 none, 1..3 = header slot"),
    Point("PURGE_MIN", "hr", 1, "uint16", units="min", access="rw", lo=0, hi=240,
          scan="slow", well=None, description="Purge time after a switch"),
    Point("PRESSURE_SP", "hr", 2, **_F, units="psi", access="rw", lo=20, hi=1000,
          scan="slow", well=None, description="Test separator pressure set point"),
)


class TestSeparator(DeviceModel):
    model = "test_separator"
    WELLS = 3
    __test__ = False  # not a pytest class, whatever its name
    DEFAULTS = MappingProxyType({
        "wellhead_pressure_max_psi": (950.0, 700.0, 1200.0),
        "deliverability_bbl_d": (900.0, 500.0, 1400.0),
        "choke_64ths": (24, 20, 28),
        "water_cut_pct": (30.0, 55.0, 10.0),
        "gor_scf_bbl": (600.0, 400.0, 1200.0),
        "reservoir_temperature_degf": (160.0, 150.0, 170.0),
        "flowline_dp_psi_per_kbbl_d2": 15.0,
        "test_pressure_psi": 100.0,
        "header_pressure_psi": 150.0,
        "holdup_bbl": 2.0,
        "purge_min": 30,
        "initial_test_well": 1,
        "ambient_temperature_degf": 85.0,
    })

    def layout(self) -> tuple[Point, ...]:
        pts: list[Point] = list(_SITE)
        for i in range(3):
            pts.extend(_well_points(i))
        return tuple(pts)

    def check_params(self) -> None:
        p, m = self.p, self.model
        require(m, all(v > 0 for v in p["wellhead_pressure_max_psi"]),
                "wellhead_pressure_max_psi must be positive")
        require(m, all(v > 0 for v in p["deliverability_bbl_d"]),
                "deliverability_bbl_d must be positive")
        require(m, all(4 <= v <= 64 for v in p["choke_64ths"]), "choke_64ths must be 4..64")
        require(m, all(0 <= v <= 100 for v in p["water_cut_pct"]), "water_cut_pct 0..100")
        require(m, p["holdup_bbl"] > 0, "holdup_bbl must be positive")
        require(m, 0 <= p["initial_test_well"] <= 3, "initial_test_well must be 0..3")

    def setup(self) -> None:
        p = self.p
        self.choke = [float(c) for c in p["choke_64ths"]]
        self.pmax = [Drift(v, 0.015 * v, 6 * 3600.0) for v in p["wellhead_pressure_max_psi"]]
        self.wc = [Drift(v / 100, 0.01, 4 * 3600.0) for v in p["water_cut_pct"]]
        self.gor = [Drift(v, 0.04 * v, 3 * 3600.0) for v in p["gor_scf_bbl"]]
        self.ambient = Drift(p["ambient_temperature_degf"], 3.0, 4 * 3600.0)
        self.header = Drift(p["header_pressure_psi"], 3.0, 1200.0)
        self.test_valve = [False] * 3
        self.prod_valve = [True] * 3
        self.q = [0.0] * 3
        self.thp = [float(v) for v in p["wellhead_pressure_max_psi"]]
        self.wht = [p["ambient_temperature_degf"]] * 3
        self.sep_sp = p["test_pressure_psi"]
        self.sep_p = self.sep_sp
        self.sep_t = p["ambient_temperature_degf"]
        self.oil_frac = 1.0 - p["water_cut_pct"][0] / 100
        self.gas_meter = 0.0
        self.liquid_out = 0.0
        self.level = 50.0
        self.purge_min = float(p["purge_min"])
        self.selected = 0
        self.state = IDLE
        self.purge_until = 0.0
        self.test_start = 0.0
        self.totals = [0.0, 0.0, 0.0]  # oil bbl, water bbl, gas scf since the test started
        self.events: list[dict[str, Any]] = []
        self.pending = int(p["initial_test_well"])
        for i in range(3):
            self._solve_well(i, 1e6)
        self._put_setpoints()

    # --- wells ---------------------------------------------------------------------------
    def _route(self, i: int) -> str:
        if self.test_valve[i]:
            return "test"  # the test separator is the lower-pressure way out
        return "production" if self.prod_valve[i] else "shut_in"

    def _downstream(self, i: int, q: float) -> float:
        route = self._route(i)
        base = self.sep_p if route == "test" else self.header.x
        return base + self.p["flowline_dp_psi_per_kbbl_d2"] * (q / 1000.0) ** 2

    def _solve_well(self, i: int, h: float) -> None:
        pmax = self.pmax[i].x
        if self._route(i) == "shut_in":
            q, thp = 0.0, pmax
        else:
            glr = max(self.gor[i].x * (1 - self.wc[i].x), 10.0) / 1000.0
            b = 435.0 * glr**0.546 / self.choke[i] ** 1.89  # psi per bbl/d through the bean
            a = pmax / self.p["deliverability_bbl_d"][i] ** 2

            def excess(q: float) -> float:  # choke capacity at the THP the well gives at q,
                thp = max(pmax - a * q * q, 0.0)  # minus q: decreasing in q
                ratio = self._downstream(i, q) / max(thp, 1e-6)
                x = (ratio - CRITICAL_RATIO) / (1 - CRITICAL_RATIO)
                factor = 1.0 if ratio <= CRITICAL_RATIO else math.sqrt(max(1 - x * x, 0.0))
                return thp / b * factor - q

            q = fluids.solve_increasing(lambda v: -excess(v), 0.0,
                                        self.p["deliverability_bbl_d"][i])
            thp = max(pmax - a * q * q, 0.0)
        self.q[i] = relax(self.q[i], q, h, 60.0)
        self.thp[i] = relax(self.thp[i], thp, h, 120.0 if q > 0 else 900.0)
        t_res = self.p["reservoir_temperature_degf"][i]
        amb = self.ambient.x
        self.wht[i] = relax(self.wht[i], amb + (t_res - amb) * self.q[i] / (self.q[i] + 150.0),
                            h, 900.0)

    def _rates(self, i: int) -> tuple[float, float, float]:
        """(oil bbl/d, water bbl/d, gas Mscf/d) of well i now."""
        q, wc = self.q[i], min(max(self.wc[i].x, 0.0), 1.0)
        oil = q * (1 - wc)
        return oil, q * wc, oil * self.gor[i].x / 1000.0

    def _flowline_temp(self, i: int) -> float:
        amb = self.ambient.x
        return amb + 0.8 * (self.wht[i] - amb)

    # --- the test header -----------------------------------------------------------------
    def _select(self, n: int, now: float, purge: bool = True) -> None:
        if self.selected:
            self.test_valve[self.selected - 1] = False
            self.prod_valve[self.selected - 1] = True
        if n:
            self.test_valve[n - 1] = True
            self.prod_valve[n - 1] = False
        self.selected = n
        self.state = (PURGING if purge else TESTING) if n else IDLE
        self.purge_until = now + 60.0 * self.purge_min if purge else now
        if not purge and n:
            self._begin_test(now)
        self.events.append({"time": now, "test_well": self.wells[n - 1] if n else None})
        del self.events[:-50]
        self._put_setpoints()

    def _begin_test(self, now: float) -> None:
        self.state = TESTING
        self.test_start = now
        self.totals = [0.0, 0.0, 0.0]

    def start(self, now: float) -> None:
        if self.pending:  # the demo starts with a well already purged and on test
            self._select(self.pending, now, purge=False)
            oil, water, _ = self._rates(self.pending - 1)
            self.oil_frac = oil / max(oil + water, 1e-9)
            self.gas_meter = self._inflow()[2]
            self.liquid_out = self._inflow()[0] + self._inflow()[1]
            self.pending = 0

    def _inflow(self) -> tuple[float, float, float]:
        oil = water = gas = 0.0
        for i in range(3):
            if self._route(i) == "test":
                o, w, g = self._rates(i)
                oil, water, gas = oil + o, water + w, gas + g
        return oil, water, gas

    # --- time --------------------------------------------------------------------------
    def advance(self, t: float, h: float) -> None:
        for d in (*self.pmax, *self.wc, *self.gor, self.ambient, self.header):
            d.advance(h, self.rng)
        now = t + h
        for i in range(3):
            self._solve_well(i, h)
        oil, water, gas = self._inflow()
        liquid = oil + water
        self.sep_p = relax(self.sep_p, self.sep_sp + 0.002 * gas, h, 30.0)
        if liquid > 0:  # stirred-tank mixing of the liquid holdup
            c_in = oil / liquid
            k = liquid / 86400.0 * h / self.p["holdup_bbl"]
            self.oil_frac = c_in + (self.oil_frac - c_in) * math.exp(-k)
            temps = sum(self._flowline_temp(i) * self.q[i] for i in range(3)
                        if self._route(i) == "test")
            inflow_t = temps / max(sum(self.q[i] for i in range(3)
                                       if self._route(i) == "test"), 1e-9)
        else:
            inflow_t = self.ambient.x
        self.sep_t = relax(self.sep_t, inflow_t, h, 300.0)
        self.gas_meter = relax(self.gas_meter, gas, h, 20.0)
        self.liquid_out = relax(self.liquid_out, liquid, h, 60.0)
        self.level = 50.0 + 8.0 * math.tanh((liquid - self.liquid_out) / 300.0)
        if self.state == PURGING and now >= self.purge_until:
            self._begin_test(now)
        if self.state == TESTING:
            m_oil, m_water, m_gas = self._measured()
            self.totals[0] += m_oil * h / 86400.0
            self.totals[1] += m_water * h / 86400.0
            self.totals[2] += m_gas * 1000.0 * h / 86400.0

    def _measured(self) -> tuple[float, float, float]:
        out = self.liquid_out
        return (out * self.oil_frac * OIL_METER_BIAS, out * (1 - self.oil_frac),
                self.gas_meter * GAS_METER_BIAS)

    # --- registers -------------------------------------------------------------------
    def refresh(self, now: float) -> None:
        m_oil, m_water, m_gas = self._measured()
        n = self.rng.standard_normal
        self.put("OIL_RATE", max(m_oil * (1 + 0.005 * float(n())), 0.0), None)
        self.put("WATER_RATE", max(m_water * (1 + 0.005 * float(n())), 0.0), None)
        self.put("GAS_RATE", max(m_gas * (1 + 0.005 * float(n())), 0.0), None)
        self.put("LIQUID_RATE", max((m_oil / OIL_METER_BIAS + m_water)
                                    * (1 + 0.002 * float(n())), 0.0), None)
        self.put("BSW", min(max(100.0 * (1 - self.oil_frac) + 0.1 * float(n()), 0.0), 100.0),
                 None)
        self.put("PRESSURE", max(self.noisy(self.sep_p, 0.3), 0.0), None)
        self.put("TEMPERATURE", self.noisy(self.sep_t, 0.1), None)
        self.put("LEVEL", min(max(self.noisy(self.level, 0.3), 0.0), 100.0), None)
        self.put("HEADER_PRESSURE", max(self.noisy(self.header.x, 0.3), 0.0), None)
        self.put("AMBIENT_TEMP", self.noisy(self.ambient.x, 0.1), None)
        self.put("TEST_STATE", self.state, None)
        left = self.purge_until - now if self.state == PURGING else 0.0
        self.put("PURGE_LEFT", min(max(left, 0.0), 65535.0), None)
        elapsed = now - self.test_start if self.state == TESTING else 0.0
        self.put("TEST_ELAPSED", max(elapsed, 0.0), None)
        self.put("TEST_START_TIME", int(self.test_start), None)
        self.put("OIL_TOTAL", self.totals[0], None)
        self.put("WATER_TOTAL", self.totals[1], None)
        self.put("GAS_TOTAL", int(self.totals[2]), None)
        for i in range(3):
            self.put("THP", max(self.noisy(self.thp[i], 0.5), 0.0), i)
            down = self._downstream(i, self.q[i]) if self._route(i) != "shut_in" \
                else self.header.x
            self.put("FLOWLINE_PRESSURE", max(self.noisy(down, 0.4), 0.0), i)
            self.put("FLOWLINE_TEMP", self.noisy(self._flowline_temp(i), 0.1), i)
            self.put("WELLHEAD_TEMP", self.noisy(self.wht[i], 0.1), i)
            self.put("CHOKE_POSITION", 100.0 * self.choke[i] / 64.0, i)

    def _put_setpoints(self) -> None:
        self.put("TEST_WELL", self.selected, None)
        self.put("PURGE_MIN", self.purge_min, None)
        self.put("PRESSURE_SP", self.sep_sp, None)
        for i in range(3):
            self.put("CHOKE", self.choke[i], i)
            self.put("TEST_VALVE", self.test_valve[i], i)
            self.put("PROD_VALVE", self.prod_valve[i], i)

    def apply_write(self, point: Point, value: float) -> None:
        now = self.t or 0.0
        key, i = point.key, point.well
        if key == "TEST_WELL":
            n = int(value)
            if 0 <= n <= 3 and n != self.selected:
                self._select(n, now)
        elif key == "PURGE_MIN":
            self.purge_min = min(max(value, 0.0), 240.0)
        elif key == "PRESSURE_SP":
            self.sep_sp = min(max(value, 20.0), 1000.0)
        elif key == "CHOKE" and i is not None:
            self.choke[i] = min(max(round(value), 4), 64)
        elif key == "TEST_VALVE" and i is not None:
            self.test_valve[i] = bool(value)
        elif key == "PROD_VALVE" and i is not None:
            self.prod_valve[i] = bool(value)
        self._put_setpoints()

    # --- events and truth ----------------------------------------------------------------
    def inject(self, event: str, **kwargs: Any) -> None:
        if event == "water_breakthrough":
            i = self.wells.index(str(kwargs.get("well", self.wells[0])))
            self.wc[i].mean = min(self.wc[i].mean + float(kwargs.get("increase_pct", 20)) / 100,
                                  0.98)
        else:
            raise ValueError(f"{self.model}: unknown event {event!r}; known: "
                             "water_breakthrough")
        self.events.append({"time": self.t, "event": event, **kwargs})

    def truth(self) -> dict[str, Any]:
        wells = {}
        for i, name in enumerate(self.wells):
            oil, water, gas = self._rates(i)
            wells[name] = {"oil_rate_bbl_d": oil, "water_rate_bbl_d": water,
                           "gas_rate_mscf_d": gas, "liquid_rate_bbl_d": oil + water,
                           "water_cut": water / max(oil + water, 1e-9), "thp_psi": self.thp[i],
                           "route": self._route(i), "choke_64ths": self.choke[i]}
        oil, water, gas = self._inflow()
        return {
            "wells": wells,
            "separator": {
                "state": STATE_NAMES[self.state],
                "test_well": self.wells[self.selected - 1] if self.selected else None,
                "wells_to_test": [w for i, w in enumerate(self.wells)
                                  if self._route(i) == "test"],
                "inflow_oil_bbl_d": oil, "inflow_water_bbl_d": water,
                "inflow_gas_mscf_d": gas, "holdup_oil_fraction": self.oil_frac,
                "pressure_psi": self.sep_p, "purge_until": self.purge_until,
                "test_start": self.test_start, "totals_oil_water_bbl_gas_scf": self.totals,
                "oil_meter_factor": OIL_METER_BIAS, "gas_meter_factor": GAS_METER_BIAS},
            "events": list(self.events),
        }
