"""Progressing-cavity pumps: rate, volumetric efficiency and torque load, every scan."""

from __future__ import annotations

import numpy as np

from daemons.calcd import quality as qm
from daemons.calcd.batch import Batch
from daemons.calcd.model import CalcDef, Calculation, Input, Output, Param
from daemons.petroleum.pcp import pcp_displacement, pcp_rate

PSI_PER_FT_WATER = 0.433
HP_FT_LBF_RPM = 5252.0  # hp = T·N/5252 (T ft·lbf, N rpm): 33,000 ft·lbf/min / 2π
ISO = "ISO 15136-1:2009; daemons.petroleum.pcp"


class Pcp(Calculation):
    DEF = CalcDef(
        "pcp.performance", "pcp", "scan", "PCP rate, efficiency and torque",
        "Caudal, eficiencia y torque de la BCP",
        inputs=(Input("rotor_speed"), Input("intake_pressure", required=False),
                Input("thp", required=False), Input("liquid_rate", required=False),
                Input("drive_torque", required=False), Input("run_status", required=False)),
        params=(Param("eccentricity_in"), Param("rotor_diameter_in"), Param("stator_pitch_in"),
                Param("pump_depth_ft"), Param("fluid_sg", default=1.0),
                Param("slip_bpd_at_1000psi", default=0.0), Param("slip_exponent", default=1.0),
                Param("max_torque_ftlbf")),
        outputs=(
            Output("FLOW", "bbl/d", "number", "pump rate", "caudal de la bomba",
                   "the flowline meter when mapped; else displacement (4·e·D·Ps) × speed "
                   "less the bench-test slip at the differential pressure (discharge = THP "
                   "+ liquid gradient × pump depth, less the intake gauge)",
                   f"Moineau (1932); {ISO}"),
            Output("VOL_EFFICIENCY", "%", "number", "volumetric efficiency",
                   "eficiencia volumétrica", "FLOW / (displacement × speed) × 100",
                   ISO),
            Output("TORQUE_LOAD", "%", "number", "polished-rod torque load",
                   "carga de torque en la barra pulida",
                   "drive torque / max_torque_ftlbf × 100", "definition"),
            Output("HYDRAULIC_TORQUE", "ft*lbf", "number", "torque the lift needs",
                   "torque hidráulico", "displacement × differential pressure / 2π",
                   "pressure work per revolution (Moineau pump), e.g. Cholet, Progressing "
                   "Cavity Pumps (1997)"),
        ))

    def compute(self, b: Batch) -> None:
        disp = pcp_displacement(eccentricity=b.param("eccentricity_in"),
                                rotor_diameter=b.param("rotor_diameter_in"),
                                stator_pitch=b.param("stator_pitch_in"))
        rpm = np.maximum(np.nan_to_num(b.value("rotor_speed")), 0.0)
        q_th = pcp_rate(displacement=disp, rpm=rpm)
        grad = PSI_PER_FT_WATER * b.param("fluid_sg")
        pd = np.where(b.usable("thp"), b.value("thp"), 0.0) + grad * b.param("pump_depth_ft")
        dp = np.maximum(pd - b.value("intake_pressure"), 0.0)
        slip = b.param("slip_bpd_at_1000psi") * (dp / 1000.0) ** b.param("slip_exponent")
        model = np.where(rpm > 0, np.maximum(q_th - slip, 0.0), 0.0)
        metered = b.usable("liquid_rate")
        flow = np.where(metered, b.value("liquid_rate"), model)
        q_model = qm.worst(b.quality("rotor_speed"), b.quality("intake_pressure"))
        q_flow = np.where(metered, b.quality("liquid_rate"), q_model)
        b.set("FLOW", flow, q_flow)
        with np.errstate(invalid="ignore", divide="ignore"):
            eff = np.where(q_th > 0, 100.0 * flow / q_th, np.nan)
        b.set("VOL_EFFICIENCY", eff, qm.worst(q_flow, b.quality("rotor_speed")))
        hyd = disp * dp / (2.0 * np.pi) / 12.0  # in·lbf → ft·lbf
        b.set("HYDRAULIC_TORQUE", np.where(rpm > 0, hyd, 0.0), q_model)
        b.set("TORQUE_LOAD", 100.0 * b.value("drive_torque") / b.param("max_torque_ftlbf"),
              b.quality("drive_torque"))
