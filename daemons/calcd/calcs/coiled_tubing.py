"""Coiled tubing, every scan: depth and speed, weight against a pick-up / slack-off model,
lock-up margin, von Mises utilisation, and bending fatigue accumulated per string segment
(kept per CT string, across jobs and wells).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from daemons.calcd import quality as qm
from daemons.calcd.batch import Batch
from daemons.calcd.model import CalcDef, Calculation, Input, Output, Param
from daemons.petroleum.coiled_tubing import StrainLifeMaterial, fatigue_damage, vme_stress
from daemons.petroleum.drilling import soft_string_torque_drag

STEEL_LB_FT_PER_IN2 = 3.40  # 490 lbm/ft³ / 144 in²/ft²: steel weight per in² of wall
MOVING_FT_MIN = 1.0
SEGMENT_FT = 50.0
MODEL_STEP_FT = 100.0  # the weight model is tabulated every 100 ft of depth
JOHANCSIK = "Johancsik, Friesen & Dawson, SPE 11380 (1984); daemons.petroleum.drilling"


def _survey(b: Batch, i: int) -> np.ndarray:
    md, inc = b.param("survey_md_ft")[i], b.param("survey_inc_deg")[i]
    td = float(b.param("well_td_ft")[i])
    if md and inc and len(md) == len(inc) and len(md) >= 2:
        rows = [(float(m), float(a), 0.0) for m, a in zip(md, inc, strict=True)]
        if rows[-1][0] < td:
            rows.append((td, rows[-1][1], 0.0))
        return np.array(rows)
    return np.array([(0.0, 0.0, 0.0), (td, 0.0, 0.0)])  # vertical without a survey


class CtMechanics(Calculation):
    DEF = CalcDef(
        "coiled_tubing.mechanics", "coiled_tubing", "scan",
        "Coiled tubing depth, weight, lock-up and stress",
        "Profundidad, peso, bloqueo y esfuerzo de la tubería flexible",
        inputs=(Input("ct_depth"), Input("ct_weight"), Input("ct_speed", required=False),
                Input("ct_wellhead_pressure", required=False),
                Input("ct_pump_pressure", required=False)),
        params=(Param("ct_od_in"), Param("ct_wall_in"), Param("well_td_ft"),
                Param("yield_strength_psi"), Param("survey_md_ft", required=False, text=True),
                Param("survey_inc_deg", required=False, text=True),
                Param("friction_coefficient", default=0.25),
                Param("stripper_friction_lbf", default=1000.0),
                Param("fluid_ppg", default=8.34), Param("max_snub_lbf", default=20000.0)),
        outputs=(
            Output("DEPTH", "ft", "number", "coiled tubing depth", "profundidad de la tubería",
                   "injector depth counter", "measurement"),
            Output("SPEED", "ft/min", "number", "running speed (+ in hole)",
                   "velocidad de corrida (+ hacia el pozo)",
                   "the unit's speed, else the depth counter's rate of change", "measurement"),
            Output("PICKUP_WEIGHT", "lbf", "number", "model pick-up weight",
                   "peso modelo al sacar",
                   "soft-string drag on the survey, pulling, less WHP × OD area, plus "
                   "stripper friction", JOHANCSIK),
            Output("SLACKOFF_WEIGHT", "lbf", "number", "model slack-off weight",
                   "peso modelo al bajar", "as PICKUP_WEIGHT, running in (friction "
                   "subtracted)", JOHANCSIK),
            Output("WEIGHT_DEVIATION", "lbf", "number", "weight off the model",
                   "desviación del peso respecto al modelo",
                   "measured weight − model weight for the direction of travel (pick-up "
                   "pulling, slack-off running in, their mean when stopped)", JOHANCSIK),
            Output("LOCKUP_MARGIN", "ft", "number", "depth still reachable before lock-up",
                   "profundidad alcanzable antes del bloqueo",
                   "deepest point (to TD) where the slack-off weight stays above minus the "
                   "injector's snubbing capacity, less the current depth",
                   f"{JOHANCSIK}; lock-up after Wu & Juvkam-Wold, SPE 25503"),
            Output("VME_UTILISATION", "%", "number", "von Mises stress / yield at surface",
                   "esfuerzo de von Mises / fluencia en superficie",
                   "σ_VME with Lamé pressure stresses (pump pressure in, WHP out) and the "
                   "true axial force (weight + WHP × OD area − pump pressure × ID area)",
                   "API TR 5C3 / ISO 10400 sect. 8; daemons.petroleum.coiled_tubing"),
        ))

    def __init__(self, wells: tuple[str, ...]) -> None:
        super().__init__(wells)
        self._models: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._reach: np.ndarray | None = None
        self._last = (0, np.full(len(wells), np.nan))

    def _tabulate(self, b: Batch) -> None:
        """Pick-up and slack-off weight (snubbing and stripper excluded) every 100 ft."""
        self._models = []
        for i in range(b.n):
            od, wall = float(b.param("ct_od_in")[i]), float(b.param("ct_wall_in")[i])
            w_air = math.pi / 4 * (od**2 - (od - 2 * wall) ** 2) * STEEL_LB_FT_PER_IN2
            survey = _survey(b, i)
            depths = np.arange(0.0, float(b.param("well_td_ft")[i]) + MODEL_STEP_FT,
                               MODEL_STEP_FT)
            up, down = np.zeros(depths.size), np.zeros(depths.size)
            for k, d in enumerate(depths[1:], start=1):
                rows = survey[survey[:, 0] < d]
                inc = float(np.interp(d, survey[:, 0], survey[:, 1]))
                s = np.vstack([rows, [d, inc, 0.0]])
                kw = dict(survey=s, unit_weight=w_air, mud_weight=float(
                    b.param("fluid_ppg")[i]), friction=float(
                    b.param("friction_coefficient")[i]), pipe_od=od)
                up[k] = soft_string_torque_drag(mode="trip_out", **kw).hookload
                down[k] = soft_string_torque_drag(mode="trip_in", **kw).hookload
            self._models.append((depths, up, down))

    def compute(self, b: Batch) -> None:
        if self._models is None:
            self._tabulate(b)
        assert self._models is not None
        depth = b.value("ct_depth")
        b.set("DEPTH", depth, b.quality("ct_depth"))
        t0, d0 = self._last
        rate = (depth - d0) / ((b.now_ns - t0) / 6e10) if t0 else np.zeros(b.n)
        self._last = (b.now_ns, depth.copy())
        measured = b.usable("ct_speed")
        speed = np.where(measured, b.value("ct_speed"), rate)
        b.set("SPEED", speed, np.where(measured, b.quality("ct_speed"), b.quality("ct_depth")))
        od, wall = b.param("ct_od_in"), b.param("ct_wall_in")
        whp = np.where(b.usable("ct_wellhead_pressure"), b.value("ct_wellhead_pressure"), 0.0)
        snub = whp * math.pi / 4 * od**2
        strip = b.param("stripper_friction_lbf")
        up = np.array([np.interp(d, m[0], m[1]) for d, m in zip(np.nan_to_num(depth),
                                                                self._models, strict=True)])
        down = np.array([np.interp(d, m[0], m[2]) for d, m in zip(np.nan_to_num(depth),
                                                                  self._models, strict=True)])
        in_hole = np.nan_to_num(depth) > 0
        pick = up - snub + np.where(in_hole, strip, 0.0)
        slack = down - snub - np.where(in_hole, strip, 0.0)
        q_model = qm.worst(b.quality("ct_depth"), b.quality("ct_wellhead_pressure"))
        b.set("PICKUP_WEIGHT", pick, q_model)
        b.set("SLACKOFF_WEIGHT", slack, q_model)
        sp = np.nan_to_num(speed)
        model = np.where(sp > MOVING_FT_MIN, slack, np.where(sp < -MOVING_FT_MIN, pick,
                                                             0.5 * (pick + slack)))
        weight = b.value("ct_weight")
        b.set("WEIGHT_DEVIATION", weight - model, qm.worst(q_model, b.quality("ct_weight")))
        reach = np.array([self._reach_of(m, s, float(c))
                          for m, s, c in zip(self._models, snub + strip,
                                             b.param("max_snub_lbf"), strict=True)])
        b.set("LOCKUP_MARGIN", np.maximum(reach - np.nan_to_num(depth), 0.0), q_model)
        p_in = np.where(b.usable("ct_pump_pressure"), b.value("ct_pump_pressure"), whp)
        idn = od - 2 * wall
        axial = weight + snub - p_in * math.pi / 4 * idn**2
        vme = vme_stress(od=od, wall=wall, p_in=np.maximum(p_in, 0.0), p_out=whp,
                         axial=np.nan_to_num(axial))
        b.set("VME_UTILISATION", 100.0 * vme / b.param("yield_strength_psi"),
              qm.worst(b.quality("ct_weight"), b.quality("ct_pump_pressure"), q_model))

    @staticmethod
    def _reach_of(model: tuple[np.ndarray, np.ndarray, np.ndarray], offset: float,
                  capacity: float) -> float:
        """Deepest tabulated depth before the slack-off weight falls below −capacity."""
        depths, _, down = model
        locked = np.flatnonzero(down - offset < -capacity)
        return float(depths[locked[0] - 1]) if locked.size else float(depths[-1])


class CtFatigue(Calculation):
    DEF = CalcDef(
        "coiled_tubing.fatigue", "coiled_tubing", "scan", "Coiled tubing fatigue",
        "Fatiga de la tubería flexible",
        inputs=(Input("ct_depth"), Input("ct_pump_pressure", required=False),
                Input("ct_wellhead_pressure", required=False)),
        params=(Param("ct_od_in"), Param("ct_wall_in"), Param("ct_length_ft"),
                Param("reel_core_radius_in"), Param("guide_arch_radius_in"),
                Param("yield_strength_psi"), Param("tensile_strength_psi", default=0.0),
                Param("ct_string_id", required=False, text=True)),
        outputs=(Output(
            "FATIGUE_USED", "%", "number", "fatigue life used (worst segment)",
            "vida a fatiga consumida (peor segmento)",
            "per 50 ft segment, every pass through the injector adds Miner damage of one "
            "reel bend (ε = OD/4R_reel) and a bend and straighten over the guide arch "
            "(ε = OD/4R_arch each) at the circulating pressure (Morrow mean stress); the "
            "most used segment is reported; kept per `ct_string_id`",
            "Coffin–Manson–Basquin with Bäumel & Seeger's uniform material law, Miner's "
            "rule; daemons.petroleum.coiled_tubing (a model, not a certified CT life)"),))

    def __init__(self, wells: tuple[str, ...]) -> None:
        super().__init__(wells)
        self.damage: list[np.ndarray | None] = [None] * len(wells)
        self.depth = np.full(len(wells), np.nan)
        self.strings: list[str] = list(wells)
        self._pending: dict[str, Mapping[str, Any]] = {}
        self._per_pass_cache: dict[tuple[int, int], float] = {}

    def _setup(self, b: Batch) -> None:
        self.strings = [str(s) if s else w for s, w in zip(b.param("ct_string_id"), self.wells,
                                                        strict=True)]
        for i in range(b.n):
            n = math.ceil(float(b.param("ct_length_ft")[i]) / SEGMENT_FT)
            saved = self._pending.get(f"string:{self.strings[i]}")
            d = np.zeros(n)
            if saved and saved.get("damage"):
                old = np.array(saved["damage"], dtype=float)[:n]
                d[:old.size] = np.nan_to_num(old)
            self.damage[i] = d
            if saved and saved.get("depth") is not None:
                self.depth[i] = float(saved["depth"])

    def compute(self, b: Batch) -> None:
        if self.damage[0] is None:
            self._setup(b)
        depth = b.value("ct_depth")
        used = np.zeros(b.n)
        for i in range(b.n):
            d = self.damage[i]
            assert d is not None
            new = float(depth[i])
            old = self.depth[i]
            if b.usable("ct_depth")[i] and math.isfinite(old) and abs(new - old) > 0:
                lo, hi = sorted((max(old, 0.0), max(new, 0.0)))
                # segments (counted from the downhole end) that went through the injector
                k0, k1 = int(lo // SEGMENT_FT), math.ceil(hi / SEGMENT_FT)
                frac = np.clip((np.minimum(hi, (np.arange(k0, k1) + 1) * SEGMENT_FT)
                                - np.maximum(lo, np.arange(k0, k1) * SEGMENT_FT))
                               / SEGMENT_FT, 0.0, 1.0)
                d[k0:min(k1, d.size)] += frac[:max(min(k1, d.size) - k0, 0)] \
                    * self._per_pass(b, i)
            if b.usable("ct_depth")[i]:
                self.depth[i] = new
            used[i] = 100.0 * float(d.max()) if d.size else 0.0
        b.set("FATIGUE_USED", used, b.quality("ct_depth"))

    def _per_pass(self, b: Batch, i: int) -> float:
        p_in = b.value("ct_pump_pressure")[i] if b.usable("ct_pump_pressure")[i] else 0.0
        key = (i, round(max(float(p_in), 0.0) / 25.0))  # damage per pass, per 25 psi
        if key not in self._per_pass_cache:
            self._per_pass_cache[key] = self._damage(b, i, key[1] * 25.0)
        return self._per_pass_cache[key]

    def _damage(self, b: Batch, i: int, p_in: float) -> float:
        od, wall = float(b.param("ct_od_in")[i]), float(b.param("ct_wall_in")[i])
        uts = float(b.param("tensile_strength_psi")[i]) or 1.1 * float(
            b.param("yield_strength_psi")[i])
        material = StrainLifeMaterial.uniform_material_law(uts_psi=uts)
        reel = od / 2.0 / (2.0 * float(b.param("reel_core_radius_in")[i]))
        arch = od / 2.0 / (2.0 * float(b.param("guide_arch_radius_in")[i]))
        return fatigue_damage(strain_amplitude=[reel, arch], cycles=[1.0, 2.0],
                              material=material, od=od, wall=wall, p_in=p_in)

    def export_state(self) -> dict[str, dict[str, Any]]:
        out = dict(self._pending)
        for i, d in enumerate(self.damage):
            if d is not None:
                out[f"string:{self.strings[i]}"] = {"damage": d.tolist(),
                                                    "depth": float(self.depth[i]),
                                                    "well": self.wells[i]}
        return out

    def import_state(self, state: Mapping[str, Mapping[str, Any]]) -> None:
        self._pending = {k: v for k, v in state.items() if k.startswith("string:")}
