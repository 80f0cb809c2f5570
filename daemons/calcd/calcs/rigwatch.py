"""Rig watch, every scan: rig state from the sensors, active pit volume, flow delta, pit
gain, and kick detection with suppression during connections and pit transfers.

Rig state from hookload (slips), depths (on bottom, near bottom), bit movement, pumps and
rotation — the rule set of automated rig-state detection (e.g. Thonhauser et al., "Use of
Real-Time Rig Sensor Data to Improve Daily Drilling Reporting", SPE 99880, 2006), with the
direction of a trip from the bit depth over the last minutes.  Kick: pit gain and flow
out above flow in, together, beyond the configured thresholds for the configured time
(IADC / IWCF kick warning signs: flow increase and pit gain), not while a connection or a
pit transfer moves mud for other reasons.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from daemons.calcd import quality as qm
from daemons.calcd.batch import Batch
from daemons.calcd.model import CalcDef, Calculation, Code, Input, Output, Param

IDLE, DRILLING, REAMING, TRIP_IN, TRIP_OUT, CONNECTION, CIRCULATING = range(7)
STATES = (Code(IDLE, "idle", "idle", "inactivo"), Code(DRILLING, "drilling", "drilling",
                                                       "perforando"),
          Code(REAMING, "reaming", "reaming / washing (off bottom, moving, pumps on)",
               "repasando (fuera de fondo, en movimiento, bombeando)"),
          Code(TRIP_IN, "tripping_in", "tripping in", "metiendo tubería"),
          Code(TRIP_OUT, "tripping_out", "tripping out", "sacando tubería"),
          Code(CONNECTION, "connection", "connection (pumps off or in slips near bottom)",
               "conexión"),
          Code(CIRCULATING, "circulating", "circulating off bottom", "circulando"))
PUMPS_ON_GPM = 50.0
ON_BOTTOM_FT = 1.0
NEAR_BOTTOM_FT = 140.0  # within a stand and a half of bottom
MOVING_FT_S = 0.05
TRIP_TREND_FT = 60.0  # bit depth change over the trend window that makes a trip
TREND_S = 600.0
SETTLE_S = 180.0  # after pumps come on or a transfer ends: mud is still moving
TRANSFER_BBL_MIN = 0.5  # a reserve pit changing this fast: a pit transfer
CLEAR_S = 300.0
SMOOTH = 15  # samples in the running medians of pit volume and flow delta


@dataclass
class Rig:
    """One rig's running state (durable)."""

    last_ns: int = 0
    baseline: float = math.nan  # active volume at the last re-baseline
    hole_at_baseline: float = math.nan
    flow_offset: float = 0.0  # paddle bias learnt while steady
    pumps_on_since: int = 0
    transfer_until: int = 0
    kick: bool = False
    over_s: float = 0.0  # both thresholds exceeded for this long
    calm_s: float = 0.0
    state: int = IDLE
    trend: list[tuple[int, float]] = field(default_factory=list)  # (ns, bit depth) / 30 s
    pits: deque = field(default_factory=lambda: deque(maxlen=SMOOTH))
    deltas: deque = field(default_factory=lambda: deque(maxlen=SMOOTH))
    reserve: list[tuple[int, float]] = field(default_factory=list)  # (ns, bbl) per 10 s
    reserve_raw: deque = field(default_factory=lambda: deque(maxlen=10))
    bit_prev: float = math.nan


class RigWatch(Calculation):
    DEF = CalcDef(
        "drilling.rig_watch", "drilling", "scan", "Rig state, pits and kick detection",
        "Estado del taladro, tanques y detección de arremetidas",
        inputs=(Input("hookload"), Input("bit_depth"), Input("hole_depth"), Input("flow_in"),
                Input("flow_out"), Input("rotary_rpm", required=False),
                Input("wob", required=False), Input("in_slips", required=False),
                Input("pit_volume_total", required=False),
                *(Input(f"pit_volume_{k}", required=False) for k in range(1, 9)),
                Input("casing_pressure", required=False)),
        params=(Param("block_weight_klbf", default=40.0),
                Param("flow_out_full_scale_gpm", default=0.0),
                Param("reserve_pits", required=False, text=True),
                Param("bit_diameter_in"),
                Param("kick_pit_gain_bbl", default=5.0),
                Param("kick_flow_delta_gpm", default=50.0),
                Param("kick_delay_s", default=30.0)),
        outputs=(
            Output("RIG_STATE", "", "code", "rig state", "estado del taladro",
                   "rules on pumps (flow in > 50 gpm), rotation, weight on bit, bit on "
                   "bottom (< 1 ft), near bottom (< 140 ft), slips (flag or hookload at "
                   "block weight), bit movement and its 10-minute trend",
                   "automated rig-state detection, e.g. Thonhauser et al., SPE 99880",
                   codes=STATES),
            Output("ACTIVE_PIT_VOLUME", "bbl", "number", "active pit volume",
                   "volumen activo en tanques",
                   "the active-system total when mapped, else the sum of the pits not in "
                   "`reserve_pits`", "definition"),
            Output("FLOW_DELTA", "gpm", "number", "flow out minus flow in",
                   "caudal de retorno menos entrada",
                   "paddle % × `flow_out_full_scale_gpm` − flow in, less the paddle's bias "
                   "learnt while steady (15-sample median)", "flow check practice (IWCF)"),
            Output("PIT_GAIN", "bbl", "number", "pit gain", "ganancia en tanques",
                   "active volume − baseline + new hole drilled since; the baseline is "
                   "taken again 3 min after the pumps come on and after a pit transfer",
                   "IWCF kick warning signs"),
            Output("KICK", "", "flag", "kick suspected", "arremetida sospechada",
                   "pit gain ≥ `kick_pit_gain_bbl` and flow delta ≥ `kick_flow_delta_gpm` "
                   "together for `kick_delay_s`, not during a connection, a pit transfer or "
                   "the 3 min after either; clears after 5 min below half the thresholds "
                   "unless the well is shut in", "IADC/IWCF well control: primary kick "
                   "indicators"),
            Output("KICK_SUPPRESSED", "", "flag", "kick detection suppressed",
                   "detección de arremetidas suprimida",
                   "a connection, a pit transfer, or the settling time after either",
                   "see KICK"),
        ))

    def __init__(self, wells: tuple[str, ...]) -> None:
        super().__init__(wells)
        self.rigs = [Rig() for _ in wells]

    def compute(self, b: Batch) -> None:
        out = {k: np.full(b.n, math.nan) for k in ("RIG_STATE", "ACTIVE_PIT_VOLUME",
                                                   "FLOW_DELTA", "PIT_GAIN", "KICK",
                                                   "KICK_SUPPRESSED")}
        for i, rig in enumerate(self.rigs):
            for k, v in self._step(b, i, rig).items():
                out[k][i] = v
        q = b.required_quality
        q_pits = qm.worst(q, self._pit_quality(b))
        b.set("RIG_STATE", out["RIG_STATE"], q)
        b.set("ACTIVE_PIT_VOLUME", out["ACTIVE_PIT_VOLUME"], q_pits)
        b.set("FLOW_DELTA", out["FLOW_DELTA"], q)
        b.set("PIT_GAIN", out["PIT_GAIN"], q_pits)
        b.set("KICK", out["KICK"], q_pits)
        b.set("KICK_SUPPRESSED", out["KICK_SUPPRESSED"], q)

    def _pit_quality(self, b: Batch) -> np.ndarray:
        total = b.mapped("pit_volume_total")
        return np.where(total, b.quality("pit_volume_total"),
                        qm.worst(*(np.where(b.mapped(f"pit_volume_{k}"),
                                            b.quality(f"pit_volume_{k}"), qm.GOOD)
                                   for k in range(1, 9))))

    def _active(self, b: Batch, i: int) -> tuple[float, float]:
        """(active volume, reserve volume) of rig i."""
        reserve_pits = {int(p) for p in (b.param("reserve_pits")[i] or ())}
        reserve = sum(float(b.value(f"pit_volume_{k}")[i]) for k in reserve_pits
                      if b.usable(f"pit_volume_{k}")[i])
        if b.usable("pit_volume_total")[i]:
            return float(b.value("pit_volume_total")[i]), reserve
        active = sum(float(b.value(f"pit_volume_{k}")[i]) for k in range(1, 9)
                     if k not in reserve_pits and b.usable(f"pit_volume_{k}")[i])
        return active, reserve

    def _step(self, b: Batch, i: int, rig: Rig) -> dict[str, float]:
        now = b.now_ns
        dt = 1.0 if not rig.last_ns else min(max((now - rig.last_ns) / 1e9, 0.0), 60.0)
        rig.last_ns = now
        val = {r: float(b.value(r)[i]) for r in ("hookload", "bit_depth", "hole_depth",
                                                 "flow_in", "flow_out")}
        rpm = float(np.nan_to_num(b.value("rotary_rpm")[i]))
        wob = float(np.nan_to_num(b.value("wob")[i]))
        fin = max(val["flow_in"], 0.0)
        scale = float(b.param("flow_out_full_scale_gpm")[i])
        fout = val["flow_out"] * scale / 100.0 if scale > 0 else val["flow_out"]
        pumps = fin > PUMPS_ON_GPM
        if pumps and not rig.pumps_on_since:
            rig.pumps_on_since = now
        elif not pumps:
            rig.pumps_on_since = 0
        state = self._state(b, i, rig, val, rpm, wob, pumps, dt)
        active, reserve = self._active(b, i)
        rig.pits.append(active)
        active_s = float(np.median(rig.pits))
        transfer = self._transfer(rig, now, reserve)
        settled = pumps and now - rig.pumps_on_since >= SETTLE_S * 1e9
        suppressed = (state == CONNECTION or transfer or now < rig.transfer_until
                      or (pumps and not settled))
        hole_cap = float(b.param("bit_diameter_in")[i]) ** 2 / 1029.4
        if not math.isfinite(rig.baseline) or (suppressed and not rig.kick):
            rig.baseline, rig.hole_at_baseline = active_s, val["hole_depth"]
        drilled = max(val["hole_depth"] - rig.hole_at_baseline, 0.0) * hole_cap
        gain = active_s - rig.baseline + drilled
        raw_delta = fout - fin
        rig.deltas.append(raw_delta)
        delta = float(np.median(rig.deltas)) - rig.flow_offset
        gain_lim = float(b.param("kick_pit_gain_bbl")[i])
        flow_lim = float(b.param("kick_flow_delta_gpm")[i])
        if settled and not suppressed and abs(delta) < 0.5 * flow_lim and not rig.kick:
            rig.flow_offset += (1.0 - math.exp(-dt / 600.0)) * (raw_delta - rig.flow_offset)
        self._kick(b, i, rig, gain, delta, gain_lim, flow_lim, suppressed, pumps, dt)
        return {"RIG_STATE": state, "ACTIVE_PIT_VOLUME": active, "FLOW_DELTA": delta,
                "PIT_GAIN": gain, "KICK": float(rig.kick),
                "KICK_SUPPRESSED": float(suppressed)}

    def _state(self, b: Batch, i: int, rig: Rig, val: dict[str, float], rpm: float,
               wob: float, pumps: bool, dt: float) -> int:
        now = b.now_ns
        bit, hole = val["bit_depth"], val["hole_depth"]
        moving = (abs(bit - rig.bit_prev) / dt > MOVING_FT_S) if math.isfinite(rig.bit_prev) \
            else False
        rig.bit_prev = bit
        if not rig.trend or now - rig.trend[-1][0] >= 30e9:
            rig.trend = [*rig.trend, (now, bit)][-int(TREND_S / 30) - 1:]
        trend = bit - rig.trend[0][1]
        if b.usable("in_slips")[i]:
            slips = b.value("in_slips")[i] > 0.5
        else:
            slips = val["hookload"] < float(b.param("block_weight_klbf")[i]) + 5.0
        off = hole - bit
        if off < ON_BOTTOM_FT and pumps and (rpm > 5.0 or wob > 2.0):
            state = DRILLING
        elif not pumps and off > NEAR_BOTTOM_FT and trend < -TRIP_TREND_FT:
            state = TRIP_OUT
        elif not pumps and off > NEAR_BOTTOM_FT and trend > TRIP_TREND_FT:
            state = TRIP_IN
        elif (not pumps or slips) and off <= NEAR_BOTTOM_FT:
            state = CONNECTION
        elif pumps and moving and not slips:
            state = REAMING
        elif pumps:
            state = CIRCULATING
        elif rig.state in (TRIP_IN, TRIP_OUT) and off > NEAR_BOTTOM_FT:
            state = rig.state  # a pause between stands
        else:
            state = IDLE
        rig.state = state
        return state

    @staticmethod
    def _transfer(rig: Rig, now: int, reserve: float) -> bool:
        """A reserve pit moving faster than 0.5 bbl/min: the median of the last 10
        readings, sampled every 10 s, compared over a minute."""
        rig.reserve_raw.append(reserve)
        if not rig.reserve or now - rig.reserve[-1][0] >= 10e9:
            rig.reserve = [*rig.reserve[-6:], (now, float(np.median(rig.reserve_raw)))]
        (t0, v0), (t1, v1) = rig.reserve[0], rig.reserve[-1]
        moving = t1 > t0 and abs(v1 - v0) >= TRANSFER_BBL_MIN * (t1 - t0) / 60e9 \
            and abs(v1 - v0) >= TRANSFER_BBL_MIN
        if moving:
            rig.transfer_until = now + int(SETTLE_S * 1e9)
        return moving

    def _kick(self, b: Batch, i: int, rig: Rig, gain: float, delta: float, gain_lim: float,
              flow_lim: float, suppressed: bool, pumps: bool, dt: float) -> None:
        both = gain >= gain_lim and delta >= flow_lim
        rig.over_s = rig.over_s + dt if both and not suppressed else 0.0
        if rig.over_s >= float(b.param("kick_delay_s")[i]):
            rig.kick = True
        shut_in = (not pumps and b.usable("casing_pressure")[i]
                   and b.value("casing_pressure")[i] > 20.0)
        calm = delta < 0.5 * flow_lim and gain < 0.5 * gain_lim and not shut_in
        rig.calm_s = rig.calm_s + dt if calm else 0.0
        if rig.kick and rig.calm_s >= CLEAR_S:
            rig.kick = False

    def export_state(self) -> dict[str, dict[str, Any]]:
        return {w: {"baseline": r.baseline, "hole_at_baseline": r.hole_at_baseline,
                    "flow_offset": r.flow_offset, "kick": r.kick, "state": r.state,
                    "trend": r.trend}
                for w, r in zip(self.wells, self.rigs, strict=True)}

    def import_state(self, state: Mapping[str, Mapping[str, Any]]) -> None:
        for i, w in enumerate(self.wells):
            s = state.get(w)
            if not s:
                continue
            r = self.rigs[i]
            r.baseline = math.nan if s.get("baseline") is None else float(s["baseline"])
            r.hole_at_baseline = math.nan if s.get("hole_at_baseline") is None \
                else float(s["hole_at_baseline"])
            r.flow_offset = float(s.get("flow_offset") or 0.0)
            r.kick = bool(s.get("kick"))
            r.state = int(s.get("state") or 0)
            r.trend = [(int(t), math.nan if d is None else float(d))
                       for t, d in s.get("trend", [])]
