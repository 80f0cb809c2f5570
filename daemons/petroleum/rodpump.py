"""Sucker-rod pumping: downhole (pump) card from the surface card, pump fillage, fluid load
and pump displacement.

Units: positions and stroke in inches, loads in lbf, depth and rod lengths in ft, rod
diameter and plunger diameter in inches, Young's modulus in psi, rod density in lbm/ft³,
pumping speed in strokes per minute.  Formulas, conventions and sources are collected in
docs/petroleum/rodpump.md.

Conventions of `downhole_card`:

- Position is measured upward (as a dynamometer reports it); the pump position returned
  is relative to its lowest point, so it starts at 0.
- Load is tension (lbf).  The pump load returned is the load at the bottom of the rod
  string *net of the rod string's buoyant weight*: the surface load minus the rods' weight
  in fluid is what the damped wave equation carries down (Gibbs 1963), so the pump card
  sits near 0 on the downstroke with the traveling valve open and near the fluid load Fo
  on the upstroke.  Friction at the stuffing box, couplings and pump is not modelled.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import numpy as np

from daemons.petroleum import _validate as v

# --- optional numba engine (issue 5: "numba where a benchmark shows it beats numpy") ---
# numba is an optional extra (`pip install wellgate[fast]`): frozen builds have failed to
# load llvmlite (PITFALLS.md), so its absence must only cost speed.  A broken llvmlite
# surfaces as OSError from inside the import, hence both exceptions.
try:
    from daemons.petroleum import _rodpump_numba
except (ImportError, OSError):
    _rodpump_numba = None  # type: ignore[assignment]
# True when the numba kernel can be used; read-only, fixed at import.
NUMBA_AVAILABLE: Final[bool] = _rodpump_numba is not None
ENGINES: Final = ("auto", "numpy", "numba")
# --- end of the numba hook (its other half is `_resolve_engine` and `_march_numba`) ---

Number = float | np.ndarray

# Newton's-law conversion constant, lbm·ft/(lbf·s²).
G_C = 32.174
# Water density used by the oilfield gradient 0.433 psi/ft (= 62.4 / 144), lbm/ft³; the
# basis of API RP 11L's fluid load and of the rods' buoyancy.
WATER_DENSITY_LBM_FT3 = 62.4
# Cubic inches per barrel (42 US gal × 231 in³/gal) and minutes per day, for displacement.
_IN3_PER_BBL = 9702.0
_MIN_PER_DAY = 1440.0


@dataclass(frozen=True, slots=True)
class RodTaper:
    """One section of a (tapered) rod string; the sections are listed top first."""

    length_ft: float
    diameter_in: float
    modulus_psi: float
    density_lbm_ft3: float

    @classmethod
    def steel(cls, length_ft: float, diameter_in: float) -> RodTaper:
        """A steel taper: E = 30.5e6 psi, 490 lbm/ft³ (API RP 11L rod properties)."""
        return cls(length_ft, diameter_in, 30.5e6, 490.0)

    @property
    def area_in2(self) -> float:
        return math.pi / 4.0 * self.diameter_in**2


class PumpCard(NamedTuple):
    """Result of `downhole_card`; unpacks as (pump_position, pump_load)."""

    position: np.ndarray  # in, upward, 0 at the bottom of the pump stroke
    load: np.ndarray  # lbf, net of the rods' buoyant weight


_TAPER_FIELDS = ("length_ft", "diameter_in", "modulus_psi", "density_lbm_ft3")


def _tapers(rods: Iterable[Any]) -> tuple[RodTaper, ...]:
    """Accept RodTaper objects or mappings with the four fields (e.g. from a config)."""
    out: list[RodTaper] = []
    for k, rod in enumerate(rods):
        if isinstance(rod, Mapping):
            missing = [f for f in _TAPER_FIELDS if f not in rod]
            if missing:
                raise ValueError(f"rods: taper {k} lacks {', '.join(missing)}")
            vals = [rod[f] for f in _TAPER_FIELDS]
        else:
            try:
                vals = [getattr(rod, f) for f in _TAPER_FIELDS]
            except AttributeError as exc:
                raise ValueError(f"rods: taper {k} is not a RodTaper or mapping") from exc
        checked = [_positive_scalar(f"rods[{k}].{f}", x)
                   for f, x in zip(_TAPER_FIELDS, vals, strict=True)]
        out.append(RodTaper(*checked))
    if not out:
        raise ValueError("rods: needs at least one taper")
    return tuple(out)


def _positive_scalar(name: str, value: Any) -> float:
    """Fast path of `_validate.positive` for plain numbers (the per-card hot path); any
    doubt goes through the shared helper, which raises its usual message."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        x = float(value)
        if math.isfinite(x) and x > 0.0:
            return x
    result = v.positive(name, value)
    if np.ndim(result) != 0:
        raise ValueError(f"{name}: must be a single number")
    return float(result)


def wave_speed(*, modulus_psi: Any, density_lbm_ft3: Any) -> Number:
    """Speed of a longitudinal stress wave in a rod, ft/s.

    a = sqrt(144 · g_c · E / ρ) — Gibbs, S.G., "Predicting the Behavior of Sucker-Rod
    Pumping Systems", JPT July 1963, pp. 769-778 (the 144 turns psi into lbf/ft²).  Steel
    (30.5e6 psi, 490 lbm/ft³) gives about 16,980 ft/s; the often-quoted 16,300 ft/s is the
    value with the extra mass of couplings.
    """
    e = v.positive("modulus_psi", modulus_psi)
    rho = v.positive("density_lbm_ft3", density_lbm_ft3)
    return v.restore(np.sqrt(144.0 * G_C * np.asarray(e) / np.asarray(rho)), e, rho)


def buoyant_rod_weight(*, rods: Iterable[Any], fluid_sg: float = 1.0) -> float:
    """Weight of the rod string in the produced fluid, lbf.

    W_rf = Σ (ρ_rod − 62.4 G) · A/144 · L: Archimedes, the same buoyancy API RP 11L writes
    for steel as W_rf = W_r (1 − 0.128 G) (API RP 11L, 5th ed. 2008, sect. 2).
    """
    return _buoyant_weight(_tapers(rods), float(v.non_negative("fluid_sg", fluid_sg)))


def _buoyant_weight(tapers: tuple[RodTaper, ...], sg: float) -> float:
    rho_f = WATER_DENSITY_LBM_FT3 * sg
    return float(sum((t.density_lbm_ft3 - rho_f) * t.area_in2 / 144.0 * t.length_ft
                     for t in tapers))


def _speed(taper: RodTaper) -> float:
    """`wave_speed` of an already validated taper (no per-call checks on the hot path)."""
    return math.sqrt(144.0 * G_C * taper.modulus_psi / taper.density_lbm_ft3)


def _travel_time(tapers: tuple[RodTaper, ...]) -> float:
    """One-way travel time of a stress wave from the polished rod to the pump, s."""
    return sum(t.length_ft / _speed(t) for t in tapers)


def damping_coefficient(*, damping: float, rods: Iterable[Any]) -> float:
    """Gibbs' viscous damping coefficient c (1/s) from the dimensionless damping factor ν.

    c = ν · π / (2 τ), τ = Σ L_k / a_k, i.e. c = π a ν / (2 L) for a uniform string: ν is c
    divided by the fundamental angular frequency of the rod string fixed at the polished
    rod and free at the pump (ω₁ = π a / 2L), i.e. twice the damping ratio of that mode.
    Gibbs (1963) wrote c directly.  The normalisation is stated here so that a configured
    ν means one thing; it is the usual c = π a ν / 2L of rod-pump diagnostics, but SPE
    18189's own wording could not be checked against a stored copy.
    """
    nu = float(v.non_negative("damping", damping))
    return nu * math.pi / (2.0 * _travel_time(_tapers(rods)))


def downhole_card(
    *,
    surface_position: Any,
    surface_load: Any,
    spm: float,
    rods: Iterable[Any],
    damping: float = 0.05,
    fluid_sg: float = 1.0,
    engine: str = "auto",
) -> PumpCard:
    """Pump card from one stroke of the surface card, by the damped wave equation.

    Arguments: `surface_position` (in, upward) and `surface_load` (lbf, polished-rod
    load) sampled uniformly in time over exactly one stroke (N ≥ 16 points; if the last
    point repeats the first, the card is treated as closed), `spm` strokes/min, `rods` the
    tapers top first (`RodTaper` or mappings with length_ft, diameter_in, modulus_psi,
    density_lbm_ft3), `damping` the dimensionless factor ν (see `damping_coefficient`),
    `fluid_sg` the produced fluid's specific gravity (water = 1) for the rods' buoyancy,
    `engine` "numpy", "numba" (ValueError if numba is not installed) or "auto" (numba when
    importable); both engines give the same card to rounding (tested to 1e-9 relative).

    Returns `PumpCard(position, load)`, arrays of the input's length: pump position (in,
    0 at the bottom of the pump stroke) and pump load (lbf, net of the rods' buoyant
    weight).

    Method: Gibbs' damped wave equation ∂²u/∂t² = a² ∂²u/∂x² − c ∂u/∂t (Gibbs 1963) is
    marched down the string in x by the Everitt–Jennings finite-difference recurrence
    (Everitt & Jennings, "An Improved Finite-Difference Calculation of Downhole
    Dynamometer Cards for Sucker-Rod Pumps", SPE PE Feb. 1992, SPE 18189):

        u[i+1,j] = 2u[i,j] − u[i−1,j] + ρ² ((1+k) u[i,j+1] − 2 u[i,j] + (1−k) u[i,j−1])

    with ρ = Δx/(aΔt) and k = cΔt/2.  Time is periodic over the stroke (the card repeats),
    so j±1 wraps around.  Choices made here, documented in docs/petroleum/rodpump.md:
    Δt is the card's own sample interval; each taper gets the fewest equal space steps
    with ρ ≤ 1 (the stability limit of marching in x; ρ = 1 is exact for the undamped
    equation), the velocity in the damping term is a central difference (E&J used a
    forward one; the central one is second order and does not amplify the highest
    harmonic), and the first node below the top of each taper and the load at its bottom
    use the second-order ghost-node form of Hooke's law, so that displacement and load
    pass continuously from one taper to the next.
    """
    tapers = _tapers(rods)
    pos = v.array_1d("surface_position", surface_position, min_len=16)
    load = v.array_1d("surface_load", surface_load, min_len=16)
    v.same_length(surface_position=pos, surface_load=load)
    spm_f = float(v.positive("spm", spm))
    nu = float(v.non_negative("damping", damping))
    sg = float(v.non_negative("fluid_sg", fluid_sg))
    use_numba = _resolve_engine(engine) == "numba"

    closed = pos[0] == pos[-1] and load[0] == load[-1]
    if closed:
        pos, load = pos[:-1], load[:-1]
    n = pos.size
    if np.ptp(pos) <= 0.0:
        raise ValueError("surface_position: the polished rod does not move over the stroke")

    dt = 60.0 / spm_f / n
    c = nu * math.pi / (2.0 * _travel_time(tapers))
    k = 0.5 * c * dt

    w = pos / 12.0  # ft, upward
    tension = load - _buoyant_weight(tapers, sg)
    if use_numba:
        w, tension = _march_numba(w, tension, tapers, dt, k)
    else:
        for t in tapers:
            w, tension = _march_taper(w, tension, t, dt, k)

    pump_pos = 12.0 * (w - w.min())
    if closed:
        pump_pos = np.append(pump_pos, pump_pos[0])
        tension = np.append(tension, tension[0])
    return PumpCard(pump_pos, tension)


def _resolve_engine(engine: str) -> str:
    """"numpy" or "numba" for the `engine` argument of `downhole_card`."""
    if engine == "auto":
        return "numba" if NUMBA_AVAILABLE else "numpy"
    if engine not in ENGINES:
        raise ValueError(f"engine: must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "numba" and not NUMBA_AVAILABLE:
        raise ValueError("engine: numba is not installed (pip install wellgate[fast]); "
                         "use \"auto\" or \"numpy\"")
    return engine


class _Step(NamedTuple):
    """Space step of one taper and the recurrence's weights (shared by both engines, so
    they march with the very same numbers)."""

    steps: int
    h: float  # ft
    ea: float  # lbf
    cp: float  # ρ²(1+k), weight of u[j+1]
    c0: float  # 2 − 2ρ², weight of u[j]
    cm: float  # ρ²(1−k), weight of u[j−1]


def _taper_step(taper: RodTaper, dt: float, k: float) -> _Step:
    a = _speed(taper)
    # Fewest equal steps with Δx ≤ aΔt (ρ ≤ 1): E&J's stability condition for marching in x.
    steps = max(1, math.ceil(taper.length_ft / (a * dt) - 1e-9))
    h = taper.length_ft / steps
    r2 = (h / (a * dt)) ** 2
    return _Step(steps, h, taper.modulus_psi * taper.area_in2,
                 r2 * (1.0 + k), 2.0 - 2.0 * r2, r2 * (1.0 - k))


def _march_numba(
    w0: np.ndarray, t0: np.ndarray, tapers: tuple[RodTaper, ...], dt: float, k: float
) -> tuple[np.ndarray, np.ndarray]:
    """All tapers in one call of the compiled kernel (`_rodpump_numba`)."""
    rows = [_taper_step(t, dt, k) for t in tapers]
    assert _rodpump_numba is not None  # guaranteed by _resolve_engine
    # r[1:] is (h, ea, cp, c0, cm): the kernel's COLUMNS, in _Step's field order.
    return _rodpump_numba.march(w0, t0, [r.steps for r in rows], [r[1:] for r in rows])


def _march_taper(
    w0: np.ndarray, t0: np.ndarray, taper: RodTaper, dt: float, k: float
) -> tuple[np.ndarray, np.ndarray]:
    """Carry (displacement ft upward, tension lbf) from the top of a taper to its bottom."""
    steps, h, ea, cp, c0, cm = _taper_step(taper, dt, k)

    ext = np.empty(w0.size + 2)

    def operator(w: np.ndarray) -> np.ndarray:
        # ρ²·((1+k) w[j+1] − 2 w[j] + (1−k) w[j−1]) + 2 w[j], periodic in j.
        ext[1:-1] = w
        ext[0] = w[-1]
        ext[-1] = w[0]
        return cp * ext[2:] + c0 * w + cm * ext[:-2]

    # Upward w with tension T = −EA ∂w/∂x (x downward).  Ghost node above the top:
    # w[−1] = w[1] + 2h T/EA (central Hooke's law), put into the recurrence at node 0:
    # w[1] = ½ (operator(w0)) − h T/EA.
    w_prev = w0
    w_cur = 0.5 * operator(w0) - h * t0 / ea
    for _ in range(steps - 1):
        w_prev, w_cur = w_cur, operator(w_cur) - w_prev
    # Ghost node below the bottom from the same recurrence; central Hooke's law there:
    # ∂w/∂x = (w[M+1] − w[M−1]) / 2h = (operator(w[M]) − 2 w[M−1]) / 2h.
    grad = (operator(w_cur) - 2.0 * w_prev) / (2.0 * h)
    return w_cur, -ea * grad


def _circular_smooth(x: np.ndarray, width: int = 5) -> np.ndarray:
    """Running median then 3-point mean over a periodic signal: spikes out, noise down."""
    half = width // 2
    n = x.size
    # One extra sample each side for the mean; row k of `stack` is the padded signal
    # shifted by k, so column i holds the window centred on x[i - 1] (circularly).
    padded = np.concatenate([x[n - half - 1:], x, x[:half + 1]])
    stack = np.stack([padded[k:k + n + 2] for k in range(width)])
    # The median of an odd window is its middle order statistic: a partial sort finds it
    # several times faster than np.median, with the same result.
    med = np.partition(stack, half, axis=0)[half]
    return (med[:-2] + med[1:-1] + med[2:]) / 3.0


def median_1d(x: np.ndarray) -> float:
    """np.median of a 1-D float array by partial sort: the same value, several times
    faster on the short arrays of one card (np.median's generic machinery dominates)."""
    n = x.size
    k = n // 2
    if n % 2:
        return float(np.partition(x, k)[k])
    part = np.partition(x, (k - 1, k))
    return float(0.5 * (part[k - 1] + part[k]))


class CardAnalysis(NamedTuple):
    """What `pump_card_analysis` reads off a pump card."""

    fillage: float  # 0-1, NaN when undetermined (no load transfer)
    upper_load: float  # lbf, plateau of the upstroke (plunger carrying the fluid load)
    lower_load: float  # lbf, plateau of the downstroke near the bottom
    fluid_load: float  # lbf, upper - lower: the fluid load Fo the plunger lifts
    gross_stroke: float  # in, pump (plunger) stroke
    net_stroke: float  # in, fillage x gross stroke: the effective plunger stroke


def fillage(*, pump_position: Any, pump_load: Any) -> float:
    """Fraction of the pump stroke filled with liquid (0–1), from a pump card.

    Method (docs/petroleum/rodpump.md): the card is split at its top and bottom positions
    into upstroke and downstroke.  The load is smoothed (5-point running median, then a
    3-point mean, both circular) so that spikes and noise cannot fake a crossing.  The
    upper load level is the median over the second half (in time) of the upstroke,
    when the traveling valve is shut and the plunger carries the fluid load; the lower
    level is the median over the downstroke points in the bottom 10 % of the stroke
    (the minimum if there are none).  The traveling valve opens where the longest stretch
    of downstroke loads below the mid-level begins (a brief dip of a noisy plateau, or the
    load already being picked up at the very bottom, cannot win); the position of that
    crossing (interpolated) measured from the bottom, over the stroke length, is the
    fillage.  This is the usual "effective plunger stroke / gross stroke" definition
    (e.g. Gibbs, "Rod Pumping", 2012; API RP 11L's pump card terms).  Returns NaN when the
    card shows no load transfer (upper and lower levels closer than 5 % of the load range,
    e.g. a gas-locked pump): fillage is then undetermined, not zero.
    """
    return pump_card_analysis(pump_position=pump_position, pump_load=pump_load).fillage


def pump_card_analysis(*, pump_position: Any, pump_load: Any) -> CardAnalysis:
    """Fillage, load levels, fluid load and net plunger stroke of a pump card.

    The levels and the fillage are those of `fillage` (same method, one pass); the fluid
    load is the upper minus the lower level (the load the plunger picks up when the
    traveling valve closes: Fo of API RP 11L), and the net stroke is fillage × gross
    stroke (the effective plunger stroke, Gibbs 2012).  With no load transfer the fillage
    and net stroke are NaN and the levels are still given.
    """
    pos = v.array_1d("pump_position", pump_position, min_len=8)
    load = v.array_1d("pump_load", pump_load, min_len=8)
    v.same_length(pump_position=pos, pump_load=load)
    if pos[0] == pos[-1] and load[0] == load[-1]:
        pos, load = pos[:-1], load[:-1]
    n = pos.size
    stroke = float(np.ptp(pos))
    if stroke <= 0.0:
        raise ValueError("pump_position: the plunger does not move")
    i_top, i_bot = int(np.argmax(pos)), int(np.argmin(pos))
    down = (i_top + np.arange((i_bot - i_top) % n + 1)) % n
    up = (i_bot + np.arange((i_top - i_bot) % n + 1)) % n
    smooth = _circular_smooth(load)

    upper = median_1d(smooth[up[len(up) // 2:]])
    low_zone = down[pos[down] <= pos[i_bot] + 0.1 * stroke]
    lower = median_1d(smooth[low_zone]) if low_zone.size else float(smooth.min())

    def result(fill: float) -> CardAnalysis:
        return CardAnalysis(fill, upper, lower, upper - lower, stroke, fill * stroke)

    if upper - lower < 0.05 * float(np.ptp(smooth)) or upper <= lower:
        return result(math.nan)
    mid = 0.5 * (upper + lower)

    start = _longest_run_start(smooth[down] < mid)
    if start is None:
        return result(0.0)  # the fluid load is carried all the way down: nothing filled
    b = down[start]
    a = (b - 1) % n  # the sample before: on the downstroke, or the end of the upstroke
    if smooth[a] < mid:
        return result(1.0)  # released before the top of the stroke
    frac = (smooth[a] - mid) / (smooth[a] - smooth[b])
    x = pos[a] + frac * (pos[b] - pos[a])
    return result(float(np.clip((x - pos[i_bot]) / stroke, 0.0, 1.0)))


# Pressure of the atmosphere, psi, to turn gauge pressures into the absolute ones Boyle's
# law needs.
PSI_ATM = 14.696


def liquid_fillage(*, pump_position: Any, pump_load: Any, plunger_diameter: Any,
                   discharge_pressure: Any, analysis: CardAnalysis | None = None) -> float:
    """Fraction of the plunger's swept volume filled with *liquid* (0–1), gas corrected.

    `fillage` reads the effective stroke where the load is released; with free gas in the
    barrel that point comes late, because the gas must first be compressed to the
    discharge pressure, so the card overstates the liquid.  Here the compression part of
    the downstroke is read with Boyle's law (isothermal): while the traveling valve is
    shut the barrel pressure is P(x) = Pd − load(x)/A_p (load net of the rods, as the
    pump card gives it), and the gas volume is the barrel volume above the liquid,
    A_p·(x + δ − λ) in stroke fractions (δ dead space, λ liquid).  Two points of the
    load decline, at 75 % and 25 % of the fluid load, give P₁(x₁ + e) = P₂(x₂ + e) with
    e = δ − λ, so e = (P₂x₂ − P₁x₁)/(P₁ − P₂).  Gas leaves through the traveling valve
    before the liquid, so the liquid pumped each stroke is λ − δ = −e: that is the liquid
    fillage (derivation here; the standard gas-interference reading of a pump card, e.g.
    Gibbs, *Rod Pumping* (2012) ch. 9, interprets the same decline qualitatively).

    `discharge_pressure` (psi gauge) is the tubing pressure at the pump (THP + tubing
    gradient × depth).  A sharp release (fluid pound: both points at one position) gives
    the release position itself; the result never exceeds `fillage`.  NaN when the card
    shows no load transfer.  `analysis`: this card's `pump_card_analysis`, if the caller
    has it already (not checked against the card).
    """
    a = analysis if analysis is not None else pump_card_analysis(
        pump_position=pump_position, pump_load=pump_load)
    d = float(v.positive("plunger_diameter", plunger_diameter))
    pd_abs = float(v.non_negative("discharge_pressure", discharge_pressure)) + PSI_ATM
    if not math.isfinite(a.fillage) or a.fluid_load <= 0.0:
        return a.fillage
    pos = np.asarray(pump_position, dtype=float)
    load = np.asarray(pump_load, dtype=float)
    n = pos.size
    x = (pos - pos.min()) / a.gross_stroke
    y = _circular_smooth((load - a.lower_load) / a.fluid_load)
    i_top, i_bot = int(np.argmax(pos)), int(np.argmin(pos))
    down = (i_top + np.arange((i_bot - i_top) % n + 1)) % n
    xs, ys = x[down], y[down]
    points = []
    after = 0
    for level in (0.75, 0.25):  # the first crossing of each, in that order
        k = np.flatnonzero((ys[:-1] >= level) & (ys[1:] < level))
        k = k[k >= after]
        if not k.size:
            return a.fillage
        j = after = int(k[0])
        f = (ys[j] - level) / (ys[j] - ys[j + 1])
        points.append((xs[j] + f * (xs[j + 1] - xs[j]), level))
    area = math.pi / 4.0 * d * d
    (x1, l1), (x2, l2) = points
    p1 = pd_abs - l1 * a.fluid_load / area
    p2 = pd_abs - l2 * a.fluid_load / area
    if p1 <= 0.0 or p2 <= p1:
        return a.fillage
    lam = -(p2 * x2 - p1 * x1) / (p1 - p2)
    return float(min(max(lam, 0.0), a.fillage))


def _longest_run_start(mask: np.ndarray) -> int | None:
    """Index where the longest run of True begins (the earliest of equal runs)."""
    if not mask.any():
        return None
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    return int(starts[np.argmax(ends - starts)])


def fluid_load(*, plunger_diameter: Any, depth: Any, sg: Any) -> Number:
    """Fluid load on the plunger, lbf: Fo = 0.433 G · H · (π/4) D² ≈ 0.340 G D² H.

    `depth` is the net lift (ft, the working fluid level depth when the casing pressure
    is negligible), `plunger_diameter` in inches, `sg` the fluid's specific gravity.
    Source: API RP 11L, 5th ed. 2008, "Fo = 0.340 × G × D² × H".
    """
    d = v.positive("plunger_diameter", plunger_diameter)
    h = v.non_negative("depth", depth)
    g = v.non_negative("sg", sg)
    grad = WATER_DENSITY_LBM_FT3 / 144.0  # psi/ft of water
    res = grad * np.asarray(g) * np.asarray(h) * math.pi / 4.0 * np.asarray(d) ** 2
    return v.restore(res, d, h, g)


def pump_displacement(*, stroke: Any, spm: Any, plunger_diameter: Any) -> Number:
    """Theoretical pump displacement, bbl/d: PD = 0.1166 · S · N · D².

    S plunger stroke (in), N strokes/min, D plunger diameter (in).  The constant is
    (π/4) · 1440 min/d / 9702 in³/bbl = 0.11657 (API RP 11L, 5th ed. 2008).
    """
    s = v.non_negative("stroke", stroke)
    n = v.non_negative("spm", spm)
    d = v.positive("plunger_diameter", plunger_diameter)
    k = math.pi / 4.0 * _MIN_PER_DAY / _IN3_PER_BBL
    return v.restore(k * np.asarray(s) * np.asarray(n) * np.asarray(d) ** 2, s, n, d)
