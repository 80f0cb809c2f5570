"""Progressing-cavity pump on a surface drive head with a VFD: W108.

Pump (single-lobe 1:2 Moineau geometry): each revolution displaces 4·e·D·Ps in³
(Moineau, US Patent 1,892,217, 1932; ISO 15136-1:2009).  Liquid slips back through the
seal lines between the cavities at a rate that grows faster than the differential
pressure (Q_slip = k·(ΔP/1000 psi)^1.3 with k rising with elastomer wear and falling as
the elastomer swells with temperature; the shape follows the bench-test curves of
Cholet, *Progressing Cavity Pumps*, Technip 1997, ch. 4), so the delivered rate is
displacement × speed − slip.  Torque at the polished rod = hydraulic torque
V·ΔP/(2π) (pressure work per revolution) + rotor–stator friction (interference) +
viscous rod-string drag growing with speed; motor power = T·ω.  The annulus level follows
Vogel inflow less what the pump takes; the intake gauge reads CHP + the gaseous annular
column.  A torque over `TORQUE_LIMIT` for 5 s trips the drive (sand, a stuck rotor).
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any

from daemons.sim.devices import fluids
from daemons.sim.devices.base import DeviceModel, Drift, Point, relax, require

STOPPED, RUNNING, TRIPPED = 0, 1, 2
STATE_NAMES = ("stopped", "running", "tripped")
HP_FT_LBF_RPM = 5252.0  # hp = T(ft·lbf) · N(rpm) / 5252
_F = dict(type="float32", order="DCBA")
POINTS: tuple[Point, ...] = (
    Point("ROTOR_SPEED", "ir", 0, **_F, units="rpm", role="rotor_speed", lo=0, hi=600,
          deadband=0.5, description="Rotor (polished rod) speed"),
    Point("DRIVE_TORQUE", "ir", 2, **_F, units="ft*lbf", role="drive_torque", lo=0,
          hi=5000, deadband=2, description="Polished-rod torque (drive estimate)"),
    Point("MOTOR_CURRENT", "ir", 4, **_F, units="A", role="motor_current", lo=0, hi=300,
          deadband=0.2, description="Motor current"),
    Point("MOTOR_POWER", "ir", 6, **_F, units="kW", lo=0, hi=300, deadband=0.2,
          description="Motor power"),
    Point("INTAKE_PRESSURE", "ir", 8, **_F, units="psi", role="intake_pressure", lo=0,
          hi=3000, deadband=1, description="Pump intake pressure (downhole gauge)"),
    Point("THP", "ir", 10, **_F, units="psi", role="thp", lo=0, hi=3000, deadband=1,
          description="Tubing head pressure"),
    Point("CHP", "ir", 12, **_F, units="psi", role="chp", lo=0, hi=3000, deadband=1,
          description="Casing head pressure"),
    Point("FLOW_RATE", "ir", 14, **_F, units="bbl/d", role="liquid_rate", lo=0, hi=5000,
          deadband=2, description="Flowline liquid meter"),
    Point("DRIVE_STATE", "ir", 16, "uint16", lo=0, hi=2,
          description="0 stopped, 1 running, 2 tripped (over-torque)"),
    Point("RUN_HOURS", "ir", 17, "uint32", 0.1, order="DCBA", units="h", lo=0,
          hi=400000000, scan="slow", description="Drive run hours"),
    Point("SPEED_SP", "hr", 0, **_F, units="rpm", role="speed_setpoint", access="rw", lo=0,
          hi=600, scan="slow", description="Speed set point"),
    Point("TORQUE_LIMIT", "hr", 2, **_F, units="ft*lbf", access="rw", lo=100, hi=5000,
          scan="slow", description="Over-torque trip limit"),
    Point("RUN_CMD", "co", 0, "bool", access="rw", lo=0, hi=1, scan="slow",
          description="Run (1) / stop (0); writing 1 also clears a trip"),
    Point("RUNNING", "di", 0, "bool", role="run_status", lo=0, hi=1,
          description="Drive running"),
)


class PcpDrive(DeviceModel):
    model = "pcp_drive"
    WELLS = 1
    DEFAULTS = MappingProxyType({
        "pump_depth_ft": 3000.0,
        "perforation_depth_ft": 3100.0,
        "eccentricity_in": 0.25,
        "rotor_diameter_in": 1.5,
        "stator_pitch_in": 12.0,
        "slip_bbl_d_at_1000_psi": 60.0,  # new elastomer, at reference temperature
        "friction_torque_ft_lbf": 90.0,
        "rod_drag_ft_lbf_per_100_rpm": 25.0,
        "speed_rpm": 250.0,
        "reservoir_pressure_psi": 1200.0,
        "vogel_qmax_bbl_d": 900.0,
        "water_cut_pct": 40.0,
        "oil_api": 16.0,
        "water_sg": 1.03,
        "tubing_head_pressure_psi": 150.0,
        "casing_head_pressure_psi": 50.0,
        "casing_id_in": 6.276,
        "tubing_od_in": 3.5,
        "initial_submergence_ft": 800.0,
        "motor_hp": 60.0,
        "torque_limit_ft_lbf": 1400.0,
    })

    def layout(self) -> tuple[Point, ...]:
        return POINTS

    def check_params(self) -> None:
        p, m = self.p, self.model
        require(m, 300 <= p["pump_depth_ft"] <= p["perforation_depth_ft"] <= 10000,
                "need 300 <= pump_depth_ft <= perforation_depth_ft <= 10000")
        require(m, 0 < p["eccentricity_in"] < p["rotor_diameter_in"] < 6,
                "need 0 < eccentricity_in < rotor_diameter_in < 6")
        require(m, 1 <= p["stator_pitch_in"] <= 40, "stator_pitch_in must be 1..40")
        require(m, 0 <= p["speed_rpm"] <= 600, "speed_rpm must be 0..600")
        require(m, p["casing_id_in"] > p["tubing_od_in"] > 0, "casing_id_in > tubing_od_in")
        require(m, 0 <= p["water_cut_pct"] <= 100, "water_cut_pct must be 0..100")

    def setup(self) -> None:
        p = self.p
        self.disp_in3 = 4.0 * p["eccentricity_in"] * p["rotor_diameter_in"] * p["stator_pitch_in"]
        self.sg = fluids.liquid_sg(p["water_cut_pct"] / 100, p["oil_api"], p["water_sg"])
        self.grad = fluids.gradient_psi_ft(self.sg)
        self.cap = fluids.annulus_capacity_bbl_ft(p["casing_id_in"], p["tubing_od_in"])
        self.level_ft = p["initial_submergence_ft"]
        self.thp = Drift(p["tubing_head_pressure_psi"], 4.0, 1200.0)
        self.chp = Drift(p["casing_head_pressure_psi"], 2.0, 3600.0)
        self.swell = Drift(1.0, 0.04, 6 * 3600.0)  # elastomer interference (temperature)
        self.wear = 1.0
        self.sand_factor, self.sand_until = 1.0, 0.0
        self.qmax = p["vogel_qmax_bbl_d"]
        self.speed_sp, self.limit = p["speed_rpm"], p["torque_limit_ft_lbf"]
        self.rpm = self.speed_sp
        self.state, self.run_cmd, self.over_s, self.run_s = RUNNING, True, 0.0, 0.0
        self.events: list[dict[str, Any]] = []
        self._solve(0.0)
        self.put("SPEED_SP", self.speed_sp)
        self.put("TORQUE_LIMIT", self.limit)
        self.put("RUN_CMD", True)

    # --- physics -------------------------------------------------------------------------
    def _pip(self) -> float:
        return self.chp.x + 0.9 * self.grad * max(self.level_ft, 0.0)

    def _slip(self, dp: float) -> float:
        k = self.p["slip_bbl_d_at_1000_psi"] * self.wear / self.swell.x
        return k * (max(dp, 0.0) / 1000.0) ** 1.3

    def _solve(self, h: float) -> None:
        p = self.p
        n = self.rpm if self.state == RUNNING else 0.0
        pip = self._pip()
        pd = self.thp.x + self.grad * p["pump_depth_ft"]
        dp = max(pd - pip, 0.0)
        q_th = self.disp_in3 * n * 1440.0 / 9702.0
        q = max(q_th - self._slip(dp), 0.0) if n > 0 else 0.0
        pwf = pip + self.grad * (p["perforation_depth_ft"] - p["pump_depth_ft"])
        q_in = fluids.vogel_rate(pwf, p["reservoir_pressure_psi"], self.qmax)
        if self.level_ft <= 0.0:
            q = min(q, q_in)  # starved: the pump takes what flows in
        self.level_ft = max(self.level_ft + (q_in - q) * h / 86400.0 / self.cap, 0.0)
        t_h = self.disp_in3 * dp / (2.0 * math.pi) / 12.0 if n > 0 else 0.0
        t_f = (p["friction_torque_ft_lbf"] * self.swell.x * self.sand_factor if n > 0 else 0.0)
        t_r = p["rod_drag_ft_lbf_per_100_rpm"] * n / 100.0
        self.q, self.q_th, self.q_in, self.pip, self.pd, self.dp = q, q_th, q_in, pip, pd, dp
        self.torque, self.t_h, self.t_f = t_h + t_f + t_r, t_h, t_f
        self.hp = self.torque * n / HP_FT_LBF_RPM

    def advance(self, t: float, h: float) -> None:
        for d in (self.thp, self.chp, self.swell):
            d.advance(h, self.rng)
        now = t + h
        if now > self.sand_until:
            self.sand_factor = 1.0
        if self.state == RUNNING:
            self.rpm = relax(self.rpm, self.speed_sp, h, 10.0)
            self.run_s += h
        self._solve(h)
        if self.state == RUNNING:
            self.over_s = self.over_s + h if self.torque > self.limit else 0.0
            if self.over_s >= 5.0:
                self.state, self.rpm, self.over_s = TRIPPED, 0.0, 0.0
                self.events.append({"time": now, "trip": "over-torque"})
                self._solve(0.0)

    def refresh(self, now: float) -> None:
        on = self.state == RUNNING
        kw = self.hp * 0.7457 / 0.9
        amps = self.p["motor_hp"] * 1.2 * math.sqrt(0.35**2 + 0.88 * (
            self.hp / self.p["motor_hp"]) ** 2) if on else 0.0
        self.put("ROTOR_SPEED", max(self.noisy(self.rpm, 0.3), 0.0) if on else 0.0)
        self.put("DRIVE_TORQUE", max(self.noisy(self.torque, 4.0), 0.0))
        self.put("MOTOR_CURRENT", max(self.noisy(amps, 0.2), 0.0))
        self.put("MOTOR_POWER", max(self.noisy(kw, 0.1), 0.0) if on else 0.0)
        self.put("INTAKE_PRESSURE", max(self.noisy(self.pip, 0.5), 0.0))
        self.put("THP", max(self.noisy(self.thp.x, 0.5), 0.0))
        self.put("CHP", max(self.noisy(self.chp.x, 0.3), 0.0))
        self.put("FLOW_RATE", max(self.q * (1 + 0.01 * float(self.rng.standard_normal())), 0))
        self.put("DRIVE_STATE", self.state)
        self.put("RUN_HOURS", self.run_s / 3600.0)
        self.put("RUNNING", on)

    def apply_write(self, point: Point, value: float) -> None:
        if point.key == "SPEED_SP":
            self.speed_sp = min(max(value, 0.0), 600.0)
        elif point.key == "TORQUE_LIMIT":
            self.limit = min(max(value, 100.0), 5000.0)
        elif point.key == "RUN_CMD":
            self.run_cmd = bool(value)
            self.state = RUNNING if self.run_cmd else STOPPED
            self.rpm = self.rpm if self.run_cmd else 0.0
        self.put("SPEED_SP", self.speed_sp)
        self.put("TORQUE_LIMIT", self.limit)
        self.put("RUN_CMD", self.run_cmd)

    # --- events and truth ----------------------------------------------------------------
    def inject(self, event: str, **kwargs: Any) -> None:
        now = self.t or 0.0
        if event == "wear":
            self.wear = float(kwargs.get("factor", 2.0))
        elif event == "sand":
            self.sand_factor = float(kwargs.get("factor", 4.0))
            self.sand_until = now + 60.0 * float(kwargs.get("duration_min", 10.0))
        elif event == "inflow_change":
            self.qmax = self.p["vogel_qmax_bbl_d"] * float(kwargs.get("factor", 1.0))
        else:
            raise ValueError(f"{self.model}: unknown event {event!r}; known: wear, sand, "
                             "inflow_change")
        self.events.append({"time": now, "event": event, **kwargs})
        del self.events[:-50]

    def truth(self) -> dict[str, Any]:
        return {
            "well": self.wells[0],
            "state": STATE_NAMES[self.state],
            "speed_rpm": self.rpm,
            "displacement_in3_rev": self.disp_in3,
            "theoretical_rate_bbl_d": self.q_th,
            "slip_bbl_d": self.q_th - self.q if self.q_th else 0.0,
            "liquid_rate_bbl_d": self.q,
            "volumetric_efficiency": self.q / self.q_th if self.q_th > 0 else 0.0,
            "inflow_bbl_d": self.q_in,
            "intake_pressure_psi": self.pip,
            "discharge_pressure_psi": self.pd,
            "differential_psi": self.dp,
            "torque_ft_lbf": self.torque,
            "hydraulic_torque_ft_lbf": self.t_h,
            "friction_torque_ft_lbf": self.t_f,
            "torque_limit_ft_lbf": self.limit,
            "fluid_above_pump_ft": self.level_ft,
            "fluid_sg": self.sg,
            "wear_factor": self.wear,
            "events": list(self.events),
        }
