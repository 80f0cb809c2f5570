"""Well-site operations views: drilling (depth, parameters vs depth, pits and kick
indicators, the kill sheet) and coiled tubing (depth, weight vs model, pressures,
string fatigue)."""

from __future__ import annotations

from typing import Any

from daemons.petroleum import wellcontrol
from daemons.webd.wellviews.source import HOUR_NS, ViewSource, finite, numbers

BBL_PER_IN2_FT = 1.0 / 1029.4  # pipe capacity, bbl/ft per in² of ID² (IWCF formula sheet)
DRILLING_SPAN_NS = 24 * HOUR_NS
CT_SPAN_NS = 12 * HOUR_NS
KICK_KEYS = ("PIT_GAIN", "FLOW_DELTA", "KICK", "KICK_SUPPRESSED", "ACTIVE_PIT_VOLUME",
             "trip_tank_volume", "gas_total", "mud_weight_out")


def kill_sheet(src: ViewSource) -> dict[str, Any] | None:
    """Wait-and-weight kill sheet from daemons/petroleum/wellcontrol with the live SIDPP
    (calcd's, 0 while not shut in), mud weight in (else configured) and the bit's TVD
    (vertical, as calcd takes it); the drill string from the configured BHA and pipe."""
    w = src.well
    omw = src.value("mud_weight_in") or w.param("mud_weight_ppg")
    tvd = src.value("bit_depth")
    scr, out = w.param("slow_pump_pressure_psi"), w.param("pump_output_bbl_stk")
    dp_id = w.param("drill_pipe_id_in")
    if not (omw and tvd and tvd > 0 and scr is not None and out and dp_id):
        return None
    sidpp = max(src.value("SIDPP") or 0.0, 0.0)
    bha = min(float(w.param("bha_length_ft", 0.0) or 0.0), tvd)
    bha_id = w.param("bha_id_in") or dp_id
    sections = [(length, cap) for length, cap in (
        (tvd - bha, dp_id**2 * BBL_PER_IN2_FT), (bha, bha_id**2 * BBL_PER_IN2_FT))
        if length > 0]
    sheet = wellcontrol.kill_sheet(omw=omw, sidpp=sidpp, tvd=tvd, scr=scr, pump_output=out,
                                   drillstring=sections)
    lot, shoe = w.param("lot_emw_ppg"), w.param("casing_shoe_tvd_ft")
    return {"shut_in": sidpp > 0 or (src.value("SICP") or 0.0) > 0,
            "omw_ppg": float(omw), "sidpp_psi": sidpp, "sicp_psi": src.value("SICP"),
            "tvd_ft": float(tvd), "slow_pump_pressure_psi": float(scr),
            "slow_pump_rate_spm": finite(w.param("slow_pump_rate_spm")),
            "kmw_ppg": sheet.kmw, "icp_psi": sheet.icp, "fcp_psi": sheet.fcp,
            "strokes_to_bit": sheet.strokes_to_bit,
            "pressure_drop_per_100_strokes": finite(sheet.pressure_drop_per_100_strokes),
            "schedule": {"strokes": numbers(sheet.strokes),
                         "pressure_psi": numbers(sheet.pressure)},
            "maasp_psi": finite(wellcontrol.maasp(lot_emw=lot, mw=omw, tvd_shoe=shoe))
            if lot and shoe else None}


def drilling(src: ViewSource) -> dict[str, Any]:
    src.use_roles("hole_depth", "bit_depth", "hookload", "block_position", "wob",
                  "rotary_rpm", "rotary_torque", "rop", "standpipe_pressure",
                  "casing_pressure", "flow_in", "flow_out", "pit_volume_total",
                  "trip_tank_volume", "mud_weight_in", "mud_weight_out", "gas_total",
                  "on_bottom", "in_slips")
    pits = src.indexed_role_tags("pit_volume")
    for role, name in pits:
        src.tags[role] = name
    src.use_calcs("ROP", "MSE", "HYDROSTATIC", "ECD", "RIG_STATE", "ACTIVE_PIT_VOLUME",
                  "FLOW_DELTA", "PIT_GAIN", "KICK", "KICK_SUPPRESSED", "SIDPP", "SICP",
                  "KILL_MUD_WEIGHT", "ICP", "FCP", "STROKES_TO_BIT", "MAASP")
    params = {k: src.tags.get(k) for k in ("hole_depth", "wob", "rotary_rpm",
                                           "rotary_torque", "ROP", "MSE", "ECD")}
    return {"depth_time": src.trend_refs("hole_depth", "bit_depth"),
            "parameters_vs_depth": src.against("hole_depth", params, DRILLING_SPAN_NS),
            "pits": {"tanks": [{"key": role, "tag": name} for role, name in pits],
                     "kick_indicators": [k for k in KICK_KEYS if k in src.tags],
                     "reserve_pits": list(src.well.param("reserve_pits") or ())},
            "kill_sheet": src.guarded("kill_sheet", lambda: kill_sheet(src)),
            "trends": src.trend_refs("ACTIVE_PIT_VOLUME", "PIT_GAIN", "FLOW_DELTA",
                                     "standpipe_pressure", "hookload"),
            "params": {k: src.well.param(k) for k in (
                "rig_name", "bit_diameter_in", "mud_weight_ppg", "casing_shoe_tvd_ft",
                "lot_emw_ppg", "kick_pit_gain_bbl", "kick_flow_delta_gpm")}}


def coiled_tubing(src: ViewSource) -> dict[str, Any]:
    src.use_roles("ct_depth", "ct_speed", "ct_weight", "ct_pump_pressure", "ct_pump_rate",
                  "ct_wellhead_pressure", "ct_reel_pressure", "ct_cycles",
                  "ct_running_feet", "ct_injector_force", "ct_returns_rate", "ct_job_stage")
    src.use_calcs("DEPTH", "SPEED", "PICKUP_WEIGHT", "SLACKOFF_WEIGHT", "WEIGHT_DEVIATION",
                  "LOCKUP_MARGIN", "VME_UTILISATION", "FATIGUE_USED")
    w = src.well
    # Measured weight against calcd's model along the run: both from history, on depth.
    weights = {k: src.tags.get(k) for k in ("ct_depth", "ct_weight", "PICKUP_WEIGHT",
                                            "SLACKOFF_WEIGHT")}
    return {"weight_vs_depth": src.against("ct_depth", weights, CT_SPAN_NS),
            "string": {"ct_string_id": w.param("ct_string_id"),
                       "od_in": finite(w.param("ct_od_in")),
                       "wall_in": finite(w.param("ct_wall_in")),
                       "length_ft": finite(w.param("ct_length_ft")),
                       "yield_strength_psi": finite(w.param("yield_strength_psi")),
                       "well_td_ft": finite(w.param("well_td_ft")),
                       "max_snub_lbf": finite(w.param("max_snub_lbf"))},
            "trends": src.trend_refs("ct_depth", "ct_weight", "ct_pump_pressure",
                                     "ct_wellhead_pressure"),
            "params": {k: w.param(k) for k in ("ct_od_in", "well_td_ft", "ct_length_ft")}}
