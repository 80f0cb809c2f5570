"""Continuous gas lift: injection, gas-liquid ratios, the economic optimum injection from
the configured performance curve (or one fitted to the well's own steady points), and
how far the injection is from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from daemons.calcd import quality as qm
from daemons.calcd.batch import Batch
from daemons.calcd.model import CalcDef, Calculation, Code, Input, Output, Param
from daemons.petroleum.gaslift import fit_lift_curve, fitted_optimum, optimum_injection

KANU = "Kanu, Mach & Brown, JPT Oct. 1981 (SPE 9084)"
STEADY_MIN = 45  # injection within ±3 % for this long before oil rates are used
STEADY_BAND = 0.03  # (three lag times of a typical well's response)
OIL_MIN = 15  # ... and the oil rate within ±5 % for this long (no heading, no unloading)
OIL_BAND = 0.05
BIN_MSCFD = 50.0  # steady points are averaged per injection bin of this width
MIN_BIN_MINUTES = 10  # a bin counts for the fit once it averages this many minutes
MIN_BINS = 4

SOURCES = (Code(0, "none", "no curve yet", "aún sin curva"),
           Code(1, "configured", "the configured performance curve",
                "la curva de comportamiento configurada"),
           Code(2, "fitted", "fitted to the well's steady points",
                "ajustada a los puntos estables del pozo"))


@dataclass
class Steady:
    """Per well: minute means of injection and oil, and steady points per bin."""

    minute: int = -1
    inj_sum: float = 0.0
    oil_sum: float = 0.0
    count: int = 0
    history: list[float] = field(default_factory=list)  # last minute means of injection
    oil_history: list[float] = field(default_factory=list)  # ... and of oil
    bins: dict[str, list[float]] = field(default_factory=dict)  # bin -> [oil sum, minutes]


class GasLift(Calculation):
    DEF = CalcDef(
        "gas_lift.performance", "gas_lift", "scan", "Gas lift performance",
        "Desempeño del levantamiento por gas",
        inputs=(Input("injection_rate"), Input("gas_rate", required=False),
                Input("liquid_rate", required=False), Input("oil_rate", required=False),
                Input("water_rate", required=False)),
        params=(Param("curve_injection_mscfd", required=False, text=True),
                Param("curve_oil_bpd", required=False, text=True),
                Param("gas_cost_per_mscf", default=0.0),
                Param("oil_price_per_bbl", default=1.0)),
        outputs=(
            Output("INJECTION_RATE", "Mscf/d", "number", "lift gas injection rate",
                   "tasa de inyección de gas", "the injection meter", "meter run"),
            Output("FORMATION_GLR", "scf/bbl", "number", "formation gas-liquid ratio",
                   "relación gas-líquido de formación",
                   "(total gas − lift gas) × 1000 / liquid rate",
                   "definition (total gas from the wellhead meter includes lift gas)"),
            Output("TOTAL_GLR", "scf/bbl", "number", "total gas-liquid ratio",
                   "relación gas-líquido total", "total gas × 1000 / liquid rate",
                   "definition"),
            Output("OPTIMUM_INJECTION", "Mscf/d", "number", "economic optimum injection",
                   "inyección óptima económica",
                   "maximum of oil price × oil rate − gas cost × injection on the configured "
                   "curve (PCHIP), else on a curve fitted to the well's steady points "
                   "(injection held within 3 % for 45 min and oil within 5 % for 15 min, "
                   "oil averaged per 50 Mscf/d bin, 4 bins or more)",
                   f"{KANU}; Alarcón et al., J. Energy Resour. Technol. 2002; "
                   "daemons.petroleum.gaslift"),
            Output("INJECTION_DEVIATION", "%", "number", "injection off the optimum",
                   "desviación de la inyección respecto al óptimo",
                   "(injection − optimum) / optimum × 100", "definition"),
            Output("OPTIMUM_SOURCE", "", "code", "where the optimum comes from",
                   "origen del óptimo", "configured curve, fitted curve or none",
                   "see OPTIMUM_INJECTION", codes=SOURCES),
        ))

    def __init__(self, wells: tuple[str, ...]) -> None:
        super().__init__(wells)
        self.steady = [Steady() for _ in wells]
        self.configured: np.ndarray | None = None
        self.fitted = np.full(len(wells), math.nan)

    def _configured(self, b: Batch) -> np.ndarray:
        out = np.full(b.n, math.nan)
        for i, (q, o) in enumerate(zip(b.param("curve_injection_mscfd"),
                                       b.param("curve_oil_bpd"), strict=True)):
            if q is None or o is None or len(q) != len(o) or len(q) < 2:
                continue
            out[i] = optimum_injection(q_inj=q, q_oil=o,
                                       gas_cost=float(b.param("gas_cost_per_mscf")[i]),
                                       oil_price=float(b.param("oil_price_per_bbl")[i])).q_inj
        return out

    def compute(self, b: Batch) -> None:
        if self.configured is None:
            self.configured = self._configured(b)
        inj = b.value("injection_rate")
        b.set("INJECTION_RATE", inj)
        has_liq = b.usable("liquid_rate")
        liquid = np.where(has_liq, b.value("liquid_rate"),
                          b.value("oil_rate") + b.value("water_rate"))
        q_liq = np.where(has_liq, b.quality("liquid_rate"), b.worst("oil_rate", "water_rate"))
        gas = b.value("gas_rate")
        with np.errstate(invalid="ignore", divide="ignore"):
            total = np.where(liquid > 0, gas * 1000.0 / liquid, np.nan)
            formation = np.where(liquid > 0, (gas - inj) * 1000.0 / liquid, np.nan)
        q_total = qm.worst(b.quality("gas_rate"), q_liq)
        b.set("TOTAL_GLR", total, q_total)
        b.set("FORMATION_GLR", formation, qm.worst(q_total, b.quality("injection_rate")))
        oil = np.where(b.usable("oil_rate"), b.value("oil_rate"), liquid)
        self._learn(b, inj, oil, qm.severity(qm.worst(b.quality("injection_rate"), q_liq)))
        use_cfg = np.isfinite(self.configured)
        optimum = np.where(use_cfg, self.configured, self.fitted)
        source = np.where(use_cfg, 1.0, np.where(np.isfinite(self.fitted), 2.0, 0.0))
        good = np.full(b.n, qm.GOOD)
        b.set("OPTIMUM_INJECTION", optimum, good)
        b.set("OPTIMUM_SOURCE", source, good)
        with np.errstate(invalid="ignore", divide="ignore"):
            dev = 100.0 * (inj - optimum) / optimum
        b.set("INJECTION_DEVIATION", dev, b.quality("injection_rate"))

    def _learn(self, b: Batch, inj: np.ndarray, oil: np.ndarray, sev: np.ndarray) -> None:
        """Minute means; steady minutes go into the bins; refit when a bin fills up."""
        minute = int(b.now_ns // 60_000_000_000)
        for i, st in enumerate(self.steady):
            if st.minute != minute:
                if st.count and st.minute >= 0:
                    self._close_minute(b, i, st)
                st.minute, st.inj_sum, st.oil_sum, st.count = minute, 0.0, 0.0, 0
            if sev[i] == 0 and math.isfinite(inj[i]) and math.isfinite(oil[i]):
                st.inj_sum += float(inj[i])
                st.oil_sum += float(oil[i])
                st.count += 1

    def _close_minute(self, b: Batch, i: int, st: Steady) -> None:
        q, o = st.inj_sum / st.count, st.oil_sum / st.count
        st.history = [*st.history[-(STEADY_MIN - 1):], q]
        st.oil_history = [*st.oil_history[-(OIL_MIN - 1):], o]
        h, oh = np.array(st.history), np.array(st.oil_history)
        mean, oil_mean = float(h.mean()), float(oh.mean())
        if len(h) < STEADY_MIN or mean <= 0 or np.abs(h - mean).max() > STEADY_BAND * mean:
            return
        if oil_mean <= 0 or np.abs(oh - oil_mean).max() > OIL_BAND * oil_mean:
            return  # heading or unloading: not a point of the steady curve
        key = str(round(mean / BIN_MSCFD) * int(BIN_MSCFD))
        acc = st.bins.setdefault(key, [0.0, 0.0])
        acc[0] += o
        acc[1] += 1.0
        if acc[1] == MIN_BIN_MINUTES or acc[1] % 60 == 0:
            self._refit(b, i, st)

    def _refit(self, b: Batch, i: int, st: Steady) -> None:
        pts = [(float(k), s / n, n) for k, (s, n) in st.bins.items() if n >= MIN_BIN_MINUTES]
        if len(pts) < MIN_BINS:
            return
        q, o, w = (np.array(x) for x in zip(*sorted(pts), strict=True))
        fit = fit_lift_curve(q_inj=q, q_oil=o, weights=w)
        self.fitted[i] = fitted_optimum(fit, gas_cost=float(b.param("gas_cost_per_mscf")[i]),
                                        oil_price=float(b.param("oil_price_per_bbl")[i])).q_inj

    def export_state(self) -> dict[str, dict[str, Any]]:
        return {w: {"history": st.history, "oil_history": st.oil_history, "bins": st.bins,
                    "fitted": float(self.fitted[i])}
                for i, (w, st) in enumerate(zip(self.wells, self.steady, strict=True))}

    def import_state(self, state: Mapping[str, Mapping[str, Any]]) -> None:
        for i, w in enumerate(self.wells):
            s = state.get(w)
            if not s:
                continue
            self.steady[i].history = [float(x) for x in s.get("history", [])]
            self.steady[i].oil_history = [float(x) for x in s.get("oil_history", [])]
            self.steady[i].bins = {str(k): [float(v[0]), float(v[1])]
                                   for k, v in dict(s.get("bins", {})).items()}
            f = s.get("fitted")
            self.fitted[i] = math.nan if f is None else float(f)
