"""calcd as a real process: results in calc.ring and calc-history.db, quality from a dead
device, missing inputs reported once, SIGHUP reload keeping state, clean stop."""

from __future__ import annotations

import json
import signal
import time

import pytest

from daemons.core.history.reader import HistoryReader, default_paths
from daemons.core.quality import Quality, detail, severity
from daemons.core.ring import RingDirectory

pytestmark = pytest.mark.timeout(120)


def good(snap, name):
    value, _ts, q = snap.get(name)
    return value if severity(q) == "good" else None


@pytest.fixture(scope="module")
def running(calc_site):
    calc_site.start("acqd")
    calc_site.start("calcd")
    snap = calc_site.wait(lambda s: s if good(s, "W102.CALC.FLOW") else None, timeout=30)
    assert snap is not None, calc_site.log() + calc_site.log("acqd")
    return calc_site


def test_results_are_tags_with_units_quality_and_tick_timestamps(running):
    snap = running.wait(lambda s: s if good(s, "W102.CALC.INTAKE_PRESSURE") else None)
    i = snap.index["W102.CALC.FLOW"]
    assert snap.units[i] == "bbl/d"
    value, ts, q = snap.get("W102.CALC.FLOW")
    assert q == Quality.GOOD and ts % 1_000_000_000 == 0
    truth = json.loads((running.root / "sim" / "sim-truth.json").read_text())
    esp = truth["devices"]["vsd1"]["truth"]
    assert value == pytest.approx(esp["liquid_rate_bbl_d"], rel=0.10)
    pip = snap.get("W102.CALC.INTAKE_PRESSURE")[0]
    assert pip == pytest.approx(esp["intake_pressure_psi"], rel=0.05)
    margin = running.wait(lambda s: good(s, "W101.CALC.ANN_B_MARGIN"))
    assert 0 < margin < 900
    # `wellgate tags` sees them like any measured tag
    out = running.cli("tags", "W102.CALC.*", "--json")
    assert out.returncode == 0, out.stderr
    names = {r["tag"] for r in json.loads(out.stdout)}
    assert {"W102.CALC.FLOW", "W102.CALC.ESP_CONDITION"} <= names


def test_rod_pump_cards_through_the_ring(running):
    # the card arrays come through acqd's ring (slow scan, 10 s) with the card counter
    snap = running.wait(lambda s: s if good(s, "W101.CALC.FILLAGE") else None, timeout=40)
    assert snap is not None, running.log()
    truth = json.loads((running.root / "sim" / "sim-truth.json").read_text())
    rpc = truth["devices"]["rpc1"]["truth"]
    assert snap.get("W101.CALC.FILLAGE")[0] == pytest.approx(100 * rpc["fillage"], abs=8)
    # The scalar can be read a cycle before the card (a ring relaid out after a tag-map
    # load starts with no card until calcd's next cycle): wait for a written one.
    deadline = time.monotonic() + 30
    with RingDirectory(running.root / "run") as rings:
        while True:
            card, _ts, q, seq = rings.array("W101.CALC.PUMP_CARD_LOAD")
            if seq >= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert len(card) == 200 and q == Quality.GOOD and seq >= 1
    assert 0 <= snap.get("W101.CALC.CARD_DIAGNOSIS")[0] <= 9


def test_missing_inputs_are_reported_once_and_only_their_results_stop(running):
    # W102 has no fluid-level role but its gauge makes INTAKE_PRESSURE; W103's gas-lift
    # controller is not installed here: the well's annulus results still run.
    snap = running.wait(lambda s: s if good(s, "W103.CALC.ANN_A_MARGIN") else None)
    assert snap is not None
    log = [json.loads(line) for line in running.log().splitlines() if line.startswith("{")]
    stops = [e for e in log if e.get("event") == "calculation stopped: missing input"]
    keys = [(e["well"], e["calc"], e["missing"]) for e in stops]
    assert len(keys) == len(set(keys)), "a problem was reported twice"
    assert ("W103", "integrity.annulus_a", "annulus_a_pressure") not in keys
    assert severity(snap.get("W103.CALC.ANN_A_MARGIN")[2]) == "good"


def test_bad_input_makes_bad_results(running):
    sim = running.sim
    sim.call(sim.sim.fault("vsd1", "drop"))
    try:
        snap = running.wait(lambda s: s if severity(s.get("W102.CALC.FLOW")[2]) == "bad"
                            else None, timeout=20)
        assert snap is not None
        assert detail(snap.get("W102.CALC.FLOW")[2]) == "no-communication"
        assert severity(snap.get("W101.CALC.ANN_A_MARGIN")[2]) == "good"
    finally:
        sim.call(sim.sim.clear("vsd1"))
    assert running.wait(lambda s: good(s, "W102.CALC.FLOW"), timeout=20)


def test_history_keeps_results(running):
    time.sleep(2.5)  # the history flushes every second in this configuration
    with HistoryReader(default_paths(running.root / "state")) as r:
        ts, values, _q = r.raw("W102.CALC.FLOW", 0, time.time_ns())
    assert len(ts) >= 2 and values[-1] > 0


def test_sighup_reload_then_clean_stop_saves_state(running):
    pid_before = running.procs["calcd"].pid
    running.signal("calcd", signal.SIGHUP)
    time.sleep(2.0)
    assert running.procs["calcd"].poll() is None, running.log()
    assert running.procs["calcd"].pid == pid_before
    assert running.wait(lambda s: good(s, "W102.CALC.FLOW"))
    assert '"reloaded"' in running.log() or "reloaded" in running.log()
    assert running.stop("calcd") == 0, running.log()
    assert (running.root / "state" / "calc-state.db").is_file()


def test_cli_lists_the_catalogue_and_the_well_tests(running):
    out = running.cli("calcs", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    flow = next(r for r in rows if r["name"] == "FLOW" and r["well_type"] == "esp")
    assert flow["units"] == "bbl/d" and flow["source"] and flow["method"]
    text = running.cli("calcs")
    assert "INTAKE_PRESSURE" in text.stdout
    tests = running.cli("welltests", "--json")
    assert tests.returncode == 0, tests.stderr
    assert json.loads(tests.stdout) == []
