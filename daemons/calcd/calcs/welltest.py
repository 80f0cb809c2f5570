"""Well tests on a test separator: a state machine per flowing well (idle, purging,
stabilising, testing, done), stabilisation detected from the data, the test's average
rates and ratios, inflow figures with a bottom-hole pressure, and a durable record of
every completed test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from daemons.calcd import quality as qm
from daemons.calcd.batch import Batch
from daemons.calcd.model import CalcDef, Calculation, Code, Input, Output, Param
from daemons.petroleum.inflow import composite_aof, productivity_index, vogel_qmax

IDLE, PURGING, STABILISING, TESTING, DONE = 0, 1, 2, 3, 4
STATES = (Code(IDLE, "idle", "not on test", "fuera de prueba"),
          Code(PURGING, "purging", "switched to the separator: displacing the last well's "
               "fluids", "desplazando los fluidos del pozo anterior"),
          Code(STABILISING, "stabilising", "waiting for the rates to settle",
               "esperando que las tasas se estabilicen"),
          Code(TESTING, "testing", "measuring", "midiendo"),
          Code(DONE, "done", "test complete: results published", "prueba completa"))
RATES = ("oil", "water", "gas")
ROLES = {"oil": "test_oil_rate", "water": "test_water_rate", "gas": "test_gas_rate"}
API_RP_19G = "API MPMS ch. 20.1 (allocation measurement) practice"


@dataclass
class Test:
    """One well's test in progress (durable)."""

    state: int = IDLE
    switched_ns: int = 0
    start_ns: int = 0
    last_ns: int = 0
    minute: int = -1
    acc: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])  # sums + n
    window: list[list[float]] = field(default_factory=list)  # minute means [oil,water,gas]
    seconds: float = 0.0  # time integrated while testing
    sums: list[float] = field(default_factory=lambda: [0.0] * 3)  # rate × s
    sq: list[float] = field(default_factory=lambda: [0.0] * 3)  # rate² × s
    lo: list[float] = field(default_factory=lambda: [math.inf] * 3)
    hi: list[float] = field(default_factory=lambda: [-math.inf] * 3)
    n: int = 0
    pwf_sum: float = 0.0
    pwf_s: float = 0.0
    result: dict[str, float] = field(default_factory=dict)


OUT = {"TEST_OIL_RATE": ("bbl/d", "oil rate of the test", "tasa de petróleo de la prueba"),
       "TEST_WATER_RATE": ("bbl/d", "water rate of the test", "tasa de agua de la prueba"),
       "TEST_GAS_RATE": ("Mscf/d", "gas rate of the test", "tasa de gas de la prueba"),
       "TEST_GOR": ("scf/bbl", "gas-oil ratio of the test", "relación gas-petróleo"),
       "TEST_WATER_CUT": ("%", "water cut of the test", "corte de agua de la prueba"),
       "TEST_DURATION": ("h", "test duration (stabilised part)", "duración de la prueba")}
INFLOW = {"PI": ("bbl/d/psi", "productivity index", "índice de productividad",
                 "liquid rate / (reservoir pressure − test pwf)",
                 "Craft & Hawkins (1991) ch. 7; daemons.petroleum.inflow"),
          "VOGEL_QMAX": ("bbl/d", "Vogel maximum rate", "caudal máximo de Vogel",
                         "liquid rate / (1 − 0.2 pwf/pr − 0.8 (pwf/pr)²)",
                         "Vogel, JPT Jan. 1968; daemons.petroleum.inflow"),
          "AOF": ("bbl/d", "absolute open flow", "flujo abierto absoluto",
                  "composite PI/Vogel IPR at pwf = 0 with the configured bubble point; "
                  "Vogel's qmax without one",
                  "Guo, Liu & Tan (2017) eq. 3.63; daemons.petroleum.inflow")}


class WellTest(Calculation):
    DEF = CalcDef(
        "flowing.well_test", "flowing", "test", "Well test on the test separator",
        "Prueba de pozo en el separador de prueba",
        inputs=(Input("header_valve_test"),
                Input("test_oil_rate", site=True), Input("test_water_rate", site=True),
                Input("test_gas_rate", site=True),
                Input("bottomhole_pressure", required=False), Input("thp", required=False)),
        params=(Param("test_purge_min", default=10.0), Param("test_window_min", default=20.0),
                Param("test_tolerance_pct", default=5.0),
                Param("test_min_duration_min", default=60.0),
                Param("test_duration_min", default=240.0),
                Param("reservoir_pressure_psi", required=False),
                Param("bubble_point_psi", required=False)),
        outputs=(Output("TEST_STATE", "", "code", "well test state", "estado de la prueba",
                        "on test while the header's test valve is open; purging for "
                        "`test_purge_min`, then stabilising until every rate's minute means "
                        "over `test_window_min` stay within `test_tolerance_pct` (spread and "
                        "drift between the window's halves), then testing until the valve "
                        "closes or `test_duration_min`", API_RP_19G, codes=STATES),
                 *(Output(k, u, "number", en, es,
                          "time-weighted average of the separator's meter over the test "
                          "(GOR = gas/oil, water cut = water/(oil+water))", API_RP_19G)
                   for k, (u, en, es) in OUT.items()),
                 *(Output(k, u, "number", en, es, m, s)
                   for k, (u, en, es, m, s) in INFLOW.items())))

    def __init__(self, wells: tuple[str, ...]) -> None:
        super().__init__(wells)
        self.tests = [Test() for _ in wells]

    def compute(self, b: Batch) -> None:
        valve = b.usable("header_valve_test") & (b.value("header_valve_test") > 0.5)
        commingled = int(valve.sum()) > 1  # two wells into one separator: no test
        rates = np.stack([b.value(ROLES[r]) for r in RATES])
        ok = np.logical_and.reduce([b.usable(ROLES[r]) for r in RATES])
        state = np.zeros(b.n)
        for i, t in enumerate(self.tests):
            if valve[i] and t.state == IDLE:  # switched to the separator: a new test
                self.tests[i] = Test(state=PURGING, switched_ns=b.now_ns, last_ns=b.now_ns,
                                     result=t.result)
            elif valve[i] or t.state != IDLE:
                self._step(b, i, t, bool(valve[i]), commingled, rates[:, i], bool(ok[i]))
            state[i] = self.tests[i].state
        b.set("TEST_STATE", state, b.quality("header_valve_test"))
        self._publish(b)

    def _step(self, b: Batch, i: int, t: Test, on: bool, commingled: bool,
              rate: np.ndarray, ok: bool) -> None:
        now = b.now_ns
        dt = 0.0 if not t.last_ns else min(max((now - t.last_ns) / 1e9, 0.0), 60.0)
        t.last_ns = now
        if not on:
            if t.state == TESTING:
                self._finish(b, i, t)
            t.state = IDLE
            return
        if t.state == DONE:
            return
        if commingled:
            t.state = PURGING
            t.window = []
            return
        if t.state == PURGING and now - t.switched_ns >= b.param("test_purge_min")[i] * 6e10:
            t.state = STABILISING
        if t.state == STABILISING and ok:
            self._watch(b, i, t, rate)
        elif t.state == TESTING and ok:
            self._accumulate(b, i, t, rate, dt)
            if t.seconds >= b.param("test_duration_min")[i] * 60.0:
                self._finish(b, i, t)

    def _watch(self, b: Batch, i: int, t: Test, rate: np.ndarray) -> None:
        minute = int(b.now_ns // 60_000_000_000)
        if t.minute != minute:
            if t.acc[3] > 0 and t.minute >= 0:
                t.window.append([t.acc[k] / t.acc[3] for k in range(3)])
                t.window = t.window[-int(b.param("test_window_min")[i]):]
                if self._stable(b, i, np.array(t.window)):
                    t.state, t.start_ns = TESTING, b.now_ns
            t.minute, t.acc = minute, [0.0, 0.0, 0.0, 0.0]
        for k in range(3):
            t.acc[k] += float(rate[k])
        t.acc[3] += 1.0

    @staticmethod
    def _stable(b: Batch, i: int, w: np.ndarray) -> bool:
        """Rates settled: over the window, each rate's minute means spread (max − min)
        and drift (difference of the halves' means) within the tolerance of its mean; a
        rate below 2 % of the liquid counts against the liquid (a dry well's water)."""
        if len(w) < int(b.param("test_window_min")[i]):
            return False
        tol = b.param("test_tolerance_pct")[i] / 100.0
        mean = w.mean(axis=0)
        floor = 0.02 * max(mean[0] + mean[1], 1e-9)
        scale = np.maximum(mean, [floor, floor, 1e-9])
        half = len(w) // 2
        drift = np.abs(w[half:].mean(axis=0) - w[:half].mean(axis=0))
        spread = w.max(axis=0) - w.min(axis=0)
        return bool(np.all(drift <= tol * scale) and np.all(spread <= 2.0 * tol * scale))

    def _accumulate(self, b: Batch, i: int, t: Test, rate: np.ndarray, dt: float) -> None:
        if dt <= 0:
            return
        t.seconds += dt
        t.n += 1
        for k in range(3):
            x = float(rate[k])
            t.sums[k] += x * dt
            t.sq[k] += x * x * dt
            t.lo[k], t.hi[k] = min(t.lo[k], x), max(t.hi[k], x)
        if b.usable("bottomhole_pressure")[i]:
            t.pwf_sum += float(b.value("bottomhole_pressure")[i]) * dt
            t.pwf_s += dt

    def _finish(self, b: Batch, i: int, t: Test) -> None:
        """End of a test: results, inflow figures, the durable record; then `done`."""
        end = b.now_ns
        if t.seconds <= 0:
            t.state = IDLE
            return
        oil, water, gas = (t.sums[k] / t.seconds for k in range(3))
        liquid = oil + water
        res = {"TEST_OIL_RATE": oil, "TEST_WATER_RATE": water, "TEST_GAS_RATE": gas,
               "TEST_GOR": gas * 1000.0 / oil if oil > 0 else math.nan,
               "TEST_WATER_CUT": 100.0 * water / liquid if liquid > 0 else math.nan,
               "TEST_DURATION": t.seconds / 3600.0}
        pr, pb = b.param("reservoir_pressure_psi")[i], b.param("bubble_point_psi")[i]
        pwf = t.pwf_sum / t.pwf_s if t.pwf_s > 0 else math.nan
        if math.isfinite(pr) and math.isfinite(pwf) and 0 <= pwf < pr and liquid > 0:
            j = float(productivity_index(q=liquid, p_res=pr, pwf=pwf))
            qmax = float(vogel_qmax(q_test=liquid, pwf_test=pwf, p_res=pr))
            res.update(PI=j, VOGEL_QMAX=qmax, AOF=float(composite_aof(p_res=pr, pb=pb, j=j))
                       if math.isfinite(pb) else qmax)
        complete = t.seconds >= b.param("test_min_duration_min")[i] * 60.0
        t.result = res if complete else t.result
        t.state = DONE if complete else IDLE
        store = self.services.get("welltests")
        if store is not None:
            stats = {r: {"mean": t.sums[k] / t.seconds,
                         "std": math.sqrt(max(t.sq[k] / t.seconds
                                              - (t.sums[k] / t.seconds) ** 2, 0.0)),
                         "min": t.lo[k], "max": t.hi[k]} for k, r in enumerate(RATES)}
            store.record(well=self.wells[i], start_ns=t.start_ns, end_ns=end,
                         switched_ns=t.switched_ns, status="complete" if complete else "short",
                         rates={"oil_bpd": oil, "water_bpd": water, "gas_mscfd": gas,
                                "liquid_bpd": liquid, "gor_scf_stb": res["TEST_GOR"],
                                "water_cut_pct": res["TEST_WATER_CUT"]},
                         duration_h=t.seconds / 3600.0, samples=t.n, stats=stats,
                         extra={k: v for k, v in res.items() if k in INFLOW}
                         | ({"pwf_psi": pwf} if math.isfinite(pwf) else {}),
                         recorded_ns=end)

    def _publish(self, b: Batch) -> None:
        names = [*OUT, *INFLOW]
        values = np.array([[t.result.get(k, math.nan) for k in names] for t in self.tests])
        have = np.array([bool(t.result) for t in self.tests])
        good = np.full(b.n, qm.GOOD)
        for k, name in enumerate(names):
            b.set(name, values[:, k], good, where=have)

    def export_state(self) -> dict[str, dict[str, Any]]:
        # infinities and NaN become null in the state store; import_state restores them
        return {w: asdict(t) for w, t in zip(self.wells, self.tests, strict=True)}

    def import_state(self, state: Mapping[str, Mapping[str, Any]]) -> None:
        for i, w in enumerate(self.wells):
            s = state.get(w)
            if not s:
                continue
            t = Test(**{k: v for k, v in s.items() if k in Test.__dataclass_fields__})
            t.lo = [math.inf if x is None else float(x) for x in t.lo]
            t.hi = [-math.inf if x is None else float(x) for x in t.hi]
            t.result = {k: (math.nan if v is None else float(v)) for k, v in t.result.items()}
            self.tests[i] = t

