"""Continuous gas-lift injection controller with a wellhead multiphase meter: W103.

Lift gas comes from a supply header through a control valve (PI loop on the metered rate)
into the casing; the annulus stores gas (its pressure integrates surface inflow minus the
flow through the operating valve) and the operating valve passes
q = K*sqrt(Pcv^2 - Ptv^2) (subcritical gas orifice, pressures absolute), with the casing
pressure at valve depth from the static gas column Pcv = Pc*exp(0.01875*sg*D/(z*T))
(Katz et al., Handbook of Natural Gas Engineering, 1959, static gas column).
Production follows the nodal-analysis performance curve (`gas_lift_curve`) with a lag;
below about 30 % of the optimum injection the well heads (relaxation oscillation of rate,
THP and casing pressure), as casing-heading wells do.
"""

from __future__ import annotations

import math
import time
from types import MappingProxyType
from typing import Any

from daemons.sim.devices import fluids
from daemons.sim.devices.base import DeviceModel, Drift, Point, relax, require
from daemons.sim.devices.gas_lift_curve import GasLiftWell, performance_curve

MANUAL, AUTO = 0, 1
_F = dict(type="float32", order="ABCD")
POINTS: tuple[Point, ...] = (
    Point("INJ_RATE", "ir", 0, **_F, units="Mscf/d", role="injection_rate", lo=0, hi=5000,
          deadband=2, description="Lift gas injection rate (meter run)"),
    Point("INJ_PRESSURE", "ir", 2, **_F, units="psi", role="injection_pressure", lo=0,
          hi=3000, deadband=1, description="Injection pressure downstream of the valve"),
    Point("INJ_TEMP", "ir", 4, **_F, units="degF", role="injection_temperature", lo=-20,
          hi=250, deadband=0.2, description="Injection gas temperature"),
    Point("SUPPLY_PRESSURE", "ir", 6, **_F, units="psi", lo=0, hi=3000, deadband=1,
          description="Gas supply header pressure upstream of the valve", role="supply_pressure"),
    Point("VALVE_POSITION", "ir", 8, **_F, units="%", role="injection_valve_position", lo=0,
          hi=100, deadband=0.2, description="Injection control valve position"),
    Point("THP", "ir", 10, **_F, units="psi", role="thp", lo=0, hi=3000, deadband=1,
          description="Tubing head pressure"),
    Point("CHP", "ir", 12, **_F, units="psi", role="chp", lo=0, hi=3000, deadband=1,
          description="Casing head pressure"),
    Point("WELLHEAD_TEMP", "ir", 14, **_F, units="degF", role="wellhead_temperature",
          lo=-20, hi=300, deadband=0.2, description="Flowing wellhead temperature"),
    Point("OIL_RATE", "ir", 16, **_F, units="bbl/d", role="oil_rate", lo=0, hi=10000,
          deadband=2, description="Oil rate (wellhead multiphase meter)"),
    Point("WATER_RATE", "ir", 18, **_F, units="bbl/d", role="water_rate", lo=0, hi=10000,
          deadband=2, description="Water rate (wellhead multiphase meter)"),
    Point("GAS_RATE", "ir", 20, **_F, units="Mscf/d", role="gas_rate", lo=0, hi=10000,
          deadband=2, description="Total gas rate incl. lift gas (multiphase meter)"),
    Point("LIQUID_RATE", "ir", 22, **_F, units="bbl/d", role="liquid_rate", lo=0, hi=20000,
          deadband=2, description="Liquid rate (multiphase meter)"),
    Point("INJ_TODAY", "ir", 24, **_F, units="Mscf", lo=0, hi=10000, scan="slow",
          description="Gas injected since midnight"),
    Point("INJ_YESTERDAY", "ir", 26, **_F, units="Mscf", lo=0, hi=10000, scan="slow",
          description="Gas injected yesterday"),
    Point("STATUS", "ir", 28, "uint16", lo=0, hi=2,
          description="0 injection disabled, 1 automatic, 2 manual"),
    Point("LOW_SUPPLY", "ir", 29, "bit:0", lo=0, hi=1,
          description="Alarm bit 0: supply pressure too low for the set point"),
    Point("DEVIATION", "ir", 29, "bit:1", lo=0, hi=1,
          description="Alarm bit 1: rate off set point by >10 % for 5 min"),
    Point("INJ_SETPOINT", "hr", 0, **_F, units="Mscf/d", role="injection_setpoint",
          access="rw", lo=0, hi=5000, scan="slow", description="Injection rate set point"),
    Point("VALVE_MANUAL", "hr", 2, **_F, units="%", access="rw", lo=0, hi=100, scan="slow",
          description="Valve position in manual mode"),
    Point("MODE", "hr", 4, "uint16", access="rw", lo=0, hi=1, scan="slow",
          description="0 manual, 1 automatic (rate control)"),
    Point("ENABLE", "co", 0, "bool", access="rw", role="run_status", lo=0, hi=1, scan="slow",
          description="Injection enabled (0 closes the valve)"),
)


class GasLiftController(DeviceModel):
    model = "gas_lift_controller"
    WELLS = 1
    DEFAULTS = MappingProxyType({
        "perforation_depth_ft": 7500.0,
        "valve_depth_ft": 6500.0,
        "tubing_id_in": 2.441,
        "tubing_head_pressure_psi": 120.0,
        "reservoir_pressure_psi": 2300.0,
        "productivity_index_bbl_d_psi": 1.5,
        "bubble_point_psi": 1500.0,
        "water_cut_pct": 50.0,
        "oil_api": 30.0,
        "gas_sg": 0.7,
        "formation_glr_scf_bbl": 300.0,
        "surface_temperature_degf": 100.0,
        "bottom_temperature_degf": 190.0,
        "supply_pressure_psi": 1700.0,
        "injection_mscf_d": 900.0,
        "annulus_capacity_bbl_ft": 0.0302,
        "valve_coefficient": 1.42,  # Mscf/d per psia (downhole orifice)
        "control_valve_coefficient": 2.0,  # Mscf/d per psia at 100 % open
    })

    def layout(self) -> tuple[Point, ...]:
        return POINTS

    def check_params(self) -> None:
        p, m = self.p, self.model
        require(m, 0 < p["valve_depth_ft"] <= p["perforation_depth_ft"] <= 20000,
                "need 0 < valve_depth_ft <= perforation_depth_ft <= 20000")
        require(m, p["supply_pressure_psi"] > p["tubing_head_pressure_psi"] > 0,
                "supply_pressure_psi > tubing_head_pressure_psi > 0")
        require(m, 0 <= p["injection_mscf_d"] <= 5000, "injection_mscf_d must be 0..5000")
        require(m, 0 <= p["water_cut_pct"] <= 100, "water_cut_pct must be 0..100")
        require(m, p["reservoir_pressure_psi"] > 0 and p["productivity_index_bbl_d_psi"] > 0,
                "reservoir_pressure_psi and productivity_index_bbl_d_psi must be positive")

    def setup(self) -> None:
        p = self.p
        self.well = GasLiftWell(
            p["perforation_depth_ft"], p["valve_depth_ft"], p["tubing_id_in"],
            p["tubing_head_pressure_psi"], p["reservoir_pressure_psi"],
            p["productivity_index_bbl_d_psi"], p["bubble_point_psi"], p["water_cut_pct"] / 100,
            p["oil_api"], 1.05, p["gas_sg"], p["formation_glr_scf_bbl"],
            p["surface_temperature_degf"], p["bottom_temperature_degf"])
        self.curve = performance_curve(self.well, max_injection_mscf_d=3000.0)
        self.q_opt, _ = self.curve.optimum
        self.q_heading = 0.3 * self.q_opt
        t_avg = (p["surface_temperature_degf"] + p["bottom_temperature_degf"]) / 2 + 459.67
        # static gas column factor, Pcv = Pc * exp(0.01875*sg*D/(z*T)) (absolute pressures)
        self.column = math.exp(0.01875 * p["gas_sg"] * p["valve_depth_ft"] / (0.9 * t_avg))
        volume_ft3 = p["annulus_capacity_bbl_ft"] * p["valve_depth_ft"] * fluids.FT3_PER_BBL
        self.scf_per_psi = volume_ft3 * fluids.RANKINE_SC / (0.9 * t_avg * fluids.PSIA_SC)
        self.supply = Drift(p["supply_pressure_psi"], 15.0, 1800.0)
        self.thp_base = Drift(p["tubing_head_pressure_psi"], 3.0, 1800.0)
        self.gas_t = Drift(p["surface_temperature_degf"] - 5.0, 3.0, 3600.0)
        self.setpoint = p["injection_mscf_d"]
        self.mode, self.enabled, self.manual = AUTO, True, 50.0
        # start in the steady state of the set point
        q = self.setpoint
        _, ptv, _ = self.curve.at(q)
        pcv = math.sqrt((ptv + 14.7) ** 2 + (q / p["valve_coefficient"]) ** 2)
        self.pc = pcv / self.column - 14.7
        self.q_down = q
        self.ptv = ptv
        self.x = self._opening_for(q)
        self.q_surface = self._surface_flow()
        self.liquid = self.curve.at(q)[0]
        self.phase = 0.0
        self.amplitude = 0.0
        self.wht = p["surface_temperature_degf"] + 20.0
        self.inj = {"today": 0.0, "yesterday": 0.0}
        self.day: int | None = None
        self.off_sp_s = 0.0
        self.events: list[dict[str, Any]] = []
        self._put_setpoints()

    def _surface_flow(self) -> float:
        """Control-valve gas flow; critical (choked) below a pressure ratio of 0.53."""
        if not self.enabled:
            return 0.0
        sup = self.supply.x + 14.7
        ratio = max((self.pc + 14.7) / sup, 0.53)
        return self.p["control_valve_coefficient"] * self.x * sup * math.sqrt(
            max(1.0 - ratio * ratio, 0.0))

    def _opening_for(self, q: float) -> float:
        sup = self.supply.x + 14.7
        ratio = max((self.pc + 14.7) / sup, 0.53)
        full = self.p["control_valve_coefficient"] * sup * math.sqrt(max(1 - ratio**2, 1e-9))
        return min(max(q / full, 0.0), 1.0)

    # --- time --------------------------------------------------------------------------
    def advance(self, t: float, h: float) -> None:
        for d in (self.supply, self.thp_base, self.gas_t):
            d.advance(h, self.rng)
        if self.enabled and self.mode == AUTO:
            err = (self.setpoint - self.q_surface) / 3000.0
            self.x = min(max(self.x + 0.05 * err * h, 0.0), 1.0)  # integral action
        elif self.enabled:
            self.x = relax(self.x, self.manual / 100.0, h, 10.0)  # actuator travel
        else:
            self.x = relax(self.x, 0.0, h, 10.0)
        self.q_surface = self._surface_flow()
        # the tubing pressure at the valve follows the gas in the tubing with a lag (the
        # column takes minutes to lighten or load up)
        self.ptv = relax(self.ptv, self.curve.at(self.q_down)[1], h, 600.0)
        pcv = (self.pc + 14.7) * self.column
        self.q_down = self.p["valve_coefficient"] * math.sqrt(
            max(pcv**2 - (self.ptv + 14.7) ** 2, 0.0))
        dp = (self.q_surface - self.q_down) * 1000.0 / 86400.0 * h / self.scf_per_psi
        self.pc = max(self.pc + dp, 0.0)
        self.liquid = relax(self.liquid, self.curve.at(self.q_down)[0], h, 900.0)
        self.amplitude = relax(self.amplitude, min(max(1 - self.q_down / self.q_heading, 0), 1),
                               h, 600.0)
        self.phase = (self.phase + 2 * math.pi * h / 1200.0) % (2 * math.pi)  # 20 min heads
        self.wht = relax(self.wht, self.p["surface_temperature_degf"] + 60.0 * self.liquid
                         / (self.liquid + 600.0), h, 1800.0)
        day = time.localtime(t + h).tm_yday
        if day != self.day:
            if self.day is not None:
                self.inj = {"today": 0.0, "yesterday": self.inj["today"]}
            self.day = day
        self.inj["today"] += self.q_surface * h / 86400.0
        off = abs(self.q_surface - self.setpoint) > 0.1 * max(self.setpoint, 50.0)
        self.off_sp_s = self.off_sp_s + h if off and self.mode == AUTO else 0.0

    def _heading(self) -> float:
        """Zero-mean relaxation wave (a slug, then a quiet build-up), times the amplitude."""
        w = math.sin(self.phase) + 0.35 * math.sin(2 * self.phase)
        return self.amplitude * w

    def _rates(self) -> tuple[float, float, float, float]:
        wc = self.p["water_cut_pct"] / 100
        liquid = max(self.liquid * (1.0 + 0.8 * self._heading()), 0.0)
        gas = liquid * self.p["formation_glr_scf_bbl"] / 1000.0 + self.q_down
        return liquid * (1 - wc), liquid * wc, gas, liquid

    # --- registers -------------------------------------------------------------------
    def refresh(self, now: float) -> None:
        oil, water, gas, liquid = self._rates()
        head = self._heading()
        thp = self.thp_base.x + 0.02 * liquid
        self.put("INJ_RATE", max(self.noisy(self.q_surface, 3.0), 0.0))
        self.put("INJ_PRESSURE", max(self.noisy(self.pc, 1.0), 0.0))
        self.put("INJ_TEMP", self.noisy(self.gas_t.x, 0.2))
        self.put("SUPPLY_PRESSURE", max(self.noisy(self.supply.x, 1.0), 0.0))
        self.put("VALVE_POSITION", 100.0 * self.x)
        self.put("THP", max(self.noisy(thp * (1 + 0.5 * head), 0.8), 0.0))
        self.put("CHP", max(self.noisy(self.pc * (1 + 0.03 * head), 1.0), 0.0))
        self.put("WELLHEAD_TEMP", self.noisy(self.wht, 0.2))
        self.put("OIL_RATE", max(oil * (1 + 0.02 * float(self.rng.standard_normal())), 0.0))
        self.put("WATER_RATE", max(water * (1 + 0.02 * float(self.rng.standard_normal())), 0))
        self.put("GAS_RATE", max(gas * (1 + 0.02 * float(self.rng.standard_normal())), 0.0))
        self.put("LIQUID_RATE", max(liquid * (1 + 0.01 * float(self.rng.standard_normal())), 0))
        self.put("INJ_TODAY", self.inj["today"])
        self.put("INJ_YESTERDAY", self.inj["yesterday"])
        self.put("STATUS", 0 if not self.enabled else 1 if self.mode == AUTO else 2)
        self.put("LOW_SUPPLY", self.enabled and self.mode == AUTO and self.x >= 0.999
                 and self.q_surface < 0.95 * self.setpoint)
        self.put("DEVIATION", self.off_sp_s > 300.0)

    def _put_setpoints(self) -> None:
        self.put("INJ_SETPOINT", self.setpoint)
        self.put("VALVE_MANUAL", self.manual)
        self.put("MODE", self.mode)
        self.put("ENABLE", self.enabled)

    def apply_write(self, point: Point, value: float) -> None:
        if point.key == "INJ_SETPOINT":
            self.setpoint = min(max(value, 0.0), 5000.0)
        elif point.key == "VALVE_MANUAL":
            self.manual = min(max(value, 0.0), 100.0)
        elif point.key == "MODE":
            self.mode = AUTO if value >= 0.5 else MANUAL
            self.manual = 100.0 * self.x  # bumpless transfer
        elif point.key == "ENABLE":
            self.enabled = bool(value)
        self.events.append({"time": self.t, "write": point.key, "value": value})
        del self.events[:-50]
        self._put_setpoints()

    # --- events and truth ----------------------------------------------------------------
    def inject(self, event: str, **kwargs: Any) -> None:
        if event == "supply_drop":
            self.supply.x = float(kwargs.get("pressure_psi", 0.7 * self.supply.mean))
        else:
            raise ValueError(f"{self.model}: unknown event {event!r}; known: supply_drop")
        self.events.append({"time": self.t, "event": event, **kwargs})

    def truth(self) -> dict[str, Any]:
        oil, water, gas, liquid = self._rates()
        q_opt, l_opt = self.curve.optimum
        pwf = self.curve.at(self.q_down)[2]
        return {
            "well": self.wells[0],
            "oil_rate_bbl_d": oil,
            "water_rate_bbl_d": water,
            "gas_rate_mscf_d": gas,
            "liquid_rate_bbl_d": liquid,
            "steady_liquid_rate_bbl_d": self.liquid,
            "surface_injection_mscf_d": self.q_surface,
            "downhole_injection_mscf_d": self.q_down,
            "casing_pressure_psi": self.pc,
            "casing_pressure_at_valve_psi": (self.pc + 14.7) * self.column - 14.7,
            "tubing_pressure_at_valve_psi": self.ptv,
            "pwf_psi": pwf,
            "valve_opening": self.x,
            "heading": self.amplitude > 0.1,
            "heading_amplitude": self.amplitude,
            "performance_curve": {
                "injection_mscf_d": [round(float(v), 1) for v in self.curve.injection_mscf_d],
                "liquid_bbl_d": [round(float(v), 2) for v in self.curve.liquid_bbl_d]},
            "optimum": {"injection_mscf_d": q_opt, "liquid_bbl_d": l_opt},
            "events": list(self.events),
        }
