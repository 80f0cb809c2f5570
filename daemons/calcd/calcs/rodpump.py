"""Rod pump: per new dynamometer card, the downhole card, fillage, net stroke, fluid load,
inferred production, pump-off state, card diagnosis; every scan, run time and the
load-cell fallback (pump-off from motor power).
"""

from __future__ import annotations

import math
import zoneinfo
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np

from daemons.calcd import quality as qm
from daemons.calcd.batch import Batch
from daemons.calcd.calcs.card_diagnosis import CODES, ROD_PART, diagnose, features
from daemons.calcd.model import CalcDef, Calculation, Input, Output, Param
from daemons.core.quality import Quality
from daemons.petroleum.rodpump import (
    buoyant_rod_weight,
    downhole_card,
    fluid_load,
    liquid_fillage,
    pump_card_analysis,
    pump_displacement,
)

# Bad card qualities that are not the load cell's fault (see LOAD_CELL_FALLBACK).
_NOT_THE_SENSOR = np.array([Quality.BAD_WAITING_FOR_INITIAL_DATA, Quality.BAD_NO_COMMUNICATION,
                            Quality.BAD_NOT_CONNECTED, Quality.BAD_OUT_OF_SERVICE],
                           dtype=np.uint32)

GIBBS = "Gibbs, Rod Pumping (2012)"
CARD_SCALARS = ("FILLAGE", "PUMP_STROKE", "FLUID_LOAD", "PRODUCTION", "PEAK_LOAD", "MIN_LOAD",
                "CARD_DIAGNOSIS", "CARD_CONFIDENCE")
FLAT_CARD_FRACTION = 0.1  # a load card spanning less than this × expected Fo: no load cell
POWER_TAU_S = 60.0  # motor power averaged over about a minute (several strokes)
REF_TAU_S = 1800.0  # full-pump power reference, learnt while the load cell works


@dataclass
class WellState:
    seq_seen: float = math.nan
    seq_ns: int = 0  # timestamp of the card counter sample that changed
    pending: bool = True
    signature: float = math.nan  # content of the last card processed
    flat: bool = False  # the last card read had no load range (a dead load cell)
    spm_last: float = 0.0  # strokes per minute of the last stroke seen running
    strokes_seen: float = math.nan
    strokes_delta: float = 0.0  # strokes counted since the previous card
    low_strokes: float = 0.0
    pumped_off: bool = False
    power_avg: float = math.nan
    power_ref: float = math.nan  # kW per unit fillage, learnt while the load cell works
    fallback_low_s: float = 0.0
    last_ns: int = 0


OUTPUTS = (
    Output("PUMP_CARD_POSITION", "in", "array", "downhole (pump) card: plunger position",
           "carta de fondo: posición del pistón",
           "Gibbs' damped wave equation marched from the surface card down the tapered "
           "string (Everitt–Jennings finite differences)",
           "Gibbs, JPT July 1963; Everitt & Jennings, SPE 18189 (1992); "
           "daemons.petroleum.rodpump.downhole_card", length_from="surface_position_card"),
    Output("PUMP_CARD_LOAD", "lbf", "array", "downhole (pump) card: load net of buoyant rods",
           "carta de fondo: carga neta de la sarta flotada", "as PUMP_CARD_POSITION",
           "as PUMP_CARD_POSITION", length_from="surface_load_card"),
    Output("FILLAGE", "%", "number", "pump fillage (liquid)", "llenado de la bomba (líquido)",
           "liquid filling the plunger's swept volume: the load release of the pump card, "
           "corrected for free gas by Boyle's law on the downstroke's compression curve "
           "(discharge pressure = THP + 0.433 × SG × pump depth)",
           f"{GIBBS}; daemons.petroleum.rodpump.liquid_fillage"),
    Output("PUMP_STROKE", "in", "number", "net (effective) plunger stroke",
           "carrera neta del pistón", "fillage × gross plunger stroke of the pump card",
           GIBBS),
    Output("FLUID_LOAD", "lbf", "number", "fluid load on the plunger",
           "carga de fluido sobre el pistón",
           "upper minus lower load plateau of the pump card (plunger friction included: "
           "it adds to both plateaus' difference)", "API RP 11L (Fo)"),
    Output("PRODUCTION", "bbl/d", "number", "inferred production rate",
           "producción inferida",
           "net stroke × plunger area × spm × 1440/9702 × volumetric_factor; 0 while the "
           "unit is stopped", "API RP 11L; daemons.petroleum.rodpump.pump_displacement"),
    Output("PEAK_LOAD", "lbf", "number", "peak polished-rod load",
           "carga máxima en barra pulida", "maximum of the surface card", "surface card"),
    Output("MIN_LOAD", "lbf", "number", "minimum polished-rod load",
           "carga mínima en barra pulida", "minimum of the surface card", "surface card"),
    Output("PUMPED_OFF", "", "flag", "pumped off", "pozo achicado",
           "pump-off controller logic: fillage below `pump_off_fillage_pct` for "
           "`pump_off_strokes` consecutive strokes (strokes counted with the stroke "
           "counter when mapped); cleared by a card above the set point",
           "pump-off control practice, e.g. Gibbs (2012) ch. 11"),
    Output("CARD_DIAGNOSIS", "", "code", "pump card diagnosis", "diagnóstico de la carta",
           "shape features of the normalised pump card scored against the classic "
           "patterns (see the code table)", "Gibbs (2012) ch. 9; Eickmeier, JPT Jan. 1967",
           codes=CODES),
    Output("CARD_CONFIDENCE", "%", "number", "confidence of the card diagnosis",
           "confianza del diagnóstico", "score of the winning pattern (0-100)",
           "see CARD_DIAGNOSIS"),
    Output("LOAD_CELL_FALLBACK", "", "flag", "load cell failed: pump-off from motor power",
           "celda de carga fallida: achique por potencia del motor",
           "load card Bad or flat: PUMPED_OFF then follows the motor power averaged over a "
           "minute, taken as proportional to fillage with the kW per unit fillage learnt "
           "while the load cell worked",
           "motor-power pump-off control, e.g. Gibbs (2012) ch. 11"),
)


class RodPumpCard(Calculation):
    DEF = CalcDef(
        "rod_pump.card", "rod_pump", "card", "Rod pump card analysis",
        "Análisis de carta de bombeo mecánico",
        inputs=(Input("surface_position_card", array=True),
                Input("surface_load_card", array=True), Input("spm"),
                Input("card_sequence", required=False), Input("run_status", required=False),
                Input("stroke_count", required=False), Input("motor_power", required=False),
                Input("thp", required=False)),
        params=(Param("rod_string", text=True), Param("pump_depth_ft"),
                Param("plunger_diameter_in"), Param("fluid_sg", default=1.0),
                Param("damping", default=0.15), Param("pump_off_fillage_pct", default=75.0),
                Param("pump_off_strokes", default=3), Param("volumetric_factor", default=1.0),
                Param("tubing_anchored", default=True, text=True)),
        outputs=OUTPUTS)

    def __init__(self, wells: tuple[str, ...]) -> None:
        super().__init__(wells)
        self.st = [WellState() for _ in wells]
        self._rods: list[tuple] | None = None

    def _setup(self, b: Batch) -> None:
        self._rods = []
        for i, rods in enumerate(b.param("rod_string")):
            rods = tuple(rods)
            sg = float(b.param("fluid_sg")[i])
            weight = buoyant_rod_weight(rods=rods, fluid_sg=sg)
            depth = float(b.param("pump_depth_ft")[i])
            fo_max = float(fluid_load(plunger_diameter=float(b.param("plunger_diameter_in")[i]),
                                      depth=depth, sg=sg))
            self._rods.append((rods, weight, fo_max))

    def compute(self, b: Batch) -> None:
        if self._rods is None:
            self._setup(b)
        assert self._rods is not None
        n = b.n
        spm = b.value("spm")
        run = np.where(b.usable("run_status"), b.value("run_status") > 0.5,
                       np.nan_to_num(spm) > 0.5)
        seq_ok = b.usable("card_sequence")
        seq = b.value("card_sequence")
        seq_ts = b.ts("card_sequence")
        # a Bad load-card array (its slot's quality) or a flat last card: no load cell.
        # A card not read yet, or a controller that does not answer, says nothing about
        # the load cell (and the motor power would be as unreadable): no fallback then.
        card_q = b.quality("surface_load_card")
        fallback = ((qm.severity(card_q) >= 2)
                    & ~np.isin(card_q, _NOT_THE_SENSOR)).astype(float)
        self._strokes(b, run)  # first: a card's strokes include its own
        cards: dict[str, np.ndarray] = {k: np.full(n, math.nan) for k in CARD_SCALARS}
        q_cards = np.zeros(n, np.uint32)
        got = np.zeros(n, bool)
        per_cycle: dict[str, list] | None = None
        for i in range(n):
            st = self.st[i]
            if np.isfinite(spm[i]) and spm[i] > 0.5:
                st.spm_last = float(spm[i])
            if seq_ok[i] and seq[i] != st.seq_seen:
                st.seq_seen, st.seq_ns, st.pending = float(seq[i]), int(seq_ts[i]), True
            fallback[i] = max(fallback[i], float(st.flat))
            if seq_ok[i] and not st.pending:
                continue  # the arrays are read only when the counter says a card is new
            pos = b.array("surface_position_card", i)
            load = b.array("surface_load_card", i)
            if pos is None or load is None:
                continue
            # acqd rewrites the arrays at every poll: without a card counter a new card is
            # one whose content changed
            signature = float(np.nansum(load[0]) + 7.0 * np.nansum(pos[0]))
            if not seq_ok[i] and signature != st.signature:
                st.pending = True
            ready = (st.pending and min(pos[1], load[1]) >= st.seq_ns and pos[3] > 0
                     and load[3] > 0 and st.spm_last > 0)
            if not ready:
                continue
            if int(load[2]) in _NOT_THE_SENSOR:
                continue  # not read yet, or the controller is down: no card, no verdict
            st.pending = False
            st.signature = signature
            st.flat = qm.severity(np.array([load[2]]))[0] >= 2 or self._flat(load[0], i)
            fallback[i] = max(fallback[i], float(st.flat))
            if not st.flat:
                if per_cycle is None:  # what every card of this cycle needs, once
                    per_cycle = self._per_cycle(b)
                got[i] = True
                q_cards[i] = self._card(b, i, pos, load, st.spm_last, cards, per_cycle)
        for name, values in cards.items():
            b.set(name, values, q_cards, where=got)
        self._fallback(b, fallback, run)
        q_off = qm.worst(b.quality("spm"))
        b.set("PRODUCTION", 0.0, q_off, where=~run)
        b.set("LOAD_CELL_FALLBACK", fallback, b.quality("spm"))
        b.set("PUMPED_OFF", np.array([float(s.pumped_off) for s in self.st]),
              b.quality("spm"))

    def _flat(self, load: np.ndarray, i: int) -> bool:
        assert self._rods is not None
        span = float(np.nanmax(load) - np.nanmin(load)) if np.isfinite(load).any() else 0.0
        return span < FLAT_CARD_FRACTION * self._rods[i][2]

    @staticmethod
    def _per_cycle(b: Batch) -> dict[str, list]:
        thp = np.where(b.usable("thp"), b.value("thp"), 0.0)
        return {"discharge": list(thp + 0.433 * b.param("fluid_sg") * b.param("pump_depth_ft")),
                "q_spm": [int(q) for q in b.quality("spm")],
                **{k: [float(x) for x in b.param(k)] for k in (
                    "damping", "fluid_sg", "plunger_diameter_in", "volumetric_factor")}}

    def _card(self, b: Batch, i: int, pos: tuple, load: tuple, spm: float,
              cards: dict[str, np.ndarray], c: dict[str, list]) -> int:
        """One new card of well i: the pump card (published here), its scalar results
        (into `cards`), the pump-off count; returns the results' quality."""
        assert self._rods is not None
        rods, weight, fo_max = self._rods[i]
        surf_pos, surf_load = pos[0], load[0]
        q = qm.worst_code(pos[2], load[2], c["q_spm"][i])
        card = downhole_card(surface_position=surf_pos, surface_load=surf_load, spm=spm,
                             rods=rods, damping=c["damping"][i], fluid_sg=c["fluid_sg"][i])
        a = pump_card_analysis(pump_position=card.position, pump_load=card.load)
        ts = max(int(pos[1]), int(load[1]))
        b.set_array("PUMP_CARD_POSITION", i, card.position, q, ts)
        b.set_array("PUMP_CARD_LOAD", i, card.load, q, ts)
        fill = liquid_fillage(pump_position=card.position, pump_load=card.load,
                              plunger_diameter=c["plunger_diameter_in"][i],
                              discharge_pressure=c["discharge"][i], analysis=a)
        anchored = bool(b.param("tubing_anchored")[i])
        diag = diagnose(features(card.position, card.load, a, fo_max, weight, fill),
                        anchored=anchored)
        if diag.code == ROD_PART:  # nothing reaches the pump
            fill = 0.0
        net = fill * a.gross_stroke if math.isfinite(fill) else math.nan
        rate = float(pump_displacement(stroke=max(net, 0.0), spm=spm,
                                       plunger_diameter=c["plunger_diameter_in"][i])
                     ) * c["volumetric_factor"][i] if math.isfinite(net) else 0.0
        values = {"FILLAGE": 100.0 * fill if math.isfinite(fill) else math.nan,
                  "PUMP_STROKE": net, "FLUID_LOAD": a.fluid_load, "PRODUCTION": rate,
                  "PEAK_LOAD": float(np.max(surf_load)), "MIN_LOAD": float(np.min(surf_load)),
                  "CARD_DIAGNOSIS": float(diag.code),
                  "CARD_CONFIDENCE": 100.0 * diag.confidence}
        for name, value in values.items():
            cards[name][i] = value
        self._pump_off(b, i, 100.0 * fill if math.isfinite(fill) else 0.0)
        st = self.st[i]
        if math.isfinite(fill) and fill > 0.3 and math.isfinite(st.power_avg):
            # power per unit fillage while the load cell works: the fallback's yardstick
            ratio = st.power_avg / fill
            st.power_ref = ratio if not math.isfinite(st.power_ref) else \
                st.power_ref + 0.1 * (ratio - st.power_ref)
        return q

    def _pump_off(self, b: Batch, i: int, fill_pct: float) -> None:
        st = self.st[i]
        strokes = max(st.strokes_delta, 1.0)  # 1 per card without a stroke counter
        st.strokes_delta = 0.0
        if fill_pct < float(b.param("pump_off_fillage_pct")[i]):
            st.low_strokes += strokes
            if st.low_strokes >= float(b.param("pump_off_strokes")[i]):
                st.pumped_off = True
        else:
            st.low_strokes = 0.0
            st.pumped_off = False

    def _strokes(self, b: Batch, run: np.ndarray) -> None:
        """Strokes since the previous card, from the stroke counter when mapped."""
        ok = b.usable("stroke_count")
        count = b.value("stroke_count")
        for i, st in enumerate(self.st):
            if not ok[i]:
                continue
            if math.isfinite(st.strokes_seen) and count[i] >= st.strokes_seen:
                st.strokes_delta += float(count[i] - st.strokes_seen)
            st.strokes_seen = float(count[i])

    def _fallback(self, b: Batch, fallback: np.ndarray, run: np.ndarray) -> None:
        """Motor power averaged over about a minute; pump-off from it while the load cell
        is out (the power a pump uses falls with the liquid it lifts)."""
        ok = b.usable("motor_power")
        power = b.value("motor_power")
        spm = np.nan_to_num(b.value("spm"))
        for i, st in enumerate(self.st):
            dt = 1.0 if not st.last_ns else min(max((b.now_ns - st.last_ns) / 1e9, 0.0), 60.0)
            st.last_ns = b.now_ns
            if not ok[i] or not run[i]:
                continue
            a = 1.0 - math.exp(-dt / POWER_TAU_S)
            st.power_avg = float(power[i]) if not math.isfinite(st.power_avg) else \
                st.power_avg + a * (float(power[i]) - st.power_avg)
            if fallback[i] and math.isfinite(st.power_ref) and st.power_ref > 0:
                fill = 100.0 * st.power_avg / st.power_ref
                if fill < float(b.param("pump_off_fillage_pct")[i]):
                    st.fallback_low_s += dt
                    strokes = st.fallback_low_s * spm[i] / 60.0
                    st.pumped_off = strokes >= float(b.param("pump_off_strokes")[i])
                else:
                    st.fallback_low_s = 0.0
                    st.pumped_off = False

    def export_state(self) -> dict[str, dict[str, Any]]:
        return {w: asdict(s) for w, s in zip(self.wells, self.st, strict=True)}

    def import_state(self, state: Mapping[str, Mapping[str, Any]]) -> None:
        for i, w in enumerate(self.wells):
            saved = state.get(w)
            if not saved:
                continue
            s = self.st[i]
            for k in ("low_strokes", "pumped_off", "power_ref", "spm_last",
                      "fallback_low_s", "strokes_seen", "strokes_delta", "seq_seen",
                      "signature"):
                if k in saved and saved[k] is not None:
                    setattr(s, k, type(getattr(s, k))(saved[k]))


class RodPumpRuntime(Calculation):
    DEF = CalcDef(
        "rod_pump.runtime", "rod_pump", "scan", "Rod pump run time", "Tiempo de operación",
        inputs=(Input("runtime_today", required=False), Input("run_status", required=False),
                Input("spm", required=False)),
        params=(),
        outputs=(Output("RUNTIME_PCT", "%", "number", "run time today",
                        "tiempo de operación hoy",
                        "the controller's run time today / hours since local midnight when "
                        "mapped; else the time calcd saw the unit running since local "
                        "midnight / the time it watched (running: run status, else spm > 0)",
                        "definition (site time zone from [gateway] timezone)"),))

    def __init__(self, wells: tuple[str, ...]) -> None:
        super().__init__(wells)
        n = len(wells)
        self.day = ""
        self.run_s = np.zeros(n)
        self.seen_s = np.zeros(n)
        self.last_ns = 0

    def compute(self, b: Batch) -> None:
        tz = zoneinfo.ZoneInfo(self.services.get("timezone", "UTC") or "UTC")
        local = datetime.fromtimestamp(b.now_ns / 1e9, tz)
        day = local.date().isoformat()
        if day != self.day:
            self.day = day
            self.run_s[:] = 0.0
            self.seen_s[:] = 0.0
            self.last_ns = 0
        since = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        dt = 0.0 if not self.last_ns else min(max((b.now_ns - self.last_ns) / 1e9, 0.0), 10.0)
        self.last_ns = b.now_ns
        running = np.where(b.usable("run_status"), b.value("run_status") > 0.5,
                           np.nan_to_num(b.value("spm")) > 0.5)
        known = b.usable("run_status") | b.usable("spm")
        self.seen_s += np.where(known, dt, 0.0)
        self.run_s += np.where(known & running, dt, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            own = 100.0 * self.run_s / self.seen_s
            ctrl = 100.0 * b.value("runtime_today") * 3600.0 / max(since, 1.0)
        use_ctrl = b.usable("runtime_today")
        pct = np.clip(np.where(use_ctrl, ctrl, own), 0.0, 100.0)
        q = np.where(use_ctrl, b.quality("runtime_today"),
                     np.where(b.usable("run_status"), b.quality("run_status"),
                              b.quality("spm")))
        b.set("RUNTIME_PCT", pct, q)

    def export_state(self) -> dict[str, dict[str, Any]]:
        return {w: {"day": self.day, "run_s": float(self.run_s[i]),
                    "seen_s": float(self.seen_s[i])} for i, w in enumerate(self.wells)}

    def import_state(self, state: Mapping[str, Mapping[str, Any]]) -> None:
        for i, w in enumerate(self.wells):
            s = state.get(w)
            if s and s.get("day"):
                self.day = str(s["day"])
                self.run_s[i] = float(s.get("run_s") or 0.0)
                self.seen_s[i] = float(s.get("seen_s") or 0.0)
