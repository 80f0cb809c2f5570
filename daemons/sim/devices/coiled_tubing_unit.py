"""Coiled tubing unit on a fill cleanout job: W107.

Job profile: run in hole (RIH) to the top of fill, wash down through the fill with full
circulation, circulate bottoms up at target depth, pull out of hole (POOH) circulating,
idle at surface, then the next run (each completed run is one reel trip).
Weight indicator = buoyed string weight (axial component) - wellhead pressure x CT area
(the pressure pushes the pipe out) -/+ wellbore drag (mu x normal force in the deviated
section) -/+ stripper friction: lower running in (slack-off), higher pulling out (pick-up).
Circulating pressure: Fanning friction through the whole reel (dp/dL = f*rho*v^2/(25.8*d),
Blasius f = 0.0791/Re^0.25, Re = 928*rho*v*d/mu; Bourgoyne et al., Applied Drilling
Engineering, SPE 1986, eq. 4.66), 30 % more on the reel's coiled part (secondary flow in
curved pipe), plus the nozzle drop and the wellhead pressure.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any

from daemons.sim.devices.base import DeviceModel, Drift, Point, relax, require

RIH, WASH, CIRCULATE, POOH, IDLE = range(5)
STAGES = ("rih", "wash", "circulate", "pooh", "idle")
_F = dict(type="float32", order="BADC")
POINTS: tuple[Point, ...] = (
    Point("DEPTH", "ir", 0, **_F, units="ft", role="ct_depth", lo=-10, hi=30000, deadband=0.5,
          description="Coiled tubing depth (injector counter)"),
    Point("SPEED", "ir", 2, **_F, units="ft/min", role="ct_speed", lo=-300, hi=300,
          deadband=0.5, description="Running speed (+ in hole, - out of hole)"),
    Point("WEIGHT", "ir", 4, **_F, units="lbf", role="ct_weight", lo=-20000, hi=60000,
          deadband=20, description="Weight indicator (negative = snubbing)"),
    Point("PUMP_PRESSURE", "ir", 6, **_F, units="psi", role="ct_pump_pressure", lo=0,
          hi=15000, deadband=5, description="Circulating (pump) pressure"),
    Point("PUMP_RATE", "ir", 8, **_F, units="bbl/min", role="ct_pump_rate", lo=0, hi=6,
          deadband=0.01, description="Pump rate"),
    Point("WHP", "ir", 10, **_F, units="psi", role="ct_wellhead_pressure", lo=0, hi=15000,
          deadband=2, description="Wellhead pressure"),
    Point("REEL_PRESSURE", "ir", 12, **_F, units="psi", role="ct_reel_pressure", lo=0,
          hi=15000, deadband=5, description="Pressure at the reel inlet swivel"),
    Point("INJECTOR_FORCE", "ir", 14, **_F, units="lbf", role="ct_injector_force",
          lo=-20000, hi=80000, deadband=20, description="Injector head chain force"),
    Point("RETURNS_RATE", "ir", 16, **_F, units="bbl/min", lo=0, hi=10, deadband=0.01,
          description="Returns rate", role="ct_returns_rate"),
    Point("TOTAL_PUMPED", "ir", 18, **_F, units="bbl", lo=0, hi=1e6, scan="slow",
          description="Fluid pumped this job"),
    Point("RUNNING_FEET", "ir", 20, "uint32", order="BADC", units="ft",
          role="ct_running_feet", lo=0, hi=4294967295, scan="slow",
          description="Running feet counter (in + out)"),
    Point("REEL_TRIPS", "ir", 22, "uint16", role="ct_cycles", lo=0, hi=65535, scan="slow",
          description="Reel trip counter (completed runs)"),
    Point("JOB_STAGE", "ir", 23, "uint16", role="ct_job_stage", lo=0, hi=4,
          description="0 RIH, 1 wash down, 2 circulate, 3 POOH, 4 idle at surface"),
    Point("PUMP_RATE_SP", "hr", 0, **_F, units="bbl/min", access="rw", lo=0, hi=5,
          scan="slow", description="Planned circulating rate"),
    Point("SPEED_LIMIT", "hr", 2, **_F, units="ft/min", access="rw", lo=5, hi=250,
          scan="slow", description="Maximum running speed"),
    Point("HOLD", "co", 0, "bool", access="rw", lo=0, hi=1, scan="slow",
          description="Hold: injector stopped (pumps keep running)"),
)


class CoiledTubingUnit(DeviceModel):
    model = "coiled_tubing_unit"
    WELLS = 1
    DEFAULTS = MappingProxyType({
        "target_depth_ft": 9500.0,
        "fill_top_ft": 8800.0,
        "kickoff_depth_ft": 3000.0,
        "inclination_deg": 25.0,
        "ct_od_in": 1.75,
        "ct_wall_in": 0.134,
        "reel_length_ft": 15000.0,
        "fluid_ppg": 8.6,
        "wellhead_pressure_psi": 800.0,
        "friction_coefficient": 0.25,
        "stripper_friction_lbf": 1500.0,
        "reel_back_tension_lbf": 1500.0,
        "rih_speed_ft_min": 80.0,
        "wash_speed_ft_min": 15.0,
        "pooh_speed_ft_min": 90.0,
        "pump_rate_bbl_min": 1.5,
        "rih_pump_rate_bbl_min": 0.5,
        "nozzle_area_in2": 0.1,
        "circulate_min": 30.0,
        "idle_min": 30.0,
    })

    def layout(self) -> tuple[Point, ...]:
        return POINTS

    def check_params(self) -> None:
        p, m = self.p, self.model
        require(m, 0 < p["fill_top_ft"] <= p["target_depth_ft"] < p["reel_length_ft"],
                "need 0 < fill_top_ft <= target_depth_ft < reel_length_ft")
        require(m, 0 <= p["inclination_deg"] < 90, "inclination_deg must be 0..90")
        require(m, 0 < p["ct_wall_in"] < p["ct_od_in"] / 2, "ct_wall_in must be < ct_od_in/2")
        for key in ("rih_speed_ft_min", "wash_speed_ft_min", "pooh_speed_ft_min"):
            require(m, 0 < p[key] <= 250, f"{key} must be 0..250")

    def setup(self) -> None:
        p = self.p
        od, idn = p["ct_od_in"], p["ct_od_in"] - 2 * p["ct_wall_in"]
        self.id_in = idn
        self.steel_in2 = math.pi / 4 * (od**2 - idn**2)
        self.w_air = self.steel_in2 * 3.40  # lb/ft: 490 lbm/ft^3 / 144 in^2/ft^2
        self.bf = 1.0 - p["fluid_ppg"] / 65.5  # same fluid inside and out
        self.whp = Drift(p["wellhead_pressure_psi"], 15.0, 1800.0)
        self.depth = 0.0
        self.speed = 0.0  # ft/min, + into the well
        self.rate = 0.0
        self.stage = RIH
        self.stage_t = 0.0
        self.rate_sp = p["pump_rate_bbl_min"]
        self.speed_limit = max(p["rih_speed_ft_min"], p["pooh_speed_ft_min"])
        self.hold = False
        self.running_ft = 0.0
        self.trips = 0
        self.pumped = 0.0
        self.extra_drag_lbf, self.extra_drag_from_ft = 0.0, 0.0
        self.events: list[dict[str, Any]] = []
        self._put_setpoints()

    # --- mechanics ---------------------------------------------------------------------
    def weight_lbf(self, depth: float, speed: float) -> float:
        """True weight-indicator reading at a depth and running speed (ft/min)."""
        p = self.p
        theta = math.radians(p["inclination_deg"])
        vertical = min(depth, p["kickoff_depth_ft"])
        deviated = max(depth - p["kickoff_depth_ft"], 0.0)
        wb = self.w_air * self.bf
        axial = wb * (vertical + deviated * math.cos(theta))
        drag = p["friction_coefficient"] * wb * deviated * math.sin(theta)
        snub = self.whp.x * math.pi / 4 * p["ct_od_in"] ** 2
        direction = math.tanh(speed / 2.0)  # + running in, - pulling out
        extra = self.extra_drag_lbf if depth > self.extra_drag_from_ft else 0.0
        return axial - snub - direction * (drag + extra
                                           + p["stripper_friction_lbf"] * (depth > 0))

    def pump_pressure_psi(self, rate_bbl_min: float) -> float:
        if rate_bbl_min <= 0.01:
            return self.whp.x
        p = self.p
        d = self.id_in
        q = rate_bbl_min * 42.0  # gpm
        rho = p["fluid_ppg"]
        v = q / (2.448 * d * d)
        re = 928.0 * rho * v * d / 1.0
        f = 0.0791 / re**0.25 if re > 2100 else 16.0 / re
        per_ft = f * rho * v * v / (25.8 * d)
        on_reel = p["reel_length_ft"] - self.depth
        friction = per_ft * (self.depth + 1.3 * on_reel)
        nozzle = 8.311e-5 * rho * q * q / (0.95**2 * p["nozzle_area_in2"] ** 2)
        return self.whp.x + friction + nozzle

    # --- time --------------------------------------------------------------------------
    def advance(self, t: float, h: float) -> None:
        p = self.p
        self.whp.advance(h, self.rng)
        self.stage_t += h
        target_speed, target_rate = self._plan()
        if self.hold:
            target_speed = 0.0
        self.speed = relax(self.speed, target_speed, h, 10.0)
        move = self.speed * h / 60.0
        new = min(max(self.depth + move, 0.0), p["target_depth_ft"])
        self.running_ft += abs(new - self.depth)
        self.depth = new
        self.rate = relax(self.rate, target_rate, h, 15.0)
        self.pumped += self.rate * h / 60.0
        self._next_stage(t + h)

    def _plan(self) -> tuple[float, float]:
        p, lim = self.p, self.speed_limit
        if self.stage == RIH:
            return min(p["rih_speed_ft_min"], lim), p["rih_pump_rate_bbl_min"]
        if self.stage == WASH:
            return min(p["wash_speed_ft_min"], lim), self.rate_sp
        if self.stage == CIRCULATE:
            return 0.0, self.rate_sp
        if self.stage == POOH:
            # slow down over the last 200 ft to stop at the stripper
            slow = min(1.0, max(self.depth / 200.0, 0.1))
            return -min(p["pooh_speed_ft_min"], lim) * slow, min(self.rate_sp, 1.0)
        return 0.0, 0.0

    def _next_stage(self, now: float) -> None:
        p = self.p
        old = self.stage
        if self.stage == RIH and self.depth >= p["fill_top_ft"]:
            self.stage = WASH
        elif self.stage == WASH and self.depth >= p["target_depth_ft"] - 0.01:
            self.stage = CIRCULATE
        elif self.stage == CIRCULATE and self.stage_t >= 60.0 * p["circulate_min"]:
            self.stage = POOH
        elif self.stage == POOH and self.depth <= 0.5:
            self.stage = IDLE
            self.trips += 1
        elif self.stage == IDLE and self.stage_t >= 60.0 * p["idle_min"]:
            self.stage = RIH
            self.pumped = 0.0
        if self.stage != old:
            self.stage_t = 0.0
            self.events.append({"time": now, "stage": STAGES[self.stage], "depth_ft": self.depth})
            del self.events[:-50]

    # --- registers -------------------------------------------------------------------
    def refresh(self, now: float) -> None:
        weight = self.weight_lbf(self.depth, self.speed)
        pump = self.pump_pressure_psi(self.rate)
        self.put("DEPTH", self.noisy(self.depth, 0.05))
        self.put("SPEED", self.noisy(self.speed, 0.2) if abs(self.speed) > 0.05 else 0.0)
        self.put("WEIGHT", self.noisy(weight, 40.0))
        self.put("PUMP_PRESSURE", max(self.noisy(pump, 8.0), 0.0))
        self.put("PUMP_RATE", max(self.noisy(self.rate, 0.005), 0.0) if self.rate > 0.01
                 else 0.0)
        self.put("WHP", max(self.noisy(self.whp.x, 1.0), 0.0))
        self.put("REEL_PRESSURE", max(self.noisy(pump - 40.0 * (self.rate / 1.5) ** 1.8, 8.0),
                                      0.0))
        self.put("INJECTOR_FORCE", self.noisy(weight + self.p["reel_back_tension_lbf"], 40.0))
        self.put("RETURNS_RATE", max(self.noisy(self.rate * 1.02, 0.01), 0.0) if self.rate
                 > 0.01 else 0.0)
        self.put("TOTAL_PUMPED", self.pumped)
        self.put("RUNNING_FEET", int(self.running_ft) % 2**32)
        self.put("REEL_TRIPS", self.trips % 65536)
        self.put("JOB_STAGE", self.stage)

    def _put_setpoints(self) -> None:
        self.put("PUMP_RATE_SP", self.rate_sp)
        self.put("SPEED_LIMIT", self.speed_limit)
        self.put("HOLD", self.hold)

    def apply_write(self, point: Point, value: float) -> None:
        if point.key == "PUMP_RATE_SP":
            self.rate_sp = min(max(value, 0.0), 5.0)
        elif point.key == "SPEED_LIMIT":
            self.speed_limit = min(max(value, 5.0), 250.0)
        elif point.key == "HOLD":
            self.hold = bool(value)
        self._put_setpoints()

    # --- events and truth ----------------------------------------------------------------
    def inject(self, event: str, **kwargs: Any) -> None:
        if event == "stuck_pipe":
            self.hold = True
        elif event == "wellhead_pressure":
            self.whp.x = float(kwargs.get("pressure_psi", self.whp.mean))
            self.whp.mean = self.whp.x
        elif event == "drag":  # debris, a tight spot: friction below a depth
            self.extra_drag_lbf = float(kwargs.get("extra_lbf", 3000.0))
            self.extra_drag_from_ft = float(kwargs.get("below_ft", self.depth))
        else:
            raise ValueError(f"{self.model}: unknown event {event!r}; known: stuck_pipe, "
                             "wellhead_pressure, drag")
        self.events.append({"time": self.t, "event": event, **kwargs})
        self._put_setpoints()

    def truth(self) -> dict[str, Any]:
        return {
            "well": self.wells[0],
            "stage": STAGES[self.stage],
            "depth_ft": self.depth,
            "speed_ft_min": self.speed,
            "weight_lbf": self.weight_lbf(self.depth, self.speed),
            "pick_up_weight_lbf": self.weight_lbf(self.depth, -60.0),
            "slack_off_weight_lbf": self.weight_lbf(self.depth, 60.0),
            "pump_rate_bbl_min": self.rate,
            "pump_pressure_psi": self.pump_pressure_psi(self.rate),
            "wellhead_pressure_psi": self.whp.x,
            "running_feet": self.running_ft,
            "reel_trips": self.trips,
            "pumped_bbl": self.pumped,
            "events": list(self.events),
        }
