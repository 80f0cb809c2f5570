"""Electrical submersible pumps: intake pressure, fluid over pump, flow from the pump curve,
motor load, current unbalance and a condition code — every scan, all ESP wells at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from daemons.calcd import quality as qm
from daemons.calcd.batch import Batch
from daemons.calcd.model import CalcDef, Calculation, Code, Input, Output, Param
from daemons.petroleum.esp import affinity, motor_load, pump_intake_pressure

PSI_PER_FT_WATER = 0.433  # 62.4 lbm/ft³ / 144 in²/ft²: the oilfield water gradient
TAKACS = "Takacs, Electrical Submersible Pumps Manual (2009)"


def _gradient(b: Batch) -> np.ndarray:
    return PSI_PER_FT_WATER * b.param("fluid_sg")


class EspIntake(Calculation):
    DEF = CalcDef(
        "esp.intake", "esp", "scan", "ESP intake pressure and submergence",
        "Presión de succión y sumergencia de la BES",
        inputs=(Input("intake_pressure", required=False), Input("chp", required=False),
                Input("fluid_level", required=False)),
        params=(Param("pump_depth_ft"), Param("fluid_sg")),
        outputs=(
            Output("INTAKE_PRESSURE", "psi", "number", "pump intake pressure",
                   "presión de succión de la bomba",
                   "the downhole gauge when it reads; else casing pressure plus the annular "
                   "liquid column above the intake from the acoustic fluid level",
                   "McCoy, Podio & Huddleston, SPE 14254 (1988); daemons.petroleum.esp."
                   "pump_intake_pressure"),
            Output("FLUID_OVER_PUMP", "ft", "number", "fluid over the pump intake",
                   "fluido sobre la succión",
                   "(PIP − CHP) / liquid gradient with the gauge, else pump depth − fluid "
                   "level", "hydrostatics; liquid gradient 0.433 × fluid SG psi/ft"),
        ))

    def compute(self, b: Batch) -> None:
        grad = _gradient(b)
        depth = b.param("pump_depth_ft")
        gauge = b.usable("intake_pressure")
        level = b.usable("fluid_level") & b.usable("chp")
        chp = np.where(b.usable("chp"), b.value("chp"), 0.0)
        fl = np.where(level, b.value("fluid_level"), depth)
        est = pump_intake_pressure(p_casing=np.maximum(chp, 0.0), liquid_gradient=grad,
                                   pump_depth=depth, fluid_level=np.clip(fl, 0.0, None))
        pip = np.where(gauge, b.value("intake_pressure"), np.where(level, est, np.nan))
        q_gauge = b.quality("intake_pressure")
        q_level = b.worst("fluid_level", "chp")
        q = np.where(gauge, q_gauge, np.where(level, q_level, q_gauge))
        b.set("INTAKE_PRESSURE", pip, q)
        over = np.where(gauge, (pip - chp) / grad, np.where(level, depth - fl, np.nan))
        q_over = np.where(gauge & b.usable("chp"), b.worst("intake_pressure", "chp"),
                          np.where(gauge, qm.SUBNORMAL, q))
        b.set("FLUID_OVER_PUMP", np.maximum(over, 0.0), q_over)


class EspFlow(Calculation):
    DEF = CalcDef(
        "esp.flow", "esp", "scan", "ESP flow from the pump curve", "Caudal de la BES por curva",
        inputs=(Input("frequency"), Input("intake_pressure"),
                Input("discharge_pressure", required=False), Input("thp", required=False)),
        params=(Param("stages"), Param("curve_rate_bpd", text=True),
                Param("curve_head_ft", text=True), Param("base_frequency_hz", default=60.0),
                Param("fluid_sg"), Param("pump_depth_ft")),
        outputs=(
            Output("HEAD", "ft", "number", "total dynamic head developed",
                   "altura dinámica total desarrollada",
                   "(discharge − intake pressure) / liquid gradient; without a discharge "
                   "gauge, THP + liquid gradient × pump depth stands in for discharge",
                   "hydrostatics, 0.433 × SG psi/ft"),
            Output("FLOW", "bbl/d", "number", "pump rate",
                   "caudal de la bomba",
                   "the head per stage is taken to the base frequency by the affinity "
                   "laws, the rate read off the configured head curve (linear between "
                   "points) and taken back to the running frequency",
                   f"API RP 11S4; {TAKACS}; daemons.petroleum.esp.affinity"),
        ))

    def __init__(self, wells: tuple[str, ...]) -> None:
        super().__init__(wells)
        self._curves: list[tuple[np.ndarray, np.ndarray]] | None = None

    def _load_curves(self, b: Batch) -> list[tuple[np.ndarray, np.ndarray]]:
        curves = []
        for q, h in zip(b.param("curve_rate_bpd"), b.param("curve_head_ft"), strict=True):
            q, h = np.asarray(q, float), np.asarray(h, float)
            n = min(len(q), len(h))
            order = np.argsort(q[:n])
            curves.append((q[:n][order], h[:n][order]))
        return curves

    def compute(self, b: Batch) -> None:
        if self._curves is None:
            self._curves = self._load_curves(b)
        grad = _gradient(b)
        f = b.value("frequency")
        f0 = b.param("base_frequency_hz")
        has_pd = b.usable("discharge_pressure")
        pd = np.where(has_pd, b.value("discharge_pressure"),
                      b.value("thp") + grad * b.param("pump_depth_ft"))
        q_pd = np.where(has_pd, b.quality("discharge_pressure"), b.quality("thp"))
        head = (pd - b.value("intake_pressure")) / grad
        q_head = qm.worst(q_pd, b.quality("intake_pressure"))
        b.set("HEAD", head, q_head)
        running = np.isfinite(f) & (f > 1.0)
        f_safe = np.where(running, f, f0)
        per_stage = np.maximum(np.nan_to_num(head, nan=0.0), 0.0) / b.param("stages")
        at_base = affinity(q=0.0, head=per_stage, bhp=0.0, f_from=f_safe, f_to=f0).head
        q0 = np.array([_rate_at_head(float(h), c) for h, c in
                       zip(np.atleast_1d(at_base), self._curves, strict=True)])
        rate = affinity(q=np.maximum(q0, 0.0), head=0.0, bhp=0.0, f_from=f0, f_to=f_safe).q
        rate = np.where(running, rate, 0.0)
        rate = np.where(np.isfinite(head) | ~running, rate, np.nan)
        b.set("FLOW", rate, qm.worst(q_head, b.quality("frequency")))


def _rate_at_head(head: float, curve: tuple[np.ndarray, np.ndarray]) -> float:
    """Rate on a falling head curve where it develops `head` (0 above shut-off; the last
    point's rate beyond run-out)."""
    q, h = curve
    if head >= h[0]:
        return 0.0
    return float(np.interp(head, h[::-1], q[::-1]))


CONDITION_CODES = (
    Code(0, "stopped", "stopped", "detenida"),
    Code(1, "normal", "running normally", "operación normal"),
    Code(2, "underload", "underload: current below the underload set point",
         "baja carga: corriente bajo la consigna"),
    Code(3, "overload", "overload: current above the overload set point",
         "sobrecarga: corriente sobre la consigna"),
    Code(4, "gas_lock", "gas lock: low, erratic current", "bloqueo por gas: corriente baja "
         "y errática"),
    Code(5, "pump_off", "pumping off: fluid over the pump below its limit",
         "achique: poco fluido sobre la bomba"),
    Code(6, "tripped", "tripped by the drive", "disparada por el variador"),
)
GAS_LOCK_CV = 0.06  # coefficient of variation of the current over ~2 min
EMA_S = 60.0


class EspMotor(Calculation):
    DEF = CalcDef(
        "esp.motor", "esp", "scan", "ESP motor load, unbalance and condition",
        "Carga, desbalance y condición del motor de la BES",
        inputs=(Input("motor_current"), Input("frequency"),
                Input("phase_current_1", required=False),
                Input("phase_current_2", required=False),
                Input("phase_current_3", required=False),
                Input("current_unbalance", required=False),
                Input("run_status", required=False), Input("drive_fault", required=False),
                Input("intake_pressure", required=False), Input("chp", required=False)),
        params=(Param("motor_nameplate_amps"), Param("underload_pct", default=60.0),
                Param("overload_pct", default=115.0), Param("fluid_sg", default=1.0),
                Param("pumpoff_submergence_ft", default=100.0)),
        outputs=(
            Output("MOTOR_LOAD", "%", "number", "motor load (current basis)",
                   "carga del motor (por corriente)", "current / nameplate current × 100",
                   f"{TAKACS}; daemons.petroleum.esp.motor_load"),
            Output("CURRENT_UNBALANCE", "%", "number", "phase current unbalance",
                   "desbalance de corriente entre fases",
                   "largest deviation from the average of the three phase currents / "
                   "average × 100; the drive's own figure when phases are not mapped",
                   "NEMA MG 1-2016, 14.36 (definition of unbalance)"),
            Output("ESP_CONDITION", "", "code", "ESP condition", "condición de la BES",
                   "rules in order: tripped, stopped, pump-off (fluid over pump below "
                   "`pumpoff_submergence_ft`), gas lock (load below the underload set point "
                   "and current varying more than 6 % over about 2 min), underload, "
                   "overload, normal", f"{TAKACS}, ch. on ammeter charts",
                   codes=CONDITION_CODES),
        ))

    def __init__(self, wells: tuple[str, ...]) -> None:
        super().__init__(wells)
        n = len(wells)
        self._mean = np.full(n, np.nan)
        self._var = np.zeros(n)
        self._last_ns = 0

    def compute(self, b: Batch) -> None:
        amps = b.value("motor_current")
        load = 100.0 * motor_load(i=np.nan_to_num(np.maximum(amps, 0.0)),
                                  i_nameplate=b.param("motor_nameplate_amps"))
        load = np.where(np.isfinite(amps), load, np.nan)
        b.set("MOTOR_LOAD", load, b.quality("motor_current"))
        phases = [f"phase_current_{k}" for k in (1, 2, 3)]
        have = np.logical_and.reduce([b.usable(p) for p in phases])
        ph = np.stack([b.value(p) for p in phases])
        avg = ph.mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            nema = 100.0 * np.abs(ph - avg).max(axis=0) / avg
        unb = np.where(have, nema, b.value("current_unbalance"))
        q_unb = np.where(have, b.worst(*phases), b.quality("current_unbalance"))
        b.set("CURRENT_UNBALANCE", unb, q_unb)
        self._condition(b, load)

    def _condition(self, b: Batch, load: np.ndarray) -> None:
        dt = 1.0 if not self._last_ns else max((b.now_ns - self._last_ns) / 1e9, 0.0)
        self._last_ns = b.now_ns
        a = 1.0 - np.exp(-dt / EMA_S)
        x = np.nan_to_num(load)
        first = np.isnan(self._mean)
        self._mean = np.where(first, x, self._mean + a * (x - np.nan_to_num(self._mean)))
        self._var = np.where(first, 0.0, (1 - a) * (self._var + a * (x - self._mean) ** 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            cv = np.sqrt(self._var) / np.maximum(self._mean, 1e-9)
        f = b.value("frequency")
        run = np.where(b.usable("run_status"), b.value("run_status") > 0.5, f > 1.0)
        fault = b.usable("drive_fault") & (np.nan_to_num(b.value("drive_fault")) > 0)
        grad = PSI_PER_FT_WATER * b.param("fluid_sg")
        sub = (b.value("intake_pressure") - np.where(b.usable("chp"), b.value("chp"), 0.0)) \
            / grad
        pumpoff = b.usable("intake_pressure") & (sub < b.param("pumpoff_submergence_ft"))
        under = load < b.param("underload_pct")
        code = np.select(
            [~run & fault, ~run, pumpoff, under & (cv > GAS_LOCK_CV), under,
             load > b.param("overload_pct")],
            [6, 0, 5, 4, 2, 3], default=1)
        q = qm.worst(b.quality("motor_current"), b.quality("frequency"))
        b.set("ESP_CONDITION", code.astype(float), q)

    def export_state(self) -> dict[str, dict[str, Any]]:
        return {}
