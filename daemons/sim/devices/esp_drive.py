"""ESP variable-speed drive with downhole gauge: W102.

The pump's 60 Hz stage curve is scaled to the drive frequency by the affinity laws
(q ~ f, H ~ f^2, BHP ~ f^3; Takacs, Electrical Submersible Pumps Manual, 2009, ch. 2).
The operating rate balances pump head against the system: discharge = THP + tubing
gradient*depth + friction, intake = CHP + the annulus liquid column above the pump.  The
annulus level follows a composite (PI/Vogel) inflow and the pump's withdrawal, so a higher
frequency draws the level down until the pump starves and the drive trips on underload.
Trips: underload, overload, high motor temperature; automatic restart after a delay.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any

from daemons.sim.devices import fluids
from daemons.sim.devices.base import DeviceModel, Drift, Point, relax, require
from daemons.sim.devices.esp_points import POINTS

STOPPED, RUNNING, RAMPING, TRIPPED = 0, 1, 2, 3
STATE_NAMES = ("stopped", "running", "ramping", "tripped")
TRIP_NONE, TRIP_UNDERLOAD, TRIP_OVERLOAD, TRIP_MOTOR_TEMP = 0, 1, 2, 3
TRIP_NAMES = ("none", "underload", "overload", "motor_temperature")
HHP_PER_BBL_D_FT = 7.368e-6  # hydraulic hp = 7.368e-6 * q(bbl/d) * H(ft) * SG

class EspDrive(DeviceModel):
    model = "esp_drive"
    WELLS = 1
    DEFAULTS = MappingProxyType({
        "pump_depth_ft": 6800.0,
        "perforation_depth_ft": 7000.0,
        "reservoir_pressure_psi": 2600.0,
        "productivity_index_bbl_d_psi": 1.2,
        "bubble_point_psi": 1000.0,
        "gor_scf_bbl": 250.0,
        "gas_separator_efficiency": 0.6,
        "water_cut_pct": 80.0,
        "oil_api": 28.0,
        "water_sg": 1.06,
        "stages": 180,
        "shutoff_head_ft_per_stage": 35.0,  # at 60 Hz
        "runout_rate_bbl_d": 2900.0,  # at 60 Hz
        "best_efficiency": 0.68,
        "bep_rate_bbl_d": 1600.0,  # at 60 Hz
        "motor_hp": 100.0,  # at 60 Hz
        "motor_volts": 2300.0,
        "motor_amps": 28.0,
        "frequency_hz": 55.0,
        "tubing_head_pressure_psi": 150.0,
        "casing_head_pressure_psi": 80.0,
        "casing_id_in": 6.276,
        "tubing_od_in": 2.875,
        "motor_od_in": 5.4,
        "surface_temperature_degf": 85.0,
        "geothermal_gradient_degf_100ft": 1.4,
        "tubing_friction_psi_per_kbbl_d2": 25.0,
    })

    def layout(self) -> tuple[Point, ...]:
        return POINTS

    def check_params(self) -> None:
        p, m = self.p, self.model
        require(m, 1000 <= p["pump_depth_ft"] <= 15000, "pump_depth_ft must be 1000..15000")
        require(m, p["perforation_depth_ft"] >= p["pump_depth_ft"],
                "perforation_depth_ft must be at or below pump_depth_ft")
        require(m, p["stages"] >= 1, "stages must be at least 1")
        require(m, 30 <= p["frequency_hz"] <= 70, "frequency_hz must be 30..70")
        require(m, 0 < p["best_efficiency"] <= 0.9, "best_efficiency must be 0..0.9")
        require(m, p["runout_rate_bbl_d"] > p["bep_rate_bbl_d"] > 0,
                "runout_rate_bbl_d > bep_rate_bbl_d > 0")
        require(m, p["casing_id_in"] > max(p["tubing_od_in"], p["motor_od_in"]),
                "casing_id_in must exceed tubing and motor OD")
        require(m, 0 <= p["water_cut_pct"] <= 100, "water_cut_pct must be 0..100")

    def setup(self) -> None:
        p = self.p
        self.sg = fluids.liquid_sg(p["water_cut_pct"] / 100, p["oil_api"], p["water_sg"])
        self.grad = fluids.gradient_psi_ft(self.sg)
        self.cap = fluids.annulus_capacity_bbl_ft(p["casing_id_in"], p["tubing_od_in"])
        self.intake_degf = fluids.geothermal_degf(p["surface_temperature_degf"],
                                                  p["geothermal_gradient_degf_100ft"],
                                                  p["pump_depth_ft"])
        self.thp = Drift(p["tubing_head_pressure_psi"], 6.0, 1200.0)
        self.chp = Drift(p["casing_head_pressure_psi"], 3.0, 3600.0)
        self.wear = Drift(0.0, 0.05, 6 * 3600.0)
        self.unbalance = Drift(1.8, 0.4, 3600.0)
        self.freq_sp = p["frequency_hz"]
        self.accel = 0.5
        self.ul_sp, self.ol_sp, self.mt_sp = 30.0, 115.0, 300.0
        self.restart_delay_min = 30.0
        self.sand_factor = 1.0  # >1 while solids load the pump (inject "sand")
        self.gas_boost = 1.0  # >1 during an injected gas slug
        self.until: dict[str, float] = {}
        self.pi_factor = 1.0
        self.trip_code = TRIP_NONE
        self.trip_count = 0
        self.trips: list[dict[str, Any]] = []
        self.run_s = 0.0
        self.run_cmd = True
        self.over_s = self.under_s = 0.0
        self.restart_at = 0.0
        # start at the steady state of the initial frequency
        self.freq = self.freq_sp
        self.state = RUNNING
        self.level_ft = self._steady_level(self.freq)
        self.motor_degf = self.intake_degf + 25.0
        self._solve(0.0)
        self.motor_degf = self.intake_degf + self.rise_degf
        self._put_setpoints()

    # --- hydraulics --------------------------------------------------------------------
    def _head_ft(self, q: float, f: float) -> float:
        """Stage head at rate q and frequency f (affinity laws on a quadratic 60 Hz curve)."""
        if f <= 0:
            return 0.0
        x = q * 60.0 / f / self.p["runout_rate_bbl_d"]
        h60 = self.p["shutoff_head_ft_per_stage"] * (1.0 - 0.2 * x - 0.8 * x * x)
        return max(h60, 0.0) * (f / 60.0) ** 2 * self.p["stages"]

    def _pip(self, level_ft: float) -> float:
        return self.chp.x + 0.9 * self.grad * max(level_ft, 0.0)

    def _inflow(self, pip: float) -> float:
        pwf = pip + self.grad * (self.p["perforation_depth_ft"] - self.p["pump_depth_ft"])
        return self.pi_factor * fluids.composite_rate(
            pwf, self.p["reservoir_pressure_psi"], self.p["productivity_index_bbl_d_psi"],
            self.p["bubble_point_psi"])

    def _gas_fraction(self, pip: float) -> float:
        p = self.p
        oil = 1.0 - p["water_cut_pct"] / 100
        rs = p["gor_scf_bbl"] * min(pip / p["bubble_point_psi"], 1.0)  # linear Rs(p) below pb
        free = ((p["gor_scf_bbl"] - rs) * oil * (1.0 - p["gas_separator_efficiency"])
                * self.gas_boost + 200.0 * (self.gas_boost - 1.0))
        return fluids.free_gas_fraction(free, pip, self.intake_degf)

    def _degradation(self, pip: float) -> float:
        gas = self._gas_fraction(pip)
        return max(1.0 - 2.0 * gas, 0.0) if gas < 0.45 else 0.0

    def _discharge(self, q: float) -> float:
        fric = self.p["tubing_friction_psi_per_kbbl_d2"] * (q / 1000.0) ** 2
        return self.thp.x + self.grad * self.p["pump_depth_ft"] + fric

    def _pump_rate(self, f: float, pip: float) -> float:
        """Rate where the pump's pressure rise meets discharge - intake (head degraded by
        free gas: a common linear derating, 2*gas fraction, locking above 45 %)."""
        if f <= 0:
            return 0.0
        degr = self._degradation(pip)
        qmax = self.p["runout_rate_bbl_d"] * f / 60.0

        def surplus(q: float) -> float:  # decreasing in q
            return (self._head_ft(q, f) * degr * fluids.gradient_psi_ft(self.sg)
                    - (self._discharge(q) - pip))
        return fluids.solve_increasing(lambda q: -surplus(q), 0.0, qmax)

    def _steady_level(self, f: float) -> float:
        """Annulus level where inflow equals what the pump takes (for the initial state)."""
        top = self.p["pump_depth_ft"] - 50.0
        # above the bubble point no gas: pump rate - inflow then rises with the level
        lo = min(max((self.p["bubble_point_psi"] - self.chp.x) / (0.9 * self.grad), 0.0), top)
        return fluids.solve_increasing(
            lambda h: self._pump_rate(f, self._pip(h)) - self._inflow(self._pip(h)), lo, top)

    def _solve(self, h: float) -> None:
        """Operating point now; the annulus level integrates inflow - withdrawal."""
        f = self.freq if self.state in (RUNNING, RAMPING) else 0.0
        pip = self._pip(self.level_ft)
        q_in = self._inflow(pip)
        q = self._pump_rate(f, pip)
        if self.level_ft <= 0.0:
            q = min(q, q_in)  # starved: the pump takes only what flows in
        self.level_ft = max(self.level_ft + (q_in - q) * h / 86400.0 / self.cap, 0.0)
        self.q, self.q_in, self.pip = q, q_in, pip
        self.pd = self._discharge(q)  # a check valve holds the column when stopped
        self.head = (self.pd - pip) / self.grad if f > 0 else 0.0
        self.gas = self._gas_fraction(pip) if f > 0 else 0.0
        # BHP = 7.368e-6*q*H*SG/eta; with eta = eta_max*y*(2-y), y = q/q_bep, q/eta stays
        # finite at shut-in.  Gas lightens the mixture the impeller works on.
        qb = self.p["bep_rate_bbl_d"] * f / 60.0
        y = min(q / qb, 1.9) if qb > 0 else 0.0
        developed = self._head_ft(q, f) * self._degradation(pip)
        self.bhp = (HHP_PER_BBL_D_FT * developed * self.sg * (1.0 - self.gas) ** 2 * qb
                    / (self.p["best_efficiency"] * (2.0 - y)) * self.sand_factor) if f > 0 else 0.0
        cap_hp = self.p["motor_hp"] * max(f, 1.0) / 60.0
        self.load = 100.0 * self.bhp / cap_hp if f > 0 else 0.0
        # motor cooling by the flow past it (>= 1 ft/s recommended, Takacs 2009)
        area_ft2 = math.pi / 4 * (self.p["casing_id_in"] ** 2 - self.p["motor_od_in"] ** 2) / 144
        v = q * fluids.FT3_PER_BBL / 86400.0 / area_ft2
        self.rise_degf = 70.0 * (self.load / 100.0) ** 2 / math.sqrt(max(v, 0.05))

    # --- time --------------------------------------------------------------------------
    def advance(self, t: float, h: float) -> None:
        for d in (self.thp, self.chp, self.wear, self.unbalance):
            d.advance(h, self.rng)
        now = t + h
        if self.until.get("gas", 0.0) < now:
            self.gas_boost = 1.0
        if self.until.get("sand", 0.0) < now:
            self.sand_factor = 1.0
        if self.state in (RUNNING, RAMPING):
            step = self.accel * h
            self.freq = min(self.freq + step, self.freq_sp) if self.freq < self.freq_sp \
                else max(self.freq - step, self.freq_sp)
            self.state = RUNNING if abs(self.freq - self.freq_sp) < 0.05 else RAMPING
            self.run_s += h
        elif (self.state == TRIPPED and self.run_cmd and self.restart_delay_min > 0
              and now >= self.restart_at):
            self._start("automatic restart")
        if self.rng.random() < h / (3 * 86400.0):  # casing gas breaks through now and then
            self.gas_boost = 4.0
            self.until["gas"] = now + 300.0 + 900.0 * float(self.rng.random())
        self._solve(h)
        target = self.intake_degf + (self.rise_degf if self.state in (RUNNING, RAMPING) else 0)
        self.motor_degf = relax(self.motor_degf, target, h, 900.0)
        if self.state in (RUNNING, RAMPING):
            self._protect(now, h)

    def _protect(self, now: float, h: float) -> None:
        armed = self.state == RUNNING  # underload is bypassed while ramping up
        self.under_s = self.under_s + h if armed and self.load < self.ul_sp else 0.0
        self.over_s = self.over_s + h if self.load > self.ol_sp else 0.0
        if self.under_s >= 60.0:
            self._trip(TRIP_UNDERLOAD, now)
        elif self.over_s >= 5.0:
            self._trip(TRIP_OVERLOAD, now)
        elif self.motor_degf > self.mt_sp:
            self._trip(TRIP_MOTOR_TEMP, now)

    def _trip(self, code: int, now: float) -> None:
        self.state = TRIPPED
        self.trip_code = code
        self.trip_count += 1
        self.freq = 0.0
        self.under_s = self.over_s = 0.0
        self.restart_at = now + self.restart_delay_min * 60.0
        self.trips.append({"time": now, "trip": TRIP_NAMES[code], "load_pct": self.load,
                           "motor_temp_degf": self.motor_degf, "pip_psi": self.pip})
        del self.trips[:-50]

    def _start(self, why: str) -> None:
        self.state = RAMPING
        self.freq = 0.0
        self.trips.append({"time": self.t, "start": why})
        del self.trips[:-50]

    # --- registers -------------------------------------------------------------------
    def refresh(self, now: float) -> None:
        on = self.state in (RUNNING, RAMPING)
        load = self.load if on else 0.0
        amps = self.p["motor_amps"] * math.sqrt(0.35**2 + (1 - 0.35**2) * (load / 100) ** 2)
        y = self.q / max(self.p["bep_rate_bbl_d"] * self.freq / 60.0, 1.0)
        vib = 0.12 + 0.25 * (y - 1.0) ** 2 + max(self.wear.x, 0.0) + 1.5 * self.gas
        self.put("FREQUENCY", self.freq + (0.01 * float(self.rng.standard_normal()) if on else 0))
        self.put("MOTOR_CURRENT", max(self.noisy(amps, 0.15), 0.0) if on else 0.0)
        self.put("MOTOR_VOLTAGE", max(self.noisy(self.p["motor_volts"] * self.freq / 60, 3), 0)
                 if on else 0.0)
        self.put("MOTOR_LOAD", max(self.noisy(load, 0.3), 0.0) if on else 0.0)
        self.put("OUTPUT_POWER", self.bhp * 0.7457 / 0.85 if on else 0.0)
        self.put("CURRENT_UNBALANCE", max(self.unbalance.x, 0.0) if on else 0.0)
        self.put("INTAKE_PRESSURE", max(self.noisy(self.pip, 0.5), 0.0))
        self.put("INTAKE_TEMP", self.noisy(self.intake_degf, 0.1))
        self.put("DISCHARGE_PRESSURE", max(self.noisy(self.pd, 0.8), 0.0))
        self.put("MOTOR_TEMP", self.noisy(self.motor_degf, 0.2))
        self.put("VIBRATION_X", abs(self.noisy(vib, 0.02)) if on else 0.0)
        self.put("VIBRATION_Y", abs(self.noisy(0.8 * vib, 0.02)) if on else 0.0)
        self.put("THP", max(self.noisy(self.thp.x, 0.5), 0.0))
        self.put("CHP", max(self.noisy(self.chp.x, 0.3), 0.0))
        self.put("DC_BUS_VOLTAGE", self.noisy(650.0, 2.0))
        self.put("DRIVE_STATE", self.state)
        self.put("TRIP_CODE", self.trip_code)
        self.put("TRIP_COUNT", self.trip_count)
        left = self.restart_at - now if self.state == TRIPPED and self.restart_delay_min else 0
        self.put("RESTART_LEFT", max(left, 0.0))
        self.put("RUN_HOURS", self.run_s / 3600.0)
        self.put("RUNNING", on)
        self.put("TRIPPED", self.state == TRIPPED)
        self.put("AT_SPEED", self.state == RUNNING)

    def _put_setpoints(self) -> None:
        self.put("FREQUENCY_SP", self.freq_sp)
        self.put("ACCEL_RATE", self.accel)
        self.put("UNDERLOAD_SP", self.ul_sp)
        self.put("OVERLOAD_SP", self.ol_sp)
        self.put("MOTOR_TEMP_SP", self.mt_sp)
        self.put("RESTART_DELAY", self.restart_delay_min)
        self.put("RUN_CMD", self.run_cmd)
        self.put("FAULT_RESET", False)

    def apply_write(self, point: Point, value: float) -> None:
        key = point.key
        if key == "FREQUENCY_SP":
            self.freq_sp = min(max(value, 30.0), 70.0)
        elif key == "ACCEL_RATE":
            self.accel = min(max(value, 0.05), 5.0)
        elif key == "UNDERLOAD_SP":
            self.ul_sp = min(max(value, 0.0), 100.0)
        elif key == "OVERLOAD_SP":
            self.ol_sp = min(max(value, 50.0), 200.0)
        elif key == "MOTOR_TEMP_SP":
            self.mt_sp = min(max(value, 150.0), 450.0)
        elif key == "RESTART_DELAY":
            self.restart_delay_min = min(max(value, 0.0), 1440.0)
        elif key == "RUN_CMD":
            self.run_cmd = bool(value)
            if not self.run_cmd:
                self.state, self.freq = STOPPED, 0.0
            elif self.state == STOPPED:
                self._start("run command")
        elif key == "FAULT_RESET" and value and self.state == TRIPPED:
            self.trip_code = TRIP_NONE
            if self.run_cmd:
                self._start("fault reset")
        self._put_setpoints()

    # --- events and truth ----------------------------------------------------------------
    def inject(self, event: str, **kwargs: Any) -> None:
        now = self.t or 0.0
        minutes = float(kwargs.get("duration_min", 30.0))
        if event == "trip":
            name = str(kwargs.get("code", "underload"))
            require(self.model, name in TRIP_NAMES[1:], f"unknown trip code {name!r}")
            if self.state in (RUNNING, RAMPING):
                self._trip(TRIP_NAMES.index(name), now)
        elif event == "gas_slug":
            self.gas_boost = float(kwargs.get("factor", 4.0))
            self.until["gas"] = now + 60 * minutes
        elif event == "sand":
            self.sand_factor = float(kwargs.get("factor", 1.6))
            self.until["sand"] = now + 60 * minutes
        elif event == "inflow_change":
            self.pi_factor = float(kwargs.get("factor", 1.0))
        else:
            raise ValueError(f"{self.model}: unknown event {event!r}; known: trip, gas_slug, "
                             "sand, inflow_change")

    def truth(self) -> dict[str, Any]:
        wc = self.p["water_cut_pct"] / 100
        return {
            "well": self.wells[0],
            "state": STATE_NAMES[self.state],
            "frequency_hz": self.freq,
            "liquid_rate_bbl_d": self.q,
            "oil_rate_bbl_d": self.q * (1 - wc),
            "water_rate_bbl_d": self.q * wc,
            "inflow_bbl_d": self.q_in,
            "intake_pressure_psi": self.pip,
            "discharge_pressure_psi": self.pd,
            "head_ft": self.head,
            "brake_hp": self.bhp,
            "motor_load_pct": self.load,
            "motor_temperature_degf": self.motor_degf,
            "free_gas_fraction": self.gas,
            "fluid_above_pump_ft": self.level_ft,
            "fluid_level_ft": self.p["pump_depth_ft"] - self.level_ft,
            "fluid_sg": self.sg,
            "trip_code": TRIP_NAMES[self.trip_code],
            "trip_count": self.trip_count,
            "events": list(self.trips),
        }
