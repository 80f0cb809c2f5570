"""The rod pump controller's registers, masters' writes, events and ground truth.

Split out of `rod_pump_controller` for size: `RodPumpIO` is mixed into
`RodPumpController` and works on its state (stroke results, controller set points).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from daemons.sim.devices.base import Point, require
from daemons.sim.devices.rodstring import IN3_PER_BBL, Pump, RodPumpSolver, RodString, Taper
from daemons.sim.devices.rpc_points import MALFUNCTION, PUMPED_OFF, RUNNING, STATE_NAMES, STOPPED

STEEL_PSI = 30.0e6  # tubing steel, for the stretch of unanchored tubing
FAULTS = ("valve_leak", "tag_pump", "unanchored_tubing", "load_cell")


class RodPumpIO:
    """Registers and the outside world's view of a `RodPumpController` (a mixin)."""

    # --- registers ---------------------------------------------------------------------
    def refresh(self, now: float) -> None:
        res = self.stroke if self.state == RUNNING else None
        if res is not None and self.detailed:
            tau = min(max(now - self.stroke_t0, 0.0), self.stroke_T)
            ts = res.time_s
            pos = float(np.interp(tau, ts, res.surface_position_in))
            load = float(np.interp(tau, ts, res.surface_load_lbf))
            amps = float(np.interp(tau, ts, self.live_current))
            kw = float(np.interp(tau, ts, self.live_kw))
        else:
            pos = 0.0
            load = self.rods.weight_lbf(self.sg) if self.rod_part_ft is None else \
                self.solver.rods.weight_lbf(self.sg)
            amps = kw = 0.0
        running = self.state == RUNNING
        pos_card, load_card = self.card
        if getattr(self, "load_cell_failed", False):  # a dead load cell reads nothing
            load, load_card = 0.0, np.zeros_like(load_card)
        self.put("STATE", self.state)
        self.put("RUNNING", running)
        self.put("PUMPED_OFF", self.state == PUMPED_OFF)
        self.put("POC_ACTIVE", self.poc_enabled)
        self.put("MALFUNCTION", self.state == MALFUNCTION)
        self.put("SPM", self.spm if running else 0.0)
        self.put("STROKE_LENGTH", float(pos_card.max() - pos_card.min()))
        self.put("LOAD", self.noisy(load, 15.0))
        self.put("POSITION", self.noisy(pos, 0.03))
        self.put("MOTOR_CURRENT", max(self.noisy(amps, 0.2), 0.0) if running else 0.0)
        self.put("MOTOR_POWER", self.noisy(kw, 0.05) if running else 0.0)
        self.put("PEAK_LOAD", float(load_card.max()))
        self.put("MIN_LOAD", float(load_card.min()))
        self.put("FILLAGE", 100.0 * self.est_fillage)
        self.put("STROKE_COUNT", self.stroke_count % 2**32)
        self.put("RUNTIME_TODAY", min(self.runtime_s["today"] / 3600.0, 24.0))
        self.put("RUNTIME_YESTERDAY", min(self.runtime_s["yesterday"] / 3600.0, 24.0))
        self.put("CARD_SEQUENCE", self.card_seq)
        left = (self.restart_at - now) / 60.0 if self.state == PUMPED_OFF else 0.0
        self.put("DOWNTIME_LEFT", max(left, 0.0))
        self.put("CYCLES_TODAY", self.cycles_today)
        self.put("PEAK_TORQUE", float(self.torque.max()) / 1000.0)
        ripple = 0.04 * math.sin(2 * math.pi * pos / max(self.p["stroke_length_in"], 1.0))
        self.put("THP", max(self.noisy(self.thp.x * (1 + (ripple if running else 0)), 0.5), 0))
        self.put("CHP", max(self.noisy(self.chp.x, 0.3), 0.0))
        self.put("WELLHEAD_TEMP", self.noisy(self.wht, 0.2))
        self.put("CARD_POSITION", pos_card)
        self.put("CARD_LOAD", load_card)

    def _put_setpoints(self) -> None:
        self.put("POC_FILLAGE_SP", self.poc_sp)
        self.put("DOWN_TIME_SP", self.down_sp)
        self.put("SPM_SP", self.spm_sp)
        self.put("POC_STROKES_SP", self.poc_strokes)
        self.put("MIN_LOAD_SP", self.min_load_sp)
        self.put("MAX_LOAD_SP", self.max_load_sp)
        self.put("RUN_CMD", self.run_cmd)
        self.put("POC_ENABLE", self.poc_enabled)

    def apply_write(self, point: Point, value: float) -> None:
        key = point.key
        if key == "POC_FILLAGE_SP":
            self.poc_sp = min(max(value, 0.0), 100.0)
        elif key == "DOWN_TIME_SP":
            self.down_sp = min(max(value, 1.0), 1440.0)
        elif key == "SPM_SP" and self.p["vfd"]:
            self.spm_sp = min(max(value, 2.0), 15.0)
        elif key == "POC_STROKES_SP":
            self.poc_strokes = int(min(max(value, 1), 20))
        elif key == "MIN_LOAD_SP":
            self.min_load_sp = value
        elif key == "MAX_LOAD_SP":
            self.max_load_sp = value
        elif key == "POC_ENABLE":
            self.poc_enabled = bool(value)
        elif key == "RUN_CMD":
            self.run_cmd = bool(value)
            if self.run_cmd and self.state != RUNNING:
                self._set_state(RUNNING, "start command")
            # a stop takes effect at the bottom of the current stroke
            if not self.run_cmd and self.state != RUNNING:
                self._set_state(STOPPED, "stop command")
        self._put_setpoints()

    # --- scenario events -----------------------------------------------------------------
    def inject(self, event: str, **kwargs: Any) -> None:
        if event == "gas_slug":
            self.slug_scf_bbl = float(kwargs.get("free_gas_scf_bbl",
                                                 3 * self.p["free_gas_scf_bbl"]))
            self.slug_until = (self.t or 0.0) + 60.0 * float(kwargs.get("duration_min", 20))
        elif event == "inflow_change":
            self.qmax = self.p["vogel_qmax_bbl_d"] * float(kwargs.get("factor", 1.0))
        elif event == "fluid_level":
            self.annulus_bbl = max(float(kwargs["submergence_ft"]), 0.0) * self.cap_bbl_ft
        elif event == "rod_part":
            depth = float(kwargs.get("depth_ft", 0.6 * self.p["pump_depth_ft"]))
            require(self.model, 100 <= depth < self.rods.length_ft, "depth_ft out of range")
            self.intact_solver = getattr(self, "intact_solver", self.solver)
            kept, left = [], depth
            for tp in self.rods.tapers:
                if left > 0:
                    kept.append(Taper(tp.diameter_in, min(tp.length_ft, left)))
                    left -= tp.length_ft
            self.solver = RodPumpSolver(RodString(tuple(kept)), Pump(friction_lbf=0.0),
                                        fluid_sg=self.sg, damping=self.p["damping_factor"],
                                        grid_ft=self.p["grid_ft"])
            self.rod_part_ft = depth
            self.events.append({"time": self.t, "event": "rod_part", "depth_ft": depth})
        elif event == "repair":
            self.solver = getattr(self, "intact_solver", self.solver)
            if self.solver.pump.tag:  # space the pump out again
                self.solver.pump = self.pump
                self.solver.respace()
            self.solver.pump = self.pump
            self.solver.rest(0.0)
            self.rod_part_ft = None
            self.load_cell_failed = False
            self.events.append({"time": self.t, "event": "repair"})
        elif event in FAULTS:
            self._pump_fault(event, kwargs)
        else:
            raise ValueError(f"{self.model}: unknown event {event!r}; known: gas_slug, "
                             "inflow_change, fluid_level, rod_part, repair, "
                             + ", ".join(FAULTS))

    def _pump_fault(self, event: str, kwargs: dict[str, Any]) -> None:
        """Downhole faults for card diagnosis; `repair` undoes them all."""
        pump = self.solver.pump
        if event == "valve_leak":
            valve = str(kwargs.get("valve", "traveling"))
            severity = float(kwargs.get("severity", 1.0))
            require(self.model, valve in ("traveling", "standing"),
                    "valve: traveling or standing")
            require(self.model, 0.0 < severity <= 10.0, "severity: 0..10")
            if valve == "traveling":  # a worn plunger / cut ball and seat slips more
                pump = replace(pump, slip_in3_per_s_psi=self.pump.slip_in3_per_s_psi
                               * (1.0 + 40.0 * severity))
            else:
                pump = replace(pump, sv_leak_in3_per_s_psi=4e-3 * severity)
        elif event == "tag_pump":  # spaced too low: the plunger hits the standing valve
            spacing = float(kwargs.get("spacing_in", -1.5))
            require(self.model, -12.0 <= spacing < 0.0, "spacing_in: -12..0 (below bottom)")
            pump = replace(pump, tag=True)
            self.solver.pump = pump
            self.solver.respace(spacing)
        elif event == "unanchored_tubing":  # stretch = L/(E*A) of the tubing (Hooke)
            od = self.p["tubing_od_in"]
            area = math.pi / 4.0 * (od**2 - (od - 2 * 0.217) ** 2)  # 2-7/8 in 6.5 lb/ft wall
            default = self.p["pump_depth_ft"] * 12.0 / (STEEL_PSI * area)
            pump = replace(pump, tubing_stretch_in_per_lbf=float(
                kwargs.get("stretch_in_per_lbf", default)))
        elif event == "load_cell":
            self.load_cell_failed = bool(kwargs.get("failed", True))
        self.solver.pump = pump
        self.events.append({"time": self.t, "event": event, **kwargs})

    # --- truth -------------------------------------------------------------------------
    def truth(self) -> dict[str, Any]:
        res = self.last
        spm = self.spm
        ap = self.pump.area_in2
        per_day = spm * 1440.0 / IN3_PER_BBL
        sub = self._submergence_ft()
        r3 = _rounded
        return {
            "well": self.wells[0],
            "state": STATE_NAMES[self.state],
            "spm": spm,
            "stroke_count": self.stroke_count,
            "card_sequence": self.card_seq,
            "pump_card": {"position_in": r3(res.pump_position_in),
                          "load_lbf": r3(res.pump_load_lbf)},
            "surface_card": {"position_in": r3(res.surface_position_in),
                             "load_lbf": r3(res.surface_load_lbf)},
            "fillage": self.true_fillage,
            "controller_fillage": self.est_fillage,
            "plunger_stroke_in": res.plunger_stroke_in,
            "surface_stroke_in": float(res.surface_position_in.max()),
            "gross_displacement_bbl_d": ap * res.plunger_stroke_in * per_day,
            "surface_displacement_bbl_d": ap * self.unit.stroke_in * per_day,
            "production_bbl_d": max(self.produced_in3, 0.0) * per_day
            if self.state == RUNNING else 0.0,
            "cumulative_production_bbl": self.cum_bbl,
            "cumulative_runtime_h": self.cum_run_s / 3600.0,
            "inflow_bbl_d": self._inflow_bbl_d(),
            "fluid_level_ft": self.p["pump_depth_ft"] - sub,
            "submergence_ft": sub,
            "intake_pressure_psi": self._intake_psi(),
            "discharge_pressure_psi": self.thp.x + self.grad * self.p["pump_depth_ft"],
            "free_gas_fraction": self._gas_fraction(self.t or 0.0),
            "fluid_sg": self.sg,
            "fluid_load_lbf": ap * (self.thp.x + self.grad * self.p["pump_depth_ft"]
                                    - self._intake_psi()),
            "buoyant_rod_weight_lbf": self.rods.weight_lbf(self.sg),
            "rod_stretch_in_per_lbf": self.rods.stretch_in_per_lbf,
            "counterbalance_in_lbf": self.counterbalance,
            "peak_torque_in_lbf": float(self.torque.max()),
            "runtime_today_h": self.runtime_s["today"] / 3600.0,
            "rod_part_ft": self.rod_part_ft,
            "pump_tagged": self.solver.tagged,
            "faults": {"traveling_valve_leak": self.solver.pump.slip_in3_per_s_psi
                       > self.pump.slip_in3_per_s_psi,
                       "standing_valve_leak": self.solver.pump.sv_leak_in3_per_s_psi > 0,
                       "tagging": self.solver.pump.tag,
                       "unanchored_tubing": self.solver.pump.tubing_stretch_in_per_lbf > 0,
                       "load_cell_failed": bool(getattr(self, "load_cell_failed", False))},
            "events": list(self.events),
        }


def _rounded(a: np.ndarray) -> list[float]:
    return [round(float(x), 3) for x in a]


def estimate_fillage(pos: np.ndarray, load: np.ndarray) -> float:
    """The controller's own fillage from the surface card (no downhole card): where the load
    crosses mid-range on the upstroke (x_up, half the rod stretch) and on the downstroke
    (x_dn); fillage = (x_dn - x_up)/(S - 2*x_up).  Full pump: x_dn = S - x_up -> 1."""
    pos = pos - pos.min()
    top = int(np.argmax(pos))
    hi, lo = np.percentile(load, 98), np.percentile(load, 2)
    mid = 0.5 * (hi + lo)
    up = np.nonzero(load[: top + 1] >= mid)[0]
    down = np.nonzero(load[top:] <= mid)[0]
    if len(up) == 0 or len(down) == 0 or hi - lo < 1.0:
        return 0.0
    x_up = float(pos[up[0]])
    x_dn = float(pos[top + down[0]])
    span = float(pos[top]) - 2.0 * x_up
    return min(max((x_dn - x_up) / span, 0.0), 1.0) if span > 0 else 0.0
