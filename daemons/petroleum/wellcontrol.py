"""Well control: kill mud weight, circulating pressures, MAASP, influx gradient, kick
tolerance and the wait-and-weight kill sheet (drill-pipe pressure schedule by strokes).

Units: mud weights in ppg, depths in ft (TVD for pressure, MD along the string),
pressures in psi, volumes in bbl, capacities in bbl/ft, pump output in bbl/stroke.
The constant 0.052 psi/ft per ppg is the one on the IWCF and IADC WellSharp formula
sheets, so results match a hand-filled kill sheet.  Formulas and sources are collected in
docs/petroleum/wellcontrol.md.  These are the standard sheet calculations; they neither
replace the well's own approved kill procedure nor judge an actual kick.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from daemons.petroleum import _validate as v

Number = float | np.ndarray

# psi/ft per ppg, as on the IWCF Drilling Well Control formula sheet (12/231 = 0.051948).
K = 0.052


def formation_pressure(*, omw: Any, sidpp: Any, tvd: Any) -> Number:
    """Formation pressure, psi: P_f = 0.052 · OMW · TVD + SIDPP (IWCF formula sheet)."""
    omw = v.positive("omw", omw)
    sidpp = v.non_negative("sidpp", sidpp)
    tvd = v.positive("tvd", tvd)
    return v.restore(K * np.asarray(omw) * np.asarray(tvd) + np.asarray(sidpp),
                     omw, sidpp, tvd)


def kill_mud_weight(*, omw: Any, sidpp: Any, tvd: Any) -> Number:
    """Kill mud weight, ppg: KMW = OMW + SIDPP / (0.052 · TVD) (IWCF formula sheet).

    Not rounded: the sheet's usual practice of rounding up to the next 0.1 ppg is left to
    the caller (pass the rounded value to `kill_sheet(kmw=...)`).
    """
    omw = v.positive("omw", omw)
    sidpp = v.non_negative("sidpp", sidpp)
    tvd = v.positive("tvd", tvd)
    return v.restore(np.asarray(omw) + np.asarray(sidpp) / (K * np.asarray(tvd)),
                     omw, sidpp, tvd)


def initial_circulating_pressure(*, scr: Any, sidpp: Any) -> Number:
    """ICP, psi = slow circulating rate pressure + SIDPP (IWCF formula sheet)."""
    scr = v.non_negative("scr", scr)
    sidpp = v.non_negative("sidpp", sidpp)
    return v.restore(np.asarray(scr) + np.asarray(sidpp), scr, sidpp)


def final_circulating_pressure(*, scr: Any, kmw: Any, omw: Any) -> Number:
    """FCP, psi = SCR · KMW / OMW: friction scales with density (IWCF formula sheet)."""
    scr = v.non_negative("scr", scr)
    kmw = v.positive("kmw", kmw)
    omw = v.positive("omw", omw)
    return v.restore(np.asarray(scr) * np.asarray(kmw) / np.asarray(omw), scr, kmw, omw)


def maasp(*, lot_emw: Any, mw: Any, tvd_shoe: Any) -> Number:
    """Maximum allowable annular surface pressure, psi.

    MAASP = (LOT EMW − MW) · 0.052 · TVD_shoe (IWCF formula sheet); negative when the mud
    is already heavier than the shoe test, which the caller must treat as "no margin".
    """
    lot = v.positive("lot_emw", lot_emw)
    mw = v.positive("mw", mw)
    shoe = v.positive("tvd_shoe", tvd_shoe)
    return v.restore((np.asarray(lot) - np.asarray(mw)) * K * np.asarray(shoe), lot, mw, shoe)


def influx_height(
    *,
    pit_gain: Any,
    annular_capacity: Any,
    bha_length: float | None = None,
    annular_capacity_above: float | None = None,
) -> Number:
    """Height of the influx at the bottom of the hole, ft.

    H = pit gain / annular capacity around the BHA; when the gain overfills the BHA
    annulus (`bha_length` given), the rest sits around the drill pipe:
    H = L_BHA + (gain − L_BHA · C_BHA) / C_DP (IWCF / IADC formula sheets).
    """
    gain = np.asarray(v.non_negative("pit_gain", pit_gain))
    cap = np.asarray(v.positive("annular_capacity", annular_capacity))
    height = gain / cap
    if bha_length is not None:
        length = float(v.positive("bha_length", bha_length))
        if annular_capacity_above is None:
            raise ValueError("annular_capacity_above: needed with bha_length")
        above = float(v.positive("annular_capacity_above", annular_capacity_above))
        around_bha = length * cap
        height = np.where(gain <= around_bha, height, length + (gain - around_bha) / above)
    return v.restore(height, pit_gain, annular_capacity)


def influx_gradient(
    *, mw: Any, sicp: Any, sidpp: Any, pit_gain: Any, annular_capacity: Any
) -> Number:
    """Influx gradient, psi/ft: G_i = 0.052 · MW − (SICP − SIDPP) / H (IWCF formula sheet).

    H is `influx_height(pit_gain, annular_capacity)`.  Typically about 0.1 psi/ft for gas
    and 0.4-0.5 for salt water; the gradient is only as good as the pit-gain reading.
    """
    mw = v.positive("mw", mw)
    sicp = v.non_negative("sicp", sicp)
    sidpp = v.non_negative("sidpp", sidpp)
    h = np.asarray(influx_height(pit_gain=v.positive("pit_gain", pit_gain),
                                 annular_capacity=annular_capacity))
    grad = K * np.asarray(mw) - (np.asarray(sicp) - np.asarray(sidpp)) / h
    if (grad < 0).any():
        raise ValueError("sicp: SICP − SIDPP is more than the mud the influx displaced could "
                         "explain (negative influx gradient); check pit_gain and "
                         "annular_capacity")
    return v.restore(grad, mw, sicp, sidpp, pit_gain, annular_capacity)


@dataclass(frozen=True, slots=True)
class KickTolerance:
    """Kick tolerance: the largest influx (bbl, at bottom-hole conditions) that can be shut
    in and circulated out without fracturing the shoe, and what limits it."""

    volume: float  # bbl at bottom-hole conditions (the smaller of the two cases)
    max_height: float  # ft, tallest influx the shoe allows
    volume_at_bottom: float  # bbl, case 1: the influx just shut in around the BHA
    volume_at_shoe: float  # bbl at bottom-hole pressure, case 2: influx top at the shoe
    limited_by: str  # "bottom" or "shoe"


def kick_tolerance(
    *,
    lot_emw: float,
    mw: float,
    tvd_shoe: float,
    tvd: float,
    kick_intensity: float,
    influx_gradient: float,
    annular_capacity_bottom: float,
    annular_capacity_shoe: float,
    safety_margin: float = 0.0,
) -> KickTolerance:
    """Kick tolerance by the two-case method (influx at the bottom; influx at the shoe), as in
    K.P. Redmann Jr., "Understanding Kick Tolerance and Its Significance in Drilling
    Planning and Execution", SPE Drilling Engineering, and the IWCF / IADC courses.

    With formation pressure P_f = 0.052 (MW + KI) TVD held at the bottom while
    circulating, the shoe sees P_f − G_m (TVD − TVD_shoe − H) − G_i H for an influx of
    height H below it.  The shoe allows P_shoe = 0.052 · LOT · TVD_shoe − margin, so
        H_max = (P_shoe − P_f + G_m (TVD − TVD_shoe)) / (G_m − G_i).
    Case 1 (just shut in, influx around the BHA): V₁ = H_max · C_bottom.  Case 2 (influx
    top at the shoe, expanded): V₂ = H_max · C_shoe · P_shoe / P_f, brought back to
    bottom-hole pressure by Boyle's law (temperature and z ignored).  Kick tolerance =
    min(V₁, V₂), zero when the shoe cannot take even the kick intensity.
    """
    lot = float(v.positive("lot_emw", lot_emw))
    mw_f = float(v.positive("mw", mw))
    shoe = float(v.positive("tvd_shoe", tvd_shoe))
    depth = float(v.positive("tvd", tvd))
    ki = float(v.non_negative("kick_intensity", kick_intensity))
    g_i = float(v.non_negative("influx_gradient", influx_gradient))
    c_bot = float(v.positive("annular_capacity_bottom", annular_capacity_bottom))
    c_shoe = float(v.positive("annular_capacity_shoe", annular_capacity_shoe))
    margin = float(v.non_negative("safety_margin", safety_margin))
    if shoe > depth:
        raise ValueError("tvd_shoe: the shoe must not be deeper than the hole (tvd)")
    g_m = K * mw_f
    if g_i >= g_m:
        raise ValueError("influx_gradient: must be lighter than the mud to use this method")
    p_form = K * (mw_f + ki) * depth
    p_shoe = K * lot * shoe - margin
    h_max = max(0.0, (p_shoe - p_form + g_m * (depth - shoe)) / (g_m - g_i))
    v1 = h_max * c_bot
    v2 = h_max * c_shoe * p_shoe / p_form if h_max > 0 else 0.0
    limited = "bottom" if v1 <= v2 else "shoe"
    return KickTolerance(min(v1, v2), h_max, v1, v2, limited)


@dataclass(frozen=True, slots=True)
class KillSheet:
    """Wait-and-weight kill sheet: pressures and the drill-pipe pressure schedule."""

    kmw: float  # ppg
    icp: float  # psi
    fcp: float  # psi
    strokes_to_bit: float
    strokes: np.ndarray  # schedule points, 0 … strokes_to_bit
    pressure: np.ndarray  # psi, drill-pipe pressure to hold at each point

    @property
    def pressure_drop_per_100_strokes(self) -> float:
        """(ICP − FCP) per 100 strokes: the vertical-well sheet's single slope."""
        return (self.icp - self.fcp) / self.strokes_to_bit * 100.0

    def pressure_at(self, strokes: Any) -> Number:
        """Drill-pipe pressure to hold after `strokes` (FCP once kill mud is at the bit)."""
        s = v.non_negative("strokes", strokes)
        return v.restore(np.interp(s, self.strokes, self.pressure), s)


def _sections(drillstring: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    lengths, caps = [], []
    for k, sec in enumerate(drillstring):
        if isinstance(sec, Mapping):
            pair = (sec.get("length_ft"), sec.get("capacity_bbl_ft"))
        else:
            try:
                pair = tuple(sec)
            except TypeError as exc:
                raise ValueError(f"drillstring: section {k} is not (length, capacity)") from exc
        if len(pair) != 2 or pair[0] is None or pair[1] is None:
            raise ValueError(f"drillstring: section {k} needs (length_ft, capacity_bbl_ft)")
        lengths.append(v.positive(f"drillstring[{k}].length_ft", pair[0]))
        caps.append(v.positive(f"drillstring[{k}].capacity_bbl_ft", pair[1]))
    if not lengths:
        raise ValueError("drillstring: needs at least one section")
    return np.array(lengths, dtype=float), np.array(caps, dtype=float)


def kill_sheet(
    *,
    omw: float,
    sidpp: float,
    tvd: float,
    scr: float,
    pump_output: float,
    drillstring: Iterable[Any],
    kmw: float | None = None,
    survey: Any = None,
    step: float = 100.0,
) -> KillSheet:
    """Wait-and-weight kill sheet (IWCF surface-BOP kill sheet, vertical or deviated).

    `drillstring`: sections top first, each (length_ft, capacity_bbl_ft) or a mapping
    with those keys; the bit is at their total length (MD).  `pump_output` bbl/stroke,
    `scr` the slow-circulating-rate pressure at the kill rate, `kmw` an override (e.g.
    rounded up); default `kill_mud_weight`.  `step` strokes between schedule points.

    Without `survey` the schedule is the vertical-well sheet's straight line from ICP at
    0 strokes to FCP at the bit.  With `survey` (rows of MD ft, TVD ft, covering the bit)
    it is the deviated-well sheet, evaluated at every step: with kill mud down to MD m
    (from strokes and the section capacities) at TVD h(m),
        P(m) = SCR + (FCP − SCR) · m / MD_bit + SIDPP − 0.052 (KMW − OMW) · h(m),
    i.e. the IWCF formula for the pressure at KOP and EOB applied everywhere; it keeps
    bottom-hole pressure at formation pressure where the straight line would overshoot
    (SPE-36380-MS, 1996 IADC/SPE Asia Pacific Drilling Technology conference, on why a
    straight-line schedule over-pressures deviated and horizontal wells).  TVD between
    survey stations is interpolated linearly in MD; the schedule gets extra points at the
    survey stations and the ends of string sections, where its slope changes.
    """
    omw_f = float(v.positive("omw", omw))
    sidpp_f = float(v.non_negative("sidpp", sidpp))
    tvd_f = float(v.positive("tvd", tvd))
    scr_f = float(v.non_negative("scr", scr))
    out = float(v.positive("pump_output", pump_output))
    stp = float(v.positive("step", step))
    lengths, caps = _sections(drillstring)
    kmw_f = (float(kill_mud_weight(omw=omw_f, sidpp=sidpp_f, tvd=tvd_f)) if kmw is None
             else float(v.positive("kmw", kmw)))
    if kmw_f < omw_f:
        raise ValueError("kmw: must not be lighter than the original mud weight (omw)")
    icp = scr_f + sidpp_f
    fcp = scr_f * kmw_f / omw_f
    md_edges = np.concatenate([[0.0], np.cumsum(lengths)])
    stroke_edges = np.concatenate([[0.0], np.cumsum(lengths * caps)]) / out
    s_bit = float(stroke_edges[-1])
    strokes = np.append(np.arange(0.0, s_bit, stp), s_bit)

    if survey is None:
        pressure = icp + (fcp - icp) * strokes / s_bit
    else:
        arr = np.asarray(v.finite("survey", survey), dtype=float)
        if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 2:
            raise ValueError("survey: needs rows of (MD ft, TVD ft), at least 2")
        if (np.diff(arr[:, 0]) <= 0).any() or (np.diff(arr[:, 1]) < 0).any():
            raise ValueError("survey: MD must increase and TVD must not decrease")
        md_bit = float(md_edges[-1])
        if arr[-1, 0] < md_bit - 1e-6 or arr[0, 0] > 0.0:
            raise ValueError("survey: must cover the string from surface to the bit MD")
        tvd_bit = float(np.interp(md_bit, arr[:, 0], arr[:, 1]))
        if abs(tvd_bit - tvd_f) > max(1.0, 1e-3 * tvd_f):
            raise ValueError(f"tvd: {tvd_f:g} ft does not match the survey's TVD at the bit "
                             f"({tvd_bit:g} ft)")
        # Break points where the schedule bends (survey stations, section ends), so that
        # the sheet is exact between points, as the IWCF sheet's KOP and EOB rows are.
        stations = np.interp(arr[:, 0], md_edges, stroke_edges)
        extra = np.concatenate([stations, stroke_edges])
        strokes = np.union1d(strokes, extra[(extra > 0.0) & (extra < s_bit)])
        md_filled = np.interp(strokes, stroke_edges, md_edges)
        tvd_filled = np.interp(md_filled, arr[:, 0], arr[:, 1])
        pressure = (scr_f + (fcp - scr_f) * md_filled / md_bit + sidpp_f
                    - K * (kmw_f - omw_f) * tvd_filled)
    return KillSheet(kmw_f, icp, fcp, s_bit, strokes, pressure)
