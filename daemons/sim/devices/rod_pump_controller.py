"""Rod pump controller (pump-off controller) on a conventional beam unit: W101.

Every stroke is computed by the forward model (`rodstring.RodPumpSolver`) driven by the
four-bar kinematics (`beam_unit`), with the pump fed by an annulus whose fluid level
follows Vogel inflow and the pump's own withdrawal.  As the level falls, the intake
pressure drops, free gas grows (gas interference) and at last the pump cannot fill (fluid
pound); the controller then stops for its down time while the annulus refills.

Strokes that end before the last two of a call's interval are accounted for with the
results of the last computed stroke (fillage from the liquid available), so a big gap
costs microseconds per stroke; the strokes a master can see are always computed in full.
"""

from __future__ import annotations

import math
import time
from types import MappingProxyType
from typing import Any

import numpy as np

from daemons.sim.devices import fluids
from daemons.sim.devices.base import DeviceModel, Drift, Point, relax, require
from daemons.sim.devices.beam_unit import (
    BeamUnit,
    Motor,
    balanced_counterbalance,
    crank_torque,
)
from daemons.sim.devices.rodstring import (
    IN3_PER_BBL,
    Pump,
    PumpConditions,
    RodPumpSolver,
    RodString,
    StrokeResult,
    Taper,
)
from daemons.sim.devices.rpc_io import RodPumpIO, estimate_fillage
from daemons.sim.devices.rpc_points import (
    CARD_POINTS,
    MALFUNCTION,
    POINTS,
    PUMPED_OFF,
    RUNNING,
    STATE_NAMES,
    STOPPED,
)


class RodPumpController(RodPumpIO, DeviceModel):
    model = "rod_pump_controller"
    WELLS = 1
    MAX_STEP_S = 5.0
    DEFAULTS = MappingProxyType({
        "pump_depth_ft": 4500.0,
        "perforation_depth_ft": 4600.0,
        "taper_diameters_in": (1.0, 0.875, 0.75),
        "taper_fractions": (0.338, 0.375, 0.287),  # API RP 11L rod No. 86, 1.75 in pump
        "plunger_diameter_in": 1.75,
        "stroke_length_in": 86.0,
        "spm": 8.0,
        "pump_spacing_in": 12.0,
        "plunger_friction_lbf": 200.0,
        "damping_factor": 0.15,
        "grid_ft": 100.0,
        "tubing_head_pressure_psi": 100.0,
        "casing_head_pressure_psi": 40.0,
        "reservoir_pressure_psi": 1400.0,
        "vogel_qmax_bbl_d": 150.0,
        "water_cut_pct": 60.0,
        "oil_api": 32.0,
        "water_sg": 1.05,
        "free_gas_scf_bbl": 5.0,
        "annulus_gradient_factor": 0.85,
        "casing_id_in": 6.366,
        "tubing_od_in": 2.875,
        "initial_submergence_ft": 60.0,
        "surface_temperature_degf": 85.0,
        "geothermal_gradient_degf_100ft": 1.5,
        "pump_off_fillage_pct": 75.0,
        "down_time_min": 15.0,
        "pump_off_strokes": 3,
        "motor_hp": 40.0,
        "vfd": True,
    })

    def layout(self) -> tuple[Point, ...]:
        return POINTS

    def check_params(self) -> None:
        p, m = self.p, self.model
        require(m, 500 <= p["pump_depth_ft"] <= 12000, "pump_depth_ft must be 500..12000")
        require(m, p["perforation_depth_ft"] >= p["pump_depth_ft"],
                "perforation_depth_ft must be at or below pump_depth_ft")
        fr = p["taper_fractions"]
        require(m, all(f > 0 for f in fr) and abs(sum(fr) - 1.0) < 0.01,
                "taper_fractions must be positive and add up to 1")
        require(m, all(0.5 <= d <= 1.5 for d in p["taper_diameters_in"]),
                "taper_diameters_in must be 0.5..1.5 in")
        require(m, 1.0 <= p["plunger_diameter_in"] <= 4.0, "plunger_diameter_in must be 1..4")
        require(m, 24 <= p["stroke_length_in"] <= 200, "stroke_length_in must be 24..200")
        require(m, 1 <= p["spm"] <= 15, "spm must be 1..15")
        require(m, p["reservoir_pressure_psi"] > 0 and p["vogel_qmax_bbl_d"] > 0,
                "reservoir_pressure_psi and vogel_qmax_bbl_d must be positive")
        require(m, 0 <= p["water_cut_pct"] <= 100, "water_cut_pct must be 0..100")
        require(m, p["casing_id_in"] > p["tubing_od_in"] > 0, "casing_id_in > tubing_od_in > 0")
        require(m, 0 <= p["pump_off_fillage_pct"] <= 100, "pump_off_fillage_pct 0..100")
        require(m, p["grid_ft"] >= 10, "grid_ft must be at least 10")
        require(m, p["initial_submergence_ft"] >= 0, "initial_submergence_ft must be >= 0")

    # --- construction ------------------------------------------------------------------
    def setup(self) -> None:
        p = self.p
        depth = p["pump_depth_ft"]
        self.rods = RodString(tuple(Taper(d, f * depth) for d, f in
                                    zip(p["taper_diameters_in"], p["taper_fractions"],
                                        strict=True)))
        self.pump = Pump(p["plunger_diameter_in"], p["pump_spacing_in"],
                         p["plunger_friction_lbf"])
        self.unit = BeamUnit.for_stroke(p["stroke_length_in"])
        self.motor = Motor(rated_hp=p["motor_hp"], full_load_a=p["motor_hp"] * 1.25,
                           no_load_a=p["motor_hp"] * 0.42)
        self.sg = fluids.liquid_sg(p["water_cut_pct"] / 100, p["oil_api"], p["water_sg"])
        self.grad = fluids.gradient_psi_ft(self.sg)
        self.cap_bbl_ft = fluids.annulus_capacity_bbl_ft(p["casing_id_in"], p["tubing_od_in"])
        self.intake_degf = fluids.geothermal_degf(p["surface_temperature_degf"],
                                                  p["geothermal_gradient_degf_100ft"], depth)
        self.solver = RodPumpSolver(self.rods, self.pump, fluid_sg=self.sg,
                                    damping=p["damping_factor"], grid_ft=p["grid_ft"])
        self.theta0 = self.unit.bottom_angle()
        self.annulus_bbl = p["initial_submergence_ft"] * self.cap_bbl_ft
        self.qmax = p["vogel_qmax_bbl_d"]
        self.gas = Drift(p["free_gas_scf_bbl"], 0.25 * p["free_gas_scf_bbl"], 1800.0)
        self.thp = Drift(p["tubing_head_pressure_psi"], 4.0, 900.0)
        self.chp = Drift(p["casing_head_pressure_psi"], 2.0, 1800.0)
        self.ambient = Drift(p["surface_temperature_degf"], 4.0, 7200.0)
        self.wht = p["surface_temperature_degf"] + 15.0
        self.slug_until, self.slug_scf_bbl = -math.inf, 0.0
        # set points and controller state
        self.spm = p["spm"]
        self.spm_sp = p["spm"]
        self.poc_sp = p["pump_off_fillage_pct"]
        self.down_sp = p["down_time_min"]
        self.poc_strokes = int(p["pump_off_strokes"])
        self.poc_enabled = True
        self.state = RUNNING
        self.run_cmd = True
        self.low_count = 0
        self.restart_at = 0.0
        self.stroke_count = 0
        self.card_seq = 0
        self.runtime_s = {"today": 0.0, "yesterday": 0.0}
        self.cycles_today = 0
        self.day: int | None = None
        self.cum_bbl = 0.0
        self.cum_run_s = 0.0
        self.rod_part_ft: float | None = None
        self.events: list[dict[str, Any]] = []
        # commissioning: run in at full pump, space out the pump, balance the unit
        cond = self._conditions(math.inf)
        for _ in range(3):
            res = self.solver.run(self._motion(self.spm), 60.0 / self.spm, cond, CARD_POINTS)
        self.solver.respace()
        res = self.solver.run(self._motion(self.spm), 60.0 / self.spm, cond, CARD_POINTS)
        theta = self.theta0 + 2 * math.pi * np.arange(CARD_POINTS) / CARD_POINTS
        self.counterbalance = balanced_counterbalance(self.unit, theta, res.surface_load_lbf)
        self.stroke_T = 60.0 / self.spm
        self._motor_for(res)
        self.produced_in3 = res.liquid_delivered_in3 - res.liquid_slipped_in3
        self.detailed = False
        self.min_load_sp = round(0.75 * self.rods.weight_lbf(self.sg))
        self.max_load_sp = round(min(2.2 * float(res.surface_load_lbf.max()), 32000))
        self.stroke: StrokeResult | None = None
        self.stroke_t0 = 0.0
        self._finish_card(res, 0.0, detailed=True)
        self.card_seq = 0
        self.put("CONTROLLER_ID", "WG-POC 1.4 sim")
        self.put("CARD_POINTS", CARD_POINTS)
        self._put_setpoints()

    def _motion(self, spm: float) -> Any:
        omega = 2 * math.pi * spm / 60.0
        return lambda t: self.unit.position_in(self.theta0 + omega * t)

    def _submergence_ft(self) -> float:
        return self.annulus_bbl / self.cap_bbl_ft

    def _intake_psi(self) -> float:
        return (self.chp.x + self.grad * self.p["annulus_gradient_factor"]
                * self._submergence_ft())

    def _inflow_bbl_d(self) -> float:
        pwf = self._intake_psi() + self.grad * (self.p["perforation_depth_ft"]
                                                - self.p["pump_depth_ft"])
        return fluids.vogel_rate(pwf, self.p["reservoir_pressure_psi"], self.qmax)

    def _gas_fraction(self, t: float) -> float:
        scf = max(self.gas.x, 0.0) + (self.slug_scf_bbl if t < self.slug_until else 0.0)
        return fluids.free_gas_fraction(scf, self._intake_psi(), self.intake_degf)

    def _conditions(self, budget_in3: float, t: float = 0.0) -> PumpConditions:
        discharge = self.thp.x + self.grad * self.p["pump_depth_ft"]
        return PumpConditions(discharge, self._intake_psi(), self._gas_fraction(t),
                              budget_in3, self.thp.x)

    # --- time --------------------------------------------------------------------------
    def step(self, now: float) -> None:
        self.target = now
        super().step(now)

    def start(self, now: float) -> None:
        self.clock = now
        self.target = now
        self.day = time.localtime(now).tm_yday
        self.stroke = None

    def advance(self, t: float, h: float) -> None:
        end = t + h
        self._slow_states(t, h)
        while True:  # a running unit always has a current stroke when this returns
            if self.state == RUNNING:
                if self.stroke is None:
                    self._begin_stroke()
                stroke_end = self.stroke_t0 + self.stroke_T
                if stroke_end > end:
                    self._count_runtime(end - self.clock)
                    self.clock = end
                    break
                self._count_runtime(stroke_end - self.clock)
                self.clock = stroke_end
                self._end_stroke()
            else:
                if self.clock >= end:
                    break
                stop = min(end, self.restart_at) if self.state == PUMPED_OFF else end
                self._refill(stop - self.clock)
                self.clock = stop
                if self.state == PUMPED_OFF and self.clock >= self.restart_at:
                    self._set_state(RUNNING, "restart after down time")

    def _slow_states(self, t: float, h: float) -> None:
        rng = self.rng
        self.gas.advance(h, rng)
        self.thp.advance(h, rng)
        self.chp.advance(h, rng)
        self.ambient.advance(h, rng)
        flowing = self.p["surface_temperature_degf"] + 20.0
        self.wht = relax(self.wht, flowing if self.state == RUNNING else self.ambient.x, h,
                         1200.0)
        day = time.localtime(t + h).tm_yday
        if day != self.day:
            self.day = day
            self.runtime_s = {"today": 0.0, "yesterday": self.runtime_s["today"]}
            self.cycles_today = 0
        if rng.random() < h / (6 * 3600.0):  # a gas slug now and then (about 4 a day)
            self.slug_until = t + 600.0 + 1200.0 * float(rng.random())
            self.slug_scf_bbl = self.p["free_gas_scf_bbl"] * (1.0 + 3.0 * float(rng.random()))

    def _count_runtime(self, dt: float) -> None:
        self.runtime_s["today"] += dt
        self.cum_run_s += dt

    def _refill(self, dt: float) -> None:
        """Annulus fills from the reservoir while the unit is stopped (stable sub-steps)."""
        while dt > 0:
            h = min(dt, 60.0)
            self.annulus_bbl += self._inflow_bbl_d() * h / 86400.0
            dt -= h

    # --- strokes -----------------------------------------------------------------------
    def _begin_stroke(self) -> None:
        self.spm = self.spm_sp if self.p["vfd"] else self.spm
        self.stroke_T = 60.0 / self.spm
        self.stroke_t0 = self.clock
        inflow_in3 = self._inflow_bbl_d() * self.stroke_T / 86400.0 * IN3_PER_BBL
        budget = self.annulus_bbl * IN3_PER_BBL + inflow_in3
        self.inflow_in3 = inflow_in3
        detailed = self.stroke_t0 + 2 * self.stroke_T > self.target
        parted = self.rod_part_ft is not None
        if detailed:
            cond = (PumpConditions(0.0, 0.0, 1.0, 0.0, self.thp.x) if parted
                    else self._conditions(budget, self.clock))
            self.stroke = self.solver.run(self._motion(self.spm), self.stroke_T, cond,
                                          CARD_POINTS)
            self._motor_for(self.stroke)
            self.detailed = True
        else:
            self.stroke = self.last
            self.detailed = False
            swept = self.last.swept_in3
            self.cheap_admitted = 0.0 if parted else min(
                swept * (1.0 - self._gas_fraction(self.clock)), max(budget, 0.0))

    def _motor_for(self, res: StrokeResult) -> None:
        """Gearbox torque, motor current and power through the stroke."""
        theta = self.theta0 + 2 * math.pi * res.time_s / self.stroke_T
        self.live_torque = crank_torque(self.unit, theta, res.surface_load_lbf,
                                        self.counterbalance)
        shaft = self.motor.shaft_hp(self.live_torque, 2 * math.pi * self.spm / 60.0)
        self.live_current = self.motor.current_a(shaft)
        self.live_kw = self.motor.electric_kw(shaft)

    def _end_stroke(self) -> None:
        res = self.stroke
        assert res is not None
        if self.rod_part_ft is not None:
            admitted = produced = 0.0
        elif self.detailed:
            admitted = res.liquid_admitted_in3
            produced = res.liquid_delivered_in3 - res.liquid_slipped_in3
        else:
            admitted = produced = self.cheap_admitted
        self.annulus_bbl = max(self.annulus_bbl + (self.inflow_in3 - admitted) / IN3_PER_BBL,
                               0.0)
        self.cum_bbl += max(produced, 0.0) / IN3_PER_BBL
        self.produced_in3 = produced
        self.stroke_count += 1
        self._finish_card(res, self.clock, detailed=self.detailed,
                          fillage=None if self.detailed else admitted / max(res.swept_in3, 1e-9))
        self.stroke = None
        self._controller_decision()

    def _finish_card(self, res: StrokeResult, t: float, *, detailed: bool,
                     fillage: float | None = None) -> None:
        """The controller reads its new card: loads with the load cell's noise."""
        if detailed:
            self.last = res
            self.true_fillage = res.fillage
            pos = res.surface_position_in + self.rng.normal(0.0, 0.03, CARD_POINTS)
            load = res.surface_load_lbf * (1 + self.rng.normal(0.0, 0.002, CARD_POINTS)) \
                + self.rng.normal(0.0, 10.0, CARD_POINTS)
            self.card = (pos, load)
            self.est_fillage = estimate_fillage(pos, load)
            self.est_bias = self.est_fillage - res.fillage
            self.torque = self.live_torque
            self.card_seq = (self.card_seq + 1) % 65536
        else:
            self.true_fillage = fillage if fillage is not None else self.true_fillage
            self.est_fillage = min(max(self.true_fillage + self.est_bias, 0.0), 1.0)

    def _controller_decision(self) -> None:
        peak = float(self.card[1].max())
        if self.run_cmd is False:
            self._set_state(STOPPED, "stop command")
            return
        if peak < self.min_load_sp or peak > self.max_load_sp:
            self._set_state(MALFUNCTION, f"load limit: peak {peak:.0f} lbf")
            return
        if self.poc_enabled and self.est_fillage * 100 < self.poc_sp:
            self.low_count += 1
            if self.low_count >= self.poc_strokes:
                self.restart_at = self.clock + self.down_sp * 60.0
                self.cycles_today += 1
                self._set_state(PUMPED_OFF, "pumped off")
        else:
            self.low_count = 0

    def _set_state(self, state: int, why: str) -> None:
        if state == self.state:
            return
        if state != RUNNING:
            self.solver.rest(0.0)  # stops at the bottom of the stroke
            self.stroke = None
        self.low_count = 0
        self.state = state
        self.events.append({"time": self.clock, "state": STATE_NAMES[state], "why": why})
        del self.events[:-50]
