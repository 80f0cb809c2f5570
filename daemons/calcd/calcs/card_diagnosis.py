"""Pump-card diagnosis: which of the classic downhole conditions a pump card shows.

The card is normalised (position 0–1 over the plunger stroke, load 0–1 between the
downstroke and upstroke plateaus of `pump_card_analysis`), a few shape features are read
off it, and each condition gets a score in 0–1 from rules written after the pattern
catalogues every rod-pump analyst uses: Gibbs, *Rod Pumping: Modern Methods of Design,
Analysis and Diagnosis* (2012), ch. 9; Eickmeier, "Diagnostic Analysis of Dynamometer
Cards", JPT Jan. 1967; Nind, *Principles of Oil Well Production* (1981), fig. 10-14.
The best-scoring condition is the diagnosis and its score the confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from daemons.calcd.model import Code
from daemons.petroleum.rodpump import CardAnalysis, median_1d

FULL, FLUID_POUND, GAS_INTERFERENCE, TUBING_MOVEMENT = 1, 2, 3, 4
TV_LEAK, SV_LEAK, ROD_PART, TAGGING, GAS_LOCK = 5, 6, 7, 8, 9

CODES = (
    Code(0, "unknown", "no diagnosis (card not recognised)", "sin diagnóstico"),
    Code(FULL, "full_pump", "full pump", "bomba llena"),
    Code(FLUID_POUND, "fluid_pound", "fluid pound: incomplete fillage, sudden load release",
         "golpe de fluido: llenado incompleto, descarga brusca"),
    Code(GAS_INTERFERENCE, "gas_interference",
         "gas interference: incomplete fillage, gradual load release",
         "interferencia de gas: llenado incompleto, descarga gradual"),
    Code(TUBING_MOVEMENT, "tubing_movement",
         "tubing movement: unanchored tubing stretches, loads picked up and released "
         "gradually over the same distance", "movimiento de tubería: tubería sin ancla"),
    Code(TV_LEAK, "traveling_valve_leak",
         "worn plunger or leaking traveling valve: load lost during the upstroke",
         "válvula viajera o pistón con fuga: pierde carga en la carrera ascendente"),
    Code(SV_LEAK, "standing_valve_leak",
         "leaking standing valve: load released early and gradually on the downstroke",
         "válvula fija con fuga: descarga temprana y gradual en la descendente"),
    Code(ROD_PART, "rod_part", "parted rods: no fluid load, rod weight missing",
         "varillas partidas: sin carga de fluido, falta peso de varillas"),
    Code(TAGGING, "pump_tagging", "pump tagging: the plunger hits bottom",
         "golpe de bomba: el pistón golpea abajo"),
    Code(GAS_LOCK, "gas_lock", "gas lock: no valve action", "bloqueo por gas: sin acción de "
         "válvulas"),
)


@dataclass(frozen=True, slots=True)
class Diagnosis:
    code: int
    confidence: float
    scores: dict[int, float]


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 at lo, 1 at hi (either direction), clipped."""
    if not math.isfinite(x):
        return 0.0
    t = (x - lo) / (hi - lo)
    return min(max(t, 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class Features:
    fillage: float  # card fillage (load release)
    liquid_fillage: float  # gas corrected (Boyle's law on the compression curve)
    pickup: float  # upstroke travel before the load reaches 75 % of Fo (stroke fraction)
    release: float  # downstroke travel from 75 % down to 25 % of Fo
    early_unload: float  # upstroke plateau minus the load near the top, / Fo
    premature_load: float  # load picked up before the bottom of the downstroke, / Fo
    spike: float  # dip below the downstroke plateau near the bottom (compression), / Fo
    fo_ratio: float  # card Fo / expected Fo (fluid column from the pump depth)
    weight_loss: float  # -(lower plateau) / buoyant rod weight: rods missing at the pump


def _decile(x: np.ndarray, tenth: int) -> float:
    """The `tenth`-decile by partial sort (nearest rank; the shape features need no
    interpolation between samples)."""
    k = min(max(round(tenth / 10 * (x.size - 1)), 0), x.size - 1)
    return float(np.partition(x, k)[k])


def _smooth(y: np.ndarray) -> np.ndarray:
    """Circular 5-point running mean (enough for shape features; fillage has its own)."""
    return np.convolve(np.concatenate([y[-2:], y, y[:2]]), np.ones(5) / 5.0, "valid")


def _first_below(xs: np.ndarray, ys: np.ndarray, level: float, start: int = 0) -> tuple:
    k = np.flatnonzero((ys[:-1] >= level) & (ys[1:] < level))
    k = k[k >= start]
    if not k.size:
        return math.nan, len(ys)
    j = int(k[0])
    f = (ys[j] - level) / (ys[j] - ys[j + 1])
    return float(xs[j] + f * (xs[j + 1] - xs[j])), j


def features(pos: np.ndarray, load: np.ndarray, a: CardAnalysis, fo_expected: float,
             rod_weight: float, liquid_fillage: float) -> Features:
    """Shape features of a pump card (position up, load net of the rods' buoyant weight)."""
    n = pos.size
    x = (pos - pos.min()) / max(a.gross_stroke, 1e-9)
    i_top, i_bot = int(np.argmax(pos)), int(np.argmin(pos))
    up = (i_bot + np.arange((i_top - i_bot) % n + 1)) % n
    down = (i_top + np.arange((i_bot - i_top) % n + 1)) % n
    sm = _smooth(load)
    lo = _decile(sm[down], 1)
    hi = _decile(sm[up], 9)
    fo = hi - lo
    if fo <= 0:
        fo = 1.0
    y, yr = (sm - lo) / fo, (load - lo) / fo
    reached = np.flatnonzero(y[up] >= 0.75)
    pickup = float(x[up][reached[0]]) if reached.size else 1.0
    x75, j = _first_below(x[down], y[down], 0.75)
    x25, _ = _first_below(x[down], y[down], 0.25, j)
    release = x75 - x25 if math.isfinite(x75) and math.isfinite(x25) else 1.0
    xu, yu = x[up], y[up]
    plateau = yu[(xu >= 0.3) & (xu <= 0.7)]
    top = yu[xu >= 0.92]
    early = median_1d(plateau) - median_1d(top) if plateau.size and top.size else 0.0
    xd, yd = x[down], y[down]
    floor = yd[(xd >= 0.15) & (xd <= 0.5) & (yd < 0.5)]
    bottom = yd[(xd > 0.005) & (xd <= 0.06)]  # the plunger still moving down
    premature = median_1d(bottom) - median_1d(floor) if floor.size and bottom.size else 0.0
    near = x <= 0.1
    spike = float(-(yr[near].min())) if near.any() else 0.0
    return Features(a.fillage, liquid_fillage, pickup, max(release, 0.0), early, premature, spike,
                    a.fluid_load / fo_expected if fo_expected > 0 else math.nan,
                    -a.lower_load / rod_weight if rod_weight > 0 else 0.0)


def diagnose(f: Features, *, anchored: bool = True) -> Diagnosis:
    """Score every condition from the features; the best one wins."""
    fill = f.fillage
    s: dict[int, float] = {}
    s[ROD_PART] = min(_ramp(f.weight_loss, 0.05, 0.15), _ramp(-f.fo_ratio, -0.35, -0.15))
    no_transfer = not math.isfinite(fill)
    s[GAS_LOCK] = (1.0 - s[ROD_PART]) * (1.0 if no_transfer else _ramp(-f.fo_ratio, -0.3, -0.1))
    if no_transfer:
        return _pick(s)
    s[TAGGING] = _ramp(f.spike, 0.06, 0.12)
    s[SV_LEAK] = _ramp(f.premature_load, 0.08, 0.2)
    s[TV_LEAK] = _ramp(f.early_unload, 0.06, 0.15)
    s[TUBING_MOVEMENT] = 0.0 if anchored else \
        _ramp(f.pickup, 0.025, 0.05) * (1.0 - s[TV_LEAK])
    other = max(s[TAGGING], s[SV_LEAK], s[TV_LEAK], s[TUBING_MOVEMENT])
    liquid = f.liquid_fillage if math.isfinite(f.liquid_fillage) else fill
    partial = _ramp(-liquid, -0.92, -0.8) * (1.0 - other)
    # Gas in the barrel at the release: the card's release comes late by the compressed
    # gas; its share of the unfilled volume is about the intake/discharge pressure ratio,
    # small when the pump pounds an empty annulus, large with gas at pressure.
    gas = (fill - liquid) / max(1.0 - liquid, 0.05)
    gassy = max(_ramp(gas, 0.1, 0.2), _ramp(f.release, 0.08, 0.15))
    s[FLUID_POUND] = partial * (1.0 - gassy)
    s[GAS_INTERFERENCE] = partial * gassy
    s[FULL] = _ramp(liquid, 0.85, 0.92) * (1.0 - other)
    return _pick(s)


def _pick(s: dict[int, float]) -> Diagnosis:
    code, best = max(s.items(), key=lambda kv: kv[1])
    if best < 0.3:
        return Diagnosis(0, 0.0, s)
    return Diagnosis(code, round(best, 3), s)
