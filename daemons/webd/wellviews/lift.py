"""Artificial-lift views: rod pump, ESP, gas lift, PCP.

Curves come from daemons/petroleum with the well's configured parameters (the same
functions calcd uses), operating points from calcd's live results; nothing here
re-derives a figure calcd publishes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from daemons.petroleum import esp, gaslift, pcp
from daemons.webd.wellviews.cards import CardMemory
from daemons.webd.wellviews.source import ViewSource, calc_tag, finite, numbers

CURVE_POINTS = 60


def rod_pump(src: ViewSource, cards: CardMemory) -> dict[str, Any]:
    src.use_roles("spm", "stroke_length", "thp", "chp", "run_status", "motor_current",
                  "motor_power", "runtime_today", "controller_fillage", "card_sequence",
                  "pump_off", "surface_position_card", "surface_load_card")
    src.use_calcs("FILLAGE", "PRODUCTION", "PUMP_STROKE", "FLUID_LOAD", "PEAK_LOAD",
                  "MIN_LOAD", "PUMPED_OFF", "CARD_DIAGNOSIS", "CARD_CONFIDENCE",
                  "LOAD_CELL_FALLBACK", "RUNTIME_PCT", "PUMP_CARD_POSITION",
                  "PUMP_CARD_LOAD")
    surface_pos = src.array(src.tags.get("surface_position_card"))
    surface_load = src.array(src.tags.get("surface_load_card"))
    pump_pos = src.array(src.tags.get("PUMP_CARD_POSITION"))
    pump_load = src.array(src.tags.get("PUMP_CARD_LOAD"))

    def card(pos: dict[str, Any] | None, load: dict[str, Any] | None) -> dict[str, Any] | None:
        if pos is None or load is None or load["seq"] == 0:
            return None
        return {"position": pos["values"], "load": load["values"], "ts": load["ts"],
                "quality": load["quality"], "seq": load["seq"]}

    return {
        "cards": {"surface": card(surface_pos, surface_load),
                  "downhole": card(pump_pos, pump_load)},
        "last_cards": cards.recent(src.well.id, src.rings),
        "trends": src.trend_refs("FILLAGE", "PRODUCTION", "RUNTIME_PCT", "spm"),
        "params": {k: src.well.param(k) for k in (
            "pump_depth_ft", "plunger_diameter_in", "stroke_length_in", "unit_designation",
            "pump_off_fillage_pct")},
    }


def rod_pump_card_tags(gate: Any, well: str) -> tuple[str, str, str, str] | None:
    """The four card tags of a rod-pump well (for the card memory), if mapped."""
    tagmap = gate.tagmap
    if tagmap is None:
        return None
    pos = tagmap.find_role(well, "surface_position_card")
    load = tagmap.find_role(well, "surface_load_card")
    if pos is None or load is None:
        return None
    return (pos.name, load.name, calc_tag(well, "PUMP_CARD_POSITION"),
            calc_tag(well, "PUMP_CARD_LOAD"))


def esp_view(src: ViewSource) -> dict[str, Any]:
    src.use_roles("frequency", "frequency_setpoint", "motor_current", "motor_voltage",
                  "motor_load", "motor_temperature", "intake_pressure",
                  "intake_temperature", "discharge_pressure", "vibration", "drive_fault",
                  "thp", "chp", "run_status")
    src.use_calcs("INTAKE_PRESSURE", "FLUID_OVER_PUMP", "HEAD", "FLOW", "MOTOR_LOAD",
                  "CURRENT_UNBALANCE", "ESP_CONDITION")
    w = src.well
    rates, heads = w.param("curve_rate_bpd"), w.param("curve_head_ft")
    stages, base_hz = w.param("stages"), w.param("base_frequency_hz", 60.0)
    curve = None
    if rates and heads and stages:
        curve = src.guarded("pump_curve", lambda: _esp_curve(src, rates, heads, stages, base_hz))
    return {"pump_curve": curve,
            "trends": src.trend_refs("frequency", "motor_current", "INTAKE_PRESSURE",
                                     "FLOW"),
            "params": {k: w.param(k) for k in ("pump_depth_ft", "stages", "motor_hp",
                                                "motor_nameplate_amps", "underload_pct",
                                                "overload_pct")}}


def _esp_curve(src: ViewSource, rates: Any, heads: Any, stages: int, base_hz: float
               ) -> dict[str, Any]:
    """The whole pump's head curve (head per stage × stages) at base frequency and at
    the running one (affinity laws), as calcd reads FLOW off it."""
    if len(rates) != len(heads):
        raise ValueError("curve_rate_bpd and curve_head_ft must have as many points")
    q = np.asarray(rates, float)
    total = np.asarray(heads, float) * int(stages)
    running_hz = src.value("frequency")
    running = None
    if running_hz is not None and running_hz > 0:
        r = esp.affinity(q=q, head=total, bhp=np.zeros_like(q), f_from=base_hz,
                         f_to=running_hz)
        running = {"frequency_hz": running_hz, "rate_bpd": numbers(r.q),
                   "head_ft": numbers(r.head)}
    return {"stages": int(stages), "base_frequency_hz": float(base_hz),
            "base": {"rate_bpd": numbers(q), "head_ft": numbers(total)},
            "running": running,
            "bep_rate_bpd": finite(src.well.param("bep_rate_bpd")),
            "operating_point": {"rate_bpd": src.value("FLOW"),
                                "head_ft": src.value("HEAD")}}


def gas_lift(src: ViewSource) -> dict[str, Any]:
    src.use_roles("injection_rate", "injection_pressure", "injection_setpoint",
                  "injection_valve_position", "supply_pressure", "oil_rate",
                  "liquid_rate", "gas_rate", "thp", "chp")
    src.use_calcs("INJECTION_RATE", "FORMATION_GLR", "TOTAL_GLR", "OPTIMUM_INJECTION",
                  "INJECTION_DEVIATION", "OPTIMUM_SOURCE")
    w = src.well
    q_inj, q_oil = w.param("curve_injection_mscfd"), w.param("curve_oil_bpd")
    curve = None
    if q_inj and q_oil:
        curve = src.guarded("performance_curve", lambda: _lift_curve(src, q_inj, q_oil))
    return {"performance_curve": curve,
            "trends": src.trend_refs("INJECTION_RATE", "injection_rate", "oil_rate",
                                     "injection_pressure"),
            "params": {k: w.param(k) for k in ("injection_depth_ft", "max_injection_mscfd",
                                                "injection_pressure_psi")}}


def _lift_curve(src: ViewSource, q_inj: Any, q_oil: Any) -> dict[str, Any]:
    """The configured curve (PCHIP, as calcd interpolates it), its economic optimum and
    the live operating point."""
    w = src.well
    gas_cost = float(w.param("gas_cost_per_mscf", 0.0))
    oil_price = float(w.param("oil_price_per_bbl", 1.0))
    dense = np.linspace(min(q_inj), max(q_inj), CURVE_POINTS)
    oil = gaslift.lift_curve_rate(q_inj=q_inj, q_oil=q_oil, at=dense)
    best = gaslift.optimum_injection(q_inj=q_inj, q_oil=q_oil, gas_cost=gas_cost,
                                     oil_price=oil_price)
    injection = src.value("INJECTION_RATE")
    if injection is None:
        injection = src.value("injection_rate")
    return {"points": {"injection_mscfd": list(q_inj), "oil_bpd": list(q_oil)},
            "curve": {"injection_mscfd": numbers(dense), "oil_bpd": numbers(oil)},
            "optimum": {"injection_mscfd": finite(best.q_inj),
                        "oil_bpd": finite(best.q_oil)},
            "operating_point": {"injection_mscfd": injection,
                                "oil_bpd": src.value("oil_rate")},
            "gas_cost_per_mscf": gas_cost, "oil_price_per_bbl": oil_price}


def pcp_view(src: ViewSource) -> dict[str, Any]:
    src.use_roles("rotor_speed", "speed_setpoint", "drive_torque", "motor_current",
                  "intake_pressure", "thp", "run_status", "liquid_rate")
    src.use_calcs("FLOW", "VOL_EFFICIENCY", "TORQUE_LOAD", "HYDRAULIC_TORQUE")
    w = src.well
    e, d, ps = (w.param(k) for k in ("eccentricity_in", "rotor_diameter_in",
                                     "stator_pitch_in"))
    pump = None
    if e and d and ps:
        pump = src.guarded("pump", lambda: _pcp_pump(src, e, d, ps))
    return {"pump": pump,
            "trends": src.trend_refs("rotor_speed", "drive_torque", "FLOW",
                                     "VOL_EFFICIENCY"),
            "params": {k: w.param(k) for k in ("pump_depth_ft", "max_rpm",
                                                "max_torque_ftlbf")}}


def _pcp_pump(src: ViewSource, e: float, d: float, ps: float) -> dict[str, Any]:
    """Displacement (Moineau) and the 100 % efficiency line up to max_rpm."""
    w = src.well
    disp = float(pcp.pcp_displacement(eccentricity=e, rotor_diameter=d, stator_pitch=ps))
    top = float(w.param("max_rpm") or 500.0)
    rpm = np.linspace(0.0, top, 2)
    return {"displacement_in3_rev": disp, "max_rpm": finite(w.param("max_rpm")),
            "max_torque_ftlbf": finite(w.param("max_torque_ftlbf")),
            "displacement_line": {"rpm": numbers(rpm),
                                  "rate_bpd": numbers(pcp.pcp_rate(displacement=disp,
                                                                   rpm=rpm))},
            "operating_point": {"rpm": src.value("rotor_speed"),
                                "rate_bpd": src.value("FLOW")}}
