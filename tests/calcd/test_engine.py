"""The engine without processes: binding by role, quality propagation, missing inputs and
parameters, durable state through calc-state.db, and the catalogue page."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import numpy as np
import pytest

from daemons.calcd import catalogue
from daemons.calcd.batch import Frame
from daemons.calcd.calcs.integrity import SustainedCasingPressure
from daemons.calcd.catalogue import CALCULATIONS
from daemons.calcd.engine import Engine
from daemons.calcd.state import StateStore
from daemons.core.config import loads_config
from daemons.core.quality import Quality
from daemons.core.tagmap import TagMapContext, parse_tagmap_bytes

from .simfeed import REPO, Harness, demo_config, demo_tagmap

NOW = 1_750_000_000 * 10**9


def frame_of(names, values, quality=None, ts=None):
    n = len(names)
    return Frame(tuple(names), np.array(values, float),
                 np.full(n, NOW if ts is None else ts, np.int64),
                 np.array(quality if quality is not None else [0] * n, np.uint32),
                 lambda name: None)


def esp_inputs(engine):
    names = [n for g in engine.groups for ns in g.tags.values() for n in ns if n]
    return sorted(set(names))


@pytest.fixture(scope="module")
def esp():
    h = Harness(["vsd1"])
    h.run(5)
    return h


def test_results_follow_the_worst_input(esp):
    frame = esp.feed.frame()
    k = frame.names.index("W102.FREQUENCY")
    q = frame.quality.copy()
    q[k] = Quality.BAD_NO_COMMUNICATION
    esp.engine.cycle(dataclasses.replace(frame, quality=q), NOW)
    out = esp.engine.outputs
    flow = out.names.index("W102.CALC.FLOW")
    pip = out.names.index("W102.CALC.INTAKE_PRESSURE")
    assert out.quality[flow] == Quality.BAD_NO_COMMUNICATION
    assert out.quality[pip] == Quality.GOOD  # does not use the frequency
    q[k] = Quality.UNCERTAIN_LAST_USABLE
    esp.engine.cycle(dataclasses.replace(frame, quality=q), NOW)
    assert out.quality[flow] == Quality.UNCERTAIN_LAST_USABLE
    q[k] = Quality.UNCERTAIN_EU_EXCEEDED
    esp.engine.cycle(dataclasses.replace(frame, quality=q), NOW)
    assert out.quality[flow] == Quality.UNCERTAIN_SUBNORMAL


def test_an_input_acqd_stopped_updating_becomes_stale(esp):
    frame = esp.feed.frame()
    old = dataclasses.replace(frame, ts_ns=frame.ts_ns - 120 * 10**9)
    esp.engine.cycle(old, int(esp.feed.t * 1e9))
    out = esp.engine.outputs
    assert out.quality[out.names.index("W102.CALC.FLOW")] == Quality.UNCERTAIN_LAST_USABLE


def test_a_tag_not_in_the_ring_yet_waits():
    h = Harness(["vsd1"])
    out = h.engine.cycle(frame_of([], []), NOW)
    assert out.quality[out.names.index("W102.CALC.FLOW")] == \
        Quality.BAD_WAITING_FOR_INITIAL_DATA


def test_missing_parameters_and_roles_stop_only_their_calculation():
    text = (REPO / "config" / "gateway.toml").read_text()
    text = text.replace("curve_head_ft = [", "# curve_head_ft = [")
    cfg = loads_config(text, "gateway.toml")
    maps = (REPO / "tagmaps" / "vsd1.csv").read_bytes().replace(b",discharge_pressure,",
                                                                 b",,")
    tags, problems = parse_tagmap_bytes(maps.replace(b",frequency,", b",,"), "vsd1.csv",
                                        TagMapContext.from_config(cfg))
    assert not problems
    from daemons.core.tagmap import TagMap

    engine = Engine(cfg, TagMap(tuple(tags)), CALCULATIONS)
    found = {(p.well, p.calc, p.kind, p.name) for p in engine.problems}
    assert ("W102", "esp.flow", "param", "curve_head_ft") in found
    assert ("W102", "esp.flow", "role", "frequency") in found
    assert ("W102", "esp.motor", "role", "frequency") in found
    assert not any(p.calc == "esp.intake" for p in engine.problems)
    out = engine.outputs
    assert out.quality[out.names.index("W102.CALC.FLOW")] == Quality.BAD_CONFIG_ERROR
    # one problem per (well, calculation, missing thing): nothing repeated
    assert len(found) == len(engine.problems)


def test_state_survives_a_restart_through_the_database(tmp_path):
    h = Harness(["annuli1"])
    model = h.feed.models["annuli1"]
    model.inject("sustained_casing_pressure", well="W101", annulus="B", source_psi=900,
                 tau_h=2)
    h.run(3 * 3600, step=60)  # builds up towards 900 psi
    model.on_write("co", 1, [1])  # bleed the B annulus of W101
    h.run(900, step=30)
    model.on_write("co", 1, [0])
    h.run(1800, step=60)
    assert h.value("W101.CALC.SCP_SUSPECTED") == 1.0
    store = StateStore(tmp_path)
    assert store.save(h.engine.export_state()) > 0
    assert store.save(h.engine.export_state()) == 0  # nothing changed: nothing written
    store.close()
    again = Harness(["annuli1"])
    again.engine.import_state(StateStore(tmp_path).load())
    again.cycle()
    assert again.value("W101.CALC.SCP_SUSPECTED") == 1.0
    assert again.value("W102.CALC.SCP_SUSPECTED") == 0.0


def test_integrity_margin_and_no_scp_from_thermal_swings():
    h = Harness(["annuli1"])
    h.run(26 * 3600, step=120)
    truth = h.feed.truth("annuli1")
    for well in ("W101", "W102", "W103"):
        assert h.value(f"{well}.CALC.SCP_SUSPECTED") == 0.0
    b = truth["wells"]["W102"]["annulus_b_psi"]
    assert h.value("W102.CALC.ANN_B_MARGIN") == pytest.approx(900 - b, abs=5)


def test_docs_calcs_md_is_generated_from_the_code():
    page = (REPO / "docs" / "calcs.md").read_text(encoding="utf-8")
    assert page == catalogue.render_markdown(), (
        "docs/calcs.md is out of date: python -m daemons.calcd.catalogue --write "
        "docs/calcs.md")


def test_every_result_is_documented_with_units_method_and_source():
    names = set()
    for cls in CALCULATIONS:
        d = cls.DEF
        assert d.en and d.es
        for o in d.outputs:
            assert o.method and o.source and o.en and o.es, (d.key, o.name)
            assert (d.well_type, o.name) not in names, f"{o.name} twice for {d.well_type}"
            names.add((d.well_type, o.name))
    # the demo configuration binds every ESP calculation of the ESP well
    cfg = demo_config()
    engine = Engine(cfg, demo_tagmap(cfg), CALCULATIONS)
    assert not [p for p in engine.problems if p.well == "W102"]


def test_pyproject_has_the_calcd_entry_point():
    data = tomllib.loads(Path(REPO / "pyproject.toml").read_text())
    assert data["project"]["scripts"]["calcd"] == "daemons.calcd.main:entry"


def test_scp_state_roundtrip_keeps_nan():
    calc = SustainedCasingPressure(("W1",))
    state = calc.export_state()
    other = SustainedCasingPressure(("W1",))
    other.import_state(state)
    assert np.isnan(other.ring).all()


def test_a_damaged_state_starts_that_calculation_fresh():
    h = Harness(["vsd1"])
    h.engine.import_state({("gas_lift.performance", "W103"): {"bins": "not a mapping"},
                           ("drilling.rig_watch", "D201"): {"trend": [[1, None]]}})
    assert "gas_lift.performance" in h.engine.restore_errors
    assert "drilling.rig_watch" not in h.engine.restore_errors  # nulls are tolerated
    h.run(2)
    assert h.quality("W102.CALC.FLOW") == Quality.GOOD
