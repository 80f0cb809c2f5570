"""A land rig's drilling data: D201 (hookload, depths, hydraulics, pits, gas, well control).

Sequences: drilling ahead a stand (93 ft) at a time with connections, tripping out and
in a stand at a time, circulating; scenario events: kick, shut-in, kill, lost returns.
Sources: buoyancy factor 1 - MW/65.5 and bit pressure drop 8.311e-5*rho*q^2/(Cd^2*At^2)
(Bourgoyne, Millheim, Chenevert & Young, Applied Drilling Engineering, SPE 1986, ch. 4);
drill-off ROP = K*(W/d)^a*N^b (Bingham 1964 form); bit torque mu*W*d/36 ft*lbf (Pessier &
Fear, SPE 24584, 1992); shut-in pressures SIDPP = Pformation - 0.052*MW*TVD and
SICP = SIDPP + 0.052*(MW - rho_influx)*h_influx (Bourgoyne et al., ch. 4 well control).
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any

from daemons.sim.devices.base import DeviceModel, Drift, Point, relax, require
from daemons.sim.devices.rig_mud import RigMud
from daemons.sim.devices.rig_points import (
    ACTIVITY,
    BLOCK_LOW,
    BLOCK_TOP,
    CIRCULATING,
    CONNECTION,
    DRILLING,
    POINTS,
    PSI_PER_FT_PPG,
    SHUT_IN,
    STAND_FT,
    TRIP_IN,
    TRIP_OUT,
)


class DrillingRig(RigMud, DeviceModel):
    model = "drilling_rig"
    WELLS = 1
    DEFAULTS = MappingProxyType({
        "start_depth_ft": 8500.0,
        "bit_diameter_in": 8.5,
        "mud_weight_ppg": 10.5,
        "pore_pressure_ppg": 9.8,
        "drill_pipe_od_in": 5.0,
        "drill_pipe_id_in": 4.276,
        "drill_pipe_weight_lb_ft": 21.9,
        "bha_length_ft": 600.0,
        "bha_weight_lb_ft": 91.0,
        "bha_od_in": 6.5,
        "block_weight_klbf": 45.0,
        "wob_klbf": 25.0,
        "rpm": 120.0,
        "pump_spm": 75.0,
        "pump_bbl_per_stroke": 0.1018,  # 6 x 12 in triplex at 97 %
        "nozzle_area_in2": 0.777,  # 6 x 13/32 in
        "rop_ft_h": 100.0,  # at the nominal WOB/RPM in average rock
        "pit_capacity_bbl": (120.0, 150.0, 150.0, 200.0),  # pits 1-3 active, 4 reserve
        "pit_volume_bbl": (80.0, 100.0, 100.0, 150.0),
        "trip_tank_bbl": 30.0,
        "flow_out_full_scale_gpm": 1200.0,
        "gas_background_pct": 1.0,
        "migration_ft_h": 500.0,
    })

    def layout(self) -> tuple[Point, ...]:
        return POINTS

    def check_params(self) -> None:
        p, m = self.p, self.model
        require(m, 1000 <= p["start_depth_ft"] <= 30000, "start_depth_ft must be 1000..30000")
        require(m, 7.0 <= p["mud_weight_ppg"] <= 20.0, "mud_weight_ppg must be 7..20")
        require(m, p["bit_diameter_in"] > p["bha_od_in"] >= p["drill_pipe_od_in"] >
                p["drill_pipe_id_in"] > 0, "need bit > BHA OD >= pipe OD > pipe ID > 0")
        require(m, len(p["pit_capacity_bbl"]) == 4, "pit_capacity_bbl needs 4 pits")
        require(m, all(0 <= v <= c for v, c in zip(p["pit_volume_bbl"], p["pit_capacity_bbl"],
                                                   strict=True)),
                "pit_volume_bbl must be within pit_capacity_bbl")
        require(m, p["bha_length_ft"] < p["start_depth_ft"], "BHA longer than the hole")

    def setup(self) -> None:
        p = self.p
        self.mw = p["mud_weight_ppg"]
        self.hole = p["start_depth_ft"]
        self.bit = self.hole
        self.block = 60.0
        self.latch = (self.bit, self.block)  # (bit, block) when the string was picked up
        self.in_slips = False
        self.activity = DRILLING
        self.phase_t = 0.0
        self.wob_sp, self.rpm_sp, self.spm_sp = p["wob_klbf"], p["rpm"], p["pump_spm"]
        self.spm = [self.spm_sp, self.spm_sp]
        self.strokes = [0.0, 0.0]
        self.pumps_on = True
        self.rpm = self.rpm_sp
        self.wob = self.wob_sp
        self.rop = 0.0
        self.velocity = 0.0  # bit, ft/s, down positive
        self.q_out = self._flow_in()
        self.lines = 6.0  # mud held in surface lines while pumping
        cap = p["pit_capacity_bbl"]
        self.active = sum(p["pit_volume_bbl"][:3])
        self.shares = [c / sum(cap[:3]) for c in cap[:3]]
        self.reserve = p["pit_volume_bbl"][3]
        self.trip_tank = p["trip_tank_bbl"]
        self.transfer_left = 0.0
        self.gas = p["gas_background_pct"]
        self.gas_queue: list[tuple[float, float]] = []  # (arrival time, % gas) at the shakers
        self.kick: dict[str, Any] | None = None
        self.influx = 0.0  # bbl of influx in the well
        self.pit_gain = 0.0  # bbl gained in the pits from an influx
        self.lost_rate, self.lost_until, self.lost_total = 0.0, 0.0, 0.0
        self.sidpp = self.sicp = 0.0
        self.mud_t = Drift(120.0, 3.0, 3600.0)
        self.events: list[dict[str, Any]] = []
        self._put_setpoints()

    # --- hole and string ---------------------------------------------------------------
    def _string_klbf(self) -> float:
        p = self.p
        bha = min(p["bha_length_ft"], self.bit)
        air = (bha * p["bha_weight_lb_ft"] + (self.bit - bha) * p["drill_pipe_weight_lb_ft"])
        return air * (1.0 - self.mw / 65.5) / 1000.0  # buoyancy factor (Bourgoyne ch. 4)

    def _annulus_bbl_ft(self, od_in: float) -> float:
        return (self.p["bit_diameter_in"] ** 2 - od_in**2) / 1029.4

    def _influx_height_ft(self) -> float:
        p = self.p
        around_bha = self._annulus_bbl_ft(p["bha_od_in"]) * p["bha_length_ft"]
        if self.influx <= around_bha:
            return self.influx / self._annulus_bbl_ft(p["bha_od_in"])
        return p["bha_length_ft"] + (self.influx - around_bha) / self._annulus_bbl_ft(
            p["drill_pipe_od_in"])

    def _flow_in(self) -> float:
        return sum(self.spm) * self.p["pump_bbl_per_stroke"] * 42.0  # gpm

    def _rop(self) -> float:
        """Drill-off ROP (ft/h) with layered drillability (a deterministic rock column)."""
        p = self.p
        d = self.hole
        rock = math.exp(0.35 * math.sin(d / 173.0) + 0.2 * math.sin(d / 41.0 + 1.3))
        w = (max(self.wob, 0.0) / p["bit_diameter_in"]) / (p["wob_klbf"] / p["bit_diameter_in"])
        n = max(self.rpm, 0.0) / p["rpm"]
        return p["rop_ft_h"] * rock * w**1.2 * n**0.6

    def _bottoms_up_s(self) -> float:
        q = max(self._flow_in() / 42.0, 1.0)  # bbl/min
        p = self.p
        vol = (self._annulus_bbl_ft(p["bha_od_in"]) * p["bha_length_ft"]
               + self._annulus_bbl_ft(p["drill_pipe_od_in"]) * (self.bit - p["bha_length_ft"]))
        return 60.0 * vol / q

    def _spp(self) -> float:
        """Pump pressure: bit nozzles plus system friction, less the U-tube effect of a
        light influx in the annulus."""
        q = self._flow_in()
        if q < 1.0:
            return 0.0
        bit = 8.311e-5 * self.mw * q * q / (0.95**2 * self.p["nozzle_area_in2"] ** 2)
        system = 2.6e-3 * self.mw**0.8 * q**1.8 * (self.bit / 10000.0) ** 0.9 + 60.0
        utube = PSI_PER_FT_PPG * (self.mw - 2.5) * self._influx_height_ft()
        return max(bit + system - utube, 0.0)

    # --- time --------------------------------------------------------------------------
    def advance(self, t: float, h: float) -> None:
        now = t + h
        self.mud_t.advance(h, self.rng)
        self.phase_t += h
        bit_before = self.bit
        {DRILLING: self._drill, CONNECTION: self._connection, TRIP_OUT: self._trip_out,
         TRIP_IN: self._trip_in, CIRCULATING: self._circulate,
         SHUT_IN: self._shut_in}[self.activity](h)
        if not self.in_slips:
            self.bit = self.latch[0] + (self.latch[1] - self.block)
        self.velocity = (self.bit - bit_before) / h
        target = self.spm_sp if self.pumps_on else 0.0
        for k in range(2):
            self.spm[k] = relax(self.spm[k], target, h, 8.0)
            self.strokes[k] += self.spm[k] * h / 60.0
        self._fluids(now, h)

    def _go(self, activity: int) -> None:
        self.activity = activity
        self.phase_t = 0.0

    def _latch(self) -> None:
        self.in_slips = False
        self.latch = (self.bit, self.block)

    def _move_block(self, target: float, speed_ft_s: float, h: float) -> None:
        step = speed_ft_s * h
        self.block = min(self.block + step, target) if target > self.block \
            else max(self.block - step, target)

    def _drill(self, h: float) -> None:
        self.pumps_on, self.rpm = True, relax(self.rpm, self.rpm_sp, h, 5.0)
        self.wob = relax(self.wob, self.wob_sp, h, 10.0)
        self.rop = self._rop()
        self.block -= self.rop / 3600.0 * h
        self.hole = max(self.hole, self.latch[0] + (self.latch[1] - self.block))
        if self.block <= BLOCK_LOW:
            self._go(CONNECTION)

    def _connection(self, h: float) -> None:
        """Pick up, stop pumps, set slips, fetch a stand, make up, pumps on, ream down."""
        tc = self.phase_t
        self.rop = 0.0
        self.wob = relax(self.wob, 0.0, h, 3.0)
        if tc < 30:
            self._move_block(BLOCK_LOW + 5.0, 0.3, h)
            self.rpm = relax(self.rpm, 0.0, h, 8.0)
        elif tc < 90:
            self.pumps_on, self.rpm = False, 0.0
        elif tc < 240:
            if not self.in_slips:
                self.in_slips = True
            self._move_block(BLOCK_TOP, 0.8, h)
        elif tc < 300:
            if self.in_slips:
                self.block = BLOCK_TOP
                self._latch()
                self.pumps_on = True
            self.rpm = relax(self.rpm, self.rpm_sp if tc > 270 else 0.0, h, 5.0)
            room = max(self.hole - self.bit, 0.0)  # ream down, on bottom by t = 300 s
            self.block -= min(max(0.15, room / max(300.0 - tc, 1.0)) * h, room)
        else:
            self._go(DRILLING)

    def _trip_out(self, h: float) -> None:
        """Pull a stand, set slips, rack it back, lower the empty block; hole filled from
        the trip tank with the steel pulled."""
        tc = self.phase_t
        self.pumps_on, self.rpm, self.wob, self.rop = False, 0.0, 0.0, 0.0
        if tc < 10:
            if self.in_slips:
                self._latch()
        elif tc < 75:
            self._move_block(BLOCK_TOP, 1.45, h)
        elif tc < 150:
            if not self.in_slips:
                self.in_slips = True
                self.trip_tank -= self._steel_bbl_ft() * STAND_FT
            self._move_block(BLOCK_LOW, 1.6, h)
        else:
            self.phase_t = 0.0
            if self.bit < self.p["bha_length_ft"] + 2 * STAND_FT:  # out of hole: bit change
                self.events.append({"time": self.t, "activity": "out of hole"})
                self._go(TRIP_IN)
                self.phase_t = -600.0
                self.trip_tank = self.p["trip_tank_bbl"]

    def _trip_in(self, h: float) -> None:
        tc = self.phase_t
        self.pumps_on, self.rpm, self.wob, self.rop = False, 0.0, 0.0, 0.0
        if tc < 0:
            self.in_slips = True
        elif tc < 60:
            self._move_block(BLOCK_TOP, 1.6, h)
        elif tc < 75:
            if self.in_slips:
                self._latch()
        elif tc < 140:
            self._move_block(BLOCK_LOW, 1.45, h)
        else:
            self.in_slips = True
            self.trip_tank += self._steel_bbl_ft() * STAND_FT
            self.phase_t = 0.0
            if self.bit > self.hole - 1.5 * STAND_FT:
                self._latch()
                self._go(CIRCULATING)

    def _circulate(self, h: float) -> None:
        """Circulate off bottom; after 30 min (and a killed kick), go back to bottom: ream
        down if the block has room, else make a connection first."""
        self.pumps_on, self.wob, self.rop = True, 0.0, 0.0
        self.rpm = relax(self.rpm, 40.0, h, 10.0)
        if self.in_slips:
            self._latch()
        if self.phase_t < 1800.0 or (self.kick is not None and not self.kick.get("killed")):
            return
        room = self.hole - self.bit
        if self.block - room < BLOCK_LOW:
            self._go(CONNECTION)
            return
        self.block -= min(room, 0.3 * h)
        if self.hole - self.bit < 0.5:
            self._go(DRILLING)

    def _shut_in(self, h: float) -> None:
        self.pumps_on, self.rpm, self.wob, self.rop = False, 0.0, 0.0, 0.0
        self.spm = [relax(s, 0.0, h, 3.0) for s in self.spm]

    def _steel_bbl_ft(self) -> float:
        return (self.p["drill_pipe_od_in"] ** 2 - self.p["drill_pipe_id_in"] ** 2) / 1029.4

    # --- registers -------------------------------------------------------------------
    def refresh(self, now: float) -> None:
        n = self.rng.standard_normal
        moving = self.velocity
        drag = 0.06 * self._string_klbf() * math.tanh(-moving / 0.2)  # pick-up +, slack-off -
        hook = self.p["block_weight_klbf"] + (0.0 if self.in_slips else
                                              self._string_klbf() + drag - self.wob)
        rotating = self.rpm > 1.0
        torque = 0.0
        if rotating:
            torque = (0.0007 * self.bit * (self.rpm / 120.0) ** 0.3
                      + 0.25 * self.wob * 1000.0 * self.p["bit_diameter_in"] / 36.0 / 1000.0)
            torque *= 1.0 + 0.04 * float(n())  # stick-slip chatter
        spp = self.sidpp if self.activity == SHUT_IN else self._spp()
        self.put("HOLE_DEPTH", self.hole)
        self.put("BIT_DEPTH", self.bit)
        self.put("BLOCK_POSITION", self.noisy(self.block, 0.02))
        self.put("HOOKLOAD", max(self.noisy(hook, 0.4), 0.0))
        self.put("WOB", self.noisy(self.wob, 0.3) if self.wob > 0.05 else self.noisy(0.0, 0.1))
        self.put("ROTARY_RPM", max(self.noisy(self.rpm, 0.5), 0.0) if rotating else 0.0)
        self.put("ROTARY_TORQUE", max(torque, 0.0))
        self.put("ROP", max(self.noisy(self.rop, 1.0), 0.0) if self.rop > 0 else 0.0)
        self.put("SPP", max(self.noisy(spp, 3.0), 0.0))
        self.put("CASING_PRESSURE", max(self.noisy(self.sicp, 1.0), 0.0) if self.sicp > 0.5
                 else 0.0)
        self.put("FLOW_IN", self._flow_in())
        fs = self.p["flow_out_full_scale_gpm"]
        self.put("FLOW_OUT", min(max(100.0 * self.q_out / fs + 0.8 * float(n()), 0.0), 100.0))
        for k in range(2):
            self.put(f"PUMP{k + 1}_SPM", self.spm[k])
            self.put(f"PUMP{k + 1}_STROKES", int(self.strokes[k]) % 2**32)
        pits = [self.active * s + 0.3 * float(n()) for s in self.shares]
        for k in range(3):
            self.put(f"PIT{k + 1}", max(pits[k], 0.0))
        self.put("PIT4", max(self.noisy(self.reserve, 0.3), 0.0))
        self.put("PIT_TOTAL", max(sum(pits), 0.0))
        self.put("TRIP_TANK", max(self.noisy(self.trip_tank, 0.02), 0.0))
        self.put("MW_IN", self.noisy(self.mw, 0.01))
        self.put("MW_OUT", self.noisy(self.mw - 0.02 * max(self.gas - 2.0, 0.0), 0.01))
        self.put("GAS_TOTAL", min(max(self.noisy(self.gas, 0.05), 0.0), 100.0))
        self.put("MUD_TEMP_IN", self.noisy(self.mud_t.x, 0.1))
        self.put("MUD_TEMP_OUT", self.noisy(self.mud_t.x + (12.0 if self.q_out > 50 else 0), 0.1))
        self.put("ON_BOTTOM", self.activity == DRILLING)
        self.put("IN_SLIPS", self.in_slips)
        self.put("PUMPS_ON", self._flow_in() > 50.0)
        self.put("BOP_CLOSED", self.activity == SHUT_IN)
        self.put("ACTIVITY", self.activity)

    def _put_setpoints(self) -> None:
        self.put("WOB_SP", self.wob_sp)
        self.put("RPM_SP", self.rpm_sp)
        self.put("SPM_SP", self.spm_sp)

    def apply_write(self, point: Point, value: float) -> None:
        if point.key == "WOB_SP":
            self.wob_sp = min(max(value, 0.0), 80.0)
        elif point.key == "RPM_SP":
            self.rpm_sp = min(max(value, 0.0), 250.0)
        elif point.key == "SPM_SP":
            self.spm_sp = min(max(value, 0.0), 150.0)
        self._put_setpoints()

    # --- events and truth ----------------------------------------------------------------
    def inject(self, event: str, **kwargs: Any) -> None:
        now = self.t or 0.0
        if event == "kick":
            require(self.model, self.kick is None or bool(self.kick.get("killed")),
                    "a kick is already in progress")
            fluid = str(kwargs.get("fluid", "gas"))
            require(self.model, fluid in ("gas", "water", "oil"), "fluid: gas, water or oil")
            self.kick = {"start_time": now, "volume": float(kwargs.get("volume_bbl", 20.0)),
                         "rate": float(kwargs.get("rate_bbl_min", 2.0)), "fluid": fluid,
                         "underbalance_psi": float(kwargs.get("underbalance_psi", 300.0)),
                         "shut_in_time": None}
            self.influx = self.pit_gain = 0.0
            arrive = now + min(0.5 * self._bottoms_up_s(), 900.0)
            if fluid == "gas":
                self.gas_queue.append((arrive, 30.0, 1800.0))
        elif event == "shut_in":
            self._go(SHUT_IN)
            if self.kick is not None and self.kick.get("shut_in_time") is None:
                self.kick["shut_in_time"] = now
        elif event == "kill":
            require(self.model, self.activity == SHUT_IN, "kill needs a shut-in well")
            if self.kick is not None:
                tvd = self.bit
                self.mw = math.ceil((self.mw + self.kick["underbalance_psi"]
                                     / (PSI_PER_FT_PPG * tvd)) * 10.0) / 10.0
                self.kick["killed"] = now
                self.kick["kill_mud_ppg"] = self.mw
            self._go(CIRCULATING)
        elif event == "lost_circulation":
            self.lost_rate = float(kwargs.get("rate_bbl_min", 5.0))
            self.lost_until = now + 60.0 * float(kwargs.get("duration_min", 20.0))
        elif event in ("trip_out", "trip_in", "drill"):
            self._go({"trip_out": TRIP_OUT, "trip_in": TRIP_IN, "drill": CIRCULATING}[event])
        else:
            raise ValueError(f"{self.model}: unknown event {event!r}; known: kick, shut_in, "
                             "kill, lost_circulation, trip_out, trip_in, drill")
        self.events.append({"time": now, "event": event, **kwargs})
        del self.events[:-50]

    def truth(self) -> dict[str, Any]:
        sidpp, sicp = self._shut_in_pressures()
        return {
            "well": self.wells[0],
            "activity": ACTIVITY[self.activity],
            "hole_depth_ft": self.hole,
            "bit_depth_ft": self.bit,
            "block_position_ft": self.block,
            "in_slips": self.in_slips,
            "on_bottom": self.activity == DRILLING,
            "wob_klbf": self.wob,
            "rop_ft_h": self.rop,
            "string_weight_klbf": self._string_klbf(),
            "flow_in_gpm": self._flow_in(),
            "flow_out_gpm": self.q_out,
            "active_volume_bbl": self.active,
            "pit_volumes_bbl": [self.active * s for s in self.shares] + [self.reserve],
            "trip_tank_bbl": self.trip_tank,
            "mud_weight_ppg": self.mw,
            "influx_bbl": self.influx,
            "pit_gain_bbl": self.pit_gain,
            "lost_bbl": self.lost_total,
            "kick": dict(self.kick) if self.kick else None,
            "kick_start_time": self.kick["start_time"] if self.kick else None,
            "sidpp_psi": self.sidpp,
            "sicp_psi": self.sicp,
            "sidpp_stabilized_psi": sidpp if self.kick else 0.0,
            "sicp_stabilized_psi": sicp if self.kick else 0.0,
            "bottoms_up_min": self._bottoms_up_s() / 60.0,
            "events": list(self.events),
        }
