"""Drilling, every scan: ROP, MSE, hydrostatic pressure, ECD, and the live kill sheet once
the well is shut in.  Rig state, pits and kick detection are in `rigwatch.py`.

Depths: the rig's depths are measured depths; without a survey the hole is taken as
vertical (TVD = MD), as the simulated rig is.
"""

from __future__ import annotations

import math

import numpy as np

from daemons.calcd import quality as qm
from daemons.calcd.batch import Batch
from daemons.calcd.model import CalcDef, Calculation, Input, Output, Param
from daemons.petroleum.drilling import annular_pressure_loss_bingham, ecd, hydrostatic, mse_teale
from daemons.petroleum.wellcontrol import (
    final_circulating_pressure,
    initial_circulating_pressure,
    kill_mud_weight,
    maasp,
)

IWCF = "IWCF drilling well control formula sheet; daemons.petroleum.wellcontrol"
ROP_WINDOW_S = 60.0  # hole depth progress over the last minute
BBL_PER_IN2_FT = 1.0 / 1029.4  # capacity of a pipe, bbl/ft per in² of diameter squared


class DrillingMechanics(Calculation):
    DEF = CalcDef(
        "drilling.mechanics", "drilling", "scan", "Rate of penetration and MSE",
        "Tasa de penetración y energía específica",
        inputs=(Input("hole_depth"), Input("wob"), Input("rotary_rpm"), Input("rotary_torque")),
        params=(Param("bit_diameter_in"),),
        outputs=(
            Output("ROP", "ft/h", "number", "rate of penetration", "tasa de penetración",
                   "hole depth made over the last minute", "definition"),
            Output("MSE", "psi", "number", "mechanical specific energy",
                   "energía específica mecánica",
                   "WOB/A + 120πNT/(A·ROP) while drilling (ROP > 1 ft/h, WOB > 0)",
                   "Teale (1965); Pessier & Fear, SPE 24584; daemons.petroleum.drilling"),
        ))

    def __init__(self, wells: tuple[str, ...]) -> None:
        super().__init__(wells)
        self.history: list[tuple[int, np.ndarray]] = []  # (ns, hole depth) samples

    def compute(self, b: Batch) -> None:
        depth = b.value("hole_depth")
        self.history.append((b.now_ns, depth.copy()))
        while len(self.history) > 2 and b.now_ns - self.history[1][0] >= ROP_WINDOW_S * 1e9:
            self.history.pop(0)
        t0, d0 = self.history[0]
        span = (b.now_ns - t0) / 3.6e12  # hours
        rop = np.where(np.isfinite(d0), np.maximum(depth - d0, 0.0) / span, np.nan) \
            if span > 0 else np.zeros(b.n)
        b.set("ROP", rop, b.quality("hole_depth"))
        wob = np.maximum(np.nan_to_num(b.value("wob")), 0.0) * 1000.0  # klbf → lbf
        torque = np.maximum(np.nan_to_num(b.value("rotary_torque")), 0.0) * 1000.0
        drilling = (rop > 1.0) & (wob > 0)
        mse = mse_teale(wob=wob, rpm=np.maximum(np.nan_to_num(b.value("rotary_rpm")), 0.0),
                        torque=torque, rop=np.where(drilling, rop, 1.0),
                        bit_diameter=b.param("bit_diameter_in"))
        b.set("MSE", np.where(drilling, mse, np.nan), where=drilling)


class DrillingHydraulics(Calculation):
    DEF = CalcDef(
        "drilling.hydraulics", "drilling", "scan", "Hydrostatic pressure and ECD",
        "Presión hidrostática y densidad equivalente de circulación",
        inputs=(Input("bit_depth"), Input("flow_in", required=False),
                Input("mud_weight_in", required=False)),
        params=(Param("mud_weight_ppg"), Param("bit_diameter_in"), Param("drill_pipe_od_in"),
                Param("bha_length_ft", default=0.0), Param("bha_od_in", default=0.0),
                Param("plastic_viscosity_cp", default=20.0),
                Param("yield_point_lbf100ft2", default=15.0)),
        outputs=(
            Output("HYDROSTATIC", "psi", "number", "hydrostatic pressure at the bit",
                   "presión hidrostática en la mecha",
                   "0.052 × mud weight (measured in, else configured) × bit TVD",
                   f"{IWCF}; daemons.petroleum.drilling.hydrostatic"),
            Output("ECD", "ppg", "number", "equivalent circulating density at the bit",
                   "densidad equivalente de circulación en la mecha",
                   "MW + annular friction / (0.052 TVD); friction by the laminar Bingham "
                   "plastic slot model around the BHA and the drill pipe",
                   "Bourgoyne et al., Applied Drilling Engineering (1986) ch. 4; "
                   "daemons.petroleum.drilling"),
        ))

    def compute(self, b: Batch) -> None:
        measured = b.usable("mud_weight_in")
        mw = np.where(measured, b.value("mud_weight_in"), b.param("mud_weight_ppg"))
        q_mw = np.where(measured, b.quality("mud_weight_in"), qm.GOOD)
        tvd = np.maximum(np.nan_to_num(b.value("bit_depth")), 0.0)
        q = qm.worst(q_mw, b.quality("bit_depth"))
        b.set("HYDROSTATIC", hydrostatic(mw=mw, tvd=tvd), q)
        flow = np.where(b.usable("flow_in"), np.maximum(b.value("flow_in"), 0.0), 0.0)
        hole = b.param("bit_diameter_in")
        bha = np.minimum(b.param("bha_length_ft"), tvd)
        bha_od = np.where(b.param("bha_od_in") > 0, b.param("bha_od_in"),
                          b.param("drill_pipe_od_in"))
        pv, yp = b.param("plastic_viscosity_cp"), b.param("yield_point_lbf100ft2")
        apl = (annular_pressure_loss_bingham(q=flow, hole_diameter=hole, pipe_od=bha_od,
                                             length=bha, plastic_viscosity=pv, yield_point=yp)
               + annular_pressure_loss_bingham(q=flow, hole_diameter=hole,
                                               pipe_od=b.param("drill_pipe_od_in"),
                                               length=tvd - bha, plastic_viscosity=pv,
                                               yield_point=yp))
        value = ecd(mw=mw, annular_pressure_loss=apl, tvd=np.maximum(tvd, 1.0))
        b.set("ECD", np.where(tvd > 0, value, np.nan),
              qm.worst(q, np.where(b.usable("flow_in"), b.quality("flow_in"), qm.SUBNORMAL)))


SHUT_IN_PSI = 20.0  # casing pressure above this with the pumps off: the well is shut in
PUMPS_OFF_GPM = 20.0


class KillSheet(Calculation):
    DEF = CalcDef(
        "drilling.kill_sheet", "drilling", "scan", "Live kill sheet", "Hoja de matado en vivo",
        inputs=(Input("standpipe_pressure"), Input("casing_pressure"), Input("bit_depth"),
                Input("flow_in", required=False), Input("mud_weight_in", required=False)),
        params=(Param("mud_weight_ppg"), Param("slow_pump_pressure_psi"),
                Param("pump_output_bbl_stk"), Param("drill_pipe_id_in"),
                Param("bha_length_ft", default=0.0), Param("bha_id_in", default=0.0),
                Param("lot_emw_ppg", required=False),
                Param("casing_shoe_tvd_ft", required=False)),
        outputs=(
            Output("SIDPP", "psi", "number", "shut-in drill-pipe pressure",
                   "presión de cierre en la tubería",
                   "standpipe pressure while shut in (pumps off, casing pressure above "
                   "20 psi)", IWCF),
            Output("SICP", "psi", "number", "shut-in casing pressure",
                   "presión de cierre en el revestidor", "choke (casing) pressure while shut in",
                   IWCF),
            Output("KILL_MUD_WEIGHT", "ppg", "number", "kill mud weight", "densidad de matado",
                   "MW + SIDPP / (0.052 TVD), from the live SIDPP", IWCF),
            Output("ICP", "psi", "number", "initial circulating pressure",
                   "presión inicial de circulación", "slow-rate pressure + SIDPP", IWCF),
            Output("FCP", "psi", "number", "final circulating pressure",
                   "presión final de circulación", "slow-rate pressure × KMW / MW", IWCF),
            Output("STROKES_TO_BIT", "stk", "number", "pump strokes surface to bit",
                   "emboladas de superficie a la mecha",
                   "string capacity (ID²/1029.4 per ft, BHA and drill pipe) / pump output",
                   IWCF),
            Output("MAASP", "psi", "number", "maximum allowable annular surface pressure",
                   "presión anular máxima permisible en superficie",
                   "(LOT EMW − MW) × 0.052 × shoe TVD", IWCF),
        ))

    def compute(self, b: Batch) -> None:
        measured = b.usable("mud_weight_in")
        mw = np.where(measured, b.value("mud_weight_in"), b.param("mud_weight_ppg"))
        tvd = np.maximum(np.nan_to_num(b.value("bit_depth")), 1.0)
        pumps_off = ~b.usable("flow_in") | (np.nan_to_num(b.value("flow_in")) < PUMPS_OFF_GPM)
        shut = pumps_off & (np.nan_to_num(b.value("casing_pressure")) > SHUT_IN_PSI)
        sidpp = np.maximum(np.nan_to_num(b.value("standpipe_pressure")), 0.0)
        q = b.worst("standpipe_pressure", "casing_pressure", "bit_depth")
        b.set("SIDPP", np.where(shut, sidpp, 0.0), q)
        b.set("SICP", np.where(shut, b.value("casing_pressure"), 0.0), q)
        kmw = kill_mud_weight(omw=mw, sidpp=sidpp, tvd=tvd)
        scr = b.param("slow_pump_pressure_psi")
        b.set("KILL_MUD_WEIGHT", kmw, q, where=shut)
        b.set("ICP", initial_circulating_pressure(scr=scr, sidpp=sidpp), q, where=shut)
        b.set("FCP", final_circulating_pressure(scr=scr, kmw=kmw, omw=mw), q, where=shut)
        bha = np.minimum(b.param("bha_length_ft"), tvd)
        bha_id = np.where(b.param("bha_id_in") > 0, b.param("bha_id_in"),
                          b.param("drill_pipe_id_in"))
        capacity = (bha * bha_id**2 + (tvd - bha) * b.param("drill_pipe_id_in") ** 2) \
            * BBL_PER_IN2_FT
        b.set("STROKES_TO_BIT", capacity / b.param("pump_output_bbl_stk"),
              b.quality("bit_depth"))
        lot, shoe = b.param("lot_emw_ppg"), b.param("casing_shoe_tvd_ft")
        ok = np.isfinite(lot) & np.isfinite(shoe)
        value = np.full(b.n, math.nan)
        if ok.any():
            value[ok] = maasp(lot_emw=lot[ok], mw=mw[ok], tvd_shoe=shoe[ok])
        b.set("MAASP", value, np.where(measured, b.quality("mud_weight_in"), qm.GOOD))
