"""`GET /api/wells/{well}/view` for every well type, its numbers checked against
daemons/petroleum directly, and its authorization (401, 403 by role and by scope, 404)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from litestar.testing import TestClient

from daemons.petroleum import esp, gaslift, inflow, pcp, wellcontrol
from daemons.webd.app import WebState, build_app
from daemons.webd.auth import Gatekeeper, Worker
from daemons.webd.data import Api

from .conftest import FAST, login
from .wellviews_site import CALCS, TEST_PI, TEST_PWF, ViewSite, pump_card, surface_card

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def views(tmp_path: Path) -> Iterator[tuple[TestClient, ViewSite]]:
    site = ViewSite(tmp_path)
    worker = Worker()
    gate = worker.pool.submit(lambda: Gatekeeper(site.cfg, hasher=FAST)).result()
    api = worker.pool.submit(Api, gate).result()
    with TestClient(build_app(WebState(worker, gate, api))) as client:
        yield client, site
    worker.pool.submit(api.close).result()
    worker.pool.submit(gate.close).result()
    worker.close()
    site.close()


def view(client: TestClient, well: str) -> dict:
    r = client.get(f"/api/wells/{well}/view")
    assert r.status_code == 200, r.text
    return r.json()


def test_authorization_401_403_404(views):
    client, _ = views
    r = client.get("/api/wells/W101/view")
    assert r.status_code == 401 and r.json()["error"]["es"]
    login(client, "carl")  # contractors read no production on this site
    assert client.get("/api/wells/W101/view").status_code == 403
    login(client, "oscar")  # field operator scoped to Lagunillas
    assert client.get("/api/wells/W101/view").status_code == 200
    r = client.get("/api/wells/B201/view")
    assert r.status_code == 403 and r.json()["error"]["es"]
    r = client.get("/api/wells/NOPE/view")
    assert r.status_code == 404 and "NOPE" in r.json()["error"]["en"]
    schema = client.get("/schema/openapi.json").json()
    assert "/api/wells/{well}/view" in schema["paths"]


def test_rod_pump_cards_live_and_last(views):
    client, _ = views
    login(client, "eva")
    v = view(client, "W101")
    assert v["type"] == "rod_pump" and v["well"]["name"] == "LL-0101"
    pos, load = surface_card()
    surface, downhole = v["cards"]["surface"], v["cards"]["downhole"]
    np.testing.assert_allclose(surface["position"], pos)
    np.testing.assert_allclose(surface["load"], load)
    np.testing.assert_allclose(downhole["load"], pump_card()[1])
    assert surface["ts"] == downhole["ts"] and surface["quality"] == "good"
    assert v["tags"]["surface_load_card"] == "W101.CARD_LOAD"
    assert v["tags"]["PUMP_CARD_LOAD"] == "W101.CALC.PUMP_CARD_LOAD"
    assert v["values"]["FILLAGE"]["value"] == CALCS["W101"]["FILLAGE"]
    assert {t["key"] for t in v["trends"]} >= {"FILLAGE", "PRODUCTION", "RUNTIME_PCT"}
    # webd keeps the strokes it sees: the current one from the first view on
    cards = view(client, "W101")["last_cards"]
    assert len(cards) == 1 and cards[0]["downhole"] is not None
    np.testing.assert_allclose(cards[0]["surface"]["load"], load)


def test_last_cards_follow_strokes_not_republications(views):
    """acqd publishes the card arrays again on every scan (same card, new time) and calcd's
    downhole card comes after the surface card: a stroke is a new surface card, and
    the downhole card joins the stroke it was computed from."""
    from daemons.webd.wellviews.views import views_of

    client, site = views
    login(client, "eva")
    view(client, "W101")  # starts the memory with the current stroke
    state = client.app.state.web
    memory = views_of(state.api).cards

    def poll() -> list[dict]:
        state.worker.pool.submit(memory.poll, state.api.rings).result()
        return view(client, "W101")["last_cards"]

    t1 = site.now + 10 * 10**9
    site.publish_card(t1, phase=0.5, pump=False)  # a new stroke; calcd not done yet
    cards = poll()
    assert len(cards) == 2 and cards[0]["downhole"] is None
    np.testing.assert_allclose(cards[0]["surface"]["load"], surface_card(0.5)[1])
    site.publish_card(t1 + 3 * 10**9, phase=0.5, pump=False)  # re-read: the same card
    assert len(poll()) == 2
    site.publish_pump_card(t1)  # calcd's card of that stroke, stamped with its first read
    cards = poll()
    assert len(cards) == 2 and cards[0]["downhole"] is not None
    np.testing.assert_allclose(cards[0]["downhole"]["load"], pump_card()[1])
    assert cards[1]["downhole"] is not None  # the first stroke keeps its own
    # the collector thread (started by the first view) sees a stroke by itself too
    site.publish_card(t1 + 8 * 10**9, phase=1.0)
    deadline = time.monotonic() + 5
    while len(cards := view(client, "W101")["last_cards"]) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(cards) == 3 and cards[0]["downhole"] is not None


def test_annulus_against_mawop(views):
    client, _ = views
    login(client, "eva")
    ann = {a["annulus"]: a for a in view(client, "W101")["annulus"]}
    assert set(ann) == {"A", "B"}  # no C gauge mapped
    assert ann["A"]["limit"] == "MAWOP" and ann["A"]["limit_psi"] == 1500.0
    assert ann["B"]["margin_key"] == "ANN_B_MARGIN"


def test_esp_pump_curve_at_running_frequency(views):
    client, site = views
    login(client, "eva")
    v = view(client, "W102")
    c = v["pump_curve"]
    w = site.cfg.wells["W102"]
    total = np.array(w.param("curve_head_ft")) * 180
    np.testing.assert_allclose(c["base"]["head_ft"], total)
    r = esp.affinity(q=np.array(w.param("curve_rate_bpd")), head=total,
                     bhp=np.zeros(len(total)), f_from=60.0, f_to=50.0)
    assert c["running"]["frequency_hz"] == 50.0
    np.testing.assert_allclose(c["running"]["head_ft"], r.head)
    np.testing.assert_allclose(c["running"]["rate_bpd"], r.q)
    assert c["operating_point"] == {"rate_bpd": 1300.0, "head_ft": 4100.0}
    assert v["values"]["frequency"]["value"] == 50.0


def test_gas_lift_curve_and_optimum(views):
    client, site = views
    login(client, "eva")
    c = view(client, "W103")["performance_curve"]
    w = site.cfg.wells["W103"]
    best = gaslift.optimum_injection(q_inj=w.param("curve_injection_mscfd"),
                                     q_oil=w.param("curve_oil_bpd"), gas_cost=3.0,
                                     oil_price=60.0)
    assert c["optimum"]["injection_mscfd"] == pytest.approx(best.q_inj)
    assert c["optimum"]["oil_bpd"] == pytest.approx(best.q_oil)
    assert c["operating_point"] == {"injection_mscfd": 900.0, "oil_bpd": 560.0}
    at = c["curve"]["injection_mscfd"][17]
    assert c["curve"]["oil_bpd"][17] == pytest.approx(gaslift.lift_curve_rate(
        q_inj=w.param("curve_injection_mscfd"), q_oil=w.param("curve_oil_bpd"), at=at))


def test_pcp_displacement_and_operating_point(views):
    client, _ = views
    login(client, "eva")
    p = view(client, "W108")["pump"]
    disp = pcp.pcp_displacement(eccentricity=0.25, rotor_diameter=1.5, stator_pitch=12.0)
    assert p["displacement_in3_rev"] == pytest.approx(disp)
    assert p["displacement_line"]["rate_bpd"][-1] == pytest.approx(
        pcp.pcp_rate(displacement=disp, rpm=400.0))
    assert p["operating_point"] == {"rpm": 200.0, "rate_bpd": 480.0}


def test_flowing_well_test_and_ipr(views):
    client, _ = views
    login(client, "eva")
    v = view(client, "W104")
    test = v["well_test"]
    assert test["state"] == 3 and test["in_progress"] is True
    [rec] = test["results"]
    assert rec["pi_bpd_psi"] == TEST_PI and rec["liquid_bpd"] == 900.0
    ipr = v["ipr"]
    assert ipr["source"] == "test" and ipr["method"] == "composite"
    assert ipr["aof_bpd"] == pytest.approx(inflow.composite_aof(p_res=2400.0, pb=1500.0,
                                                                j=TEST_PI))
    assert ipr["rate_bpd"][0] == pytest.approx(ipr["aof_bpd"])  # pwf = 0
    assert ipr["rate_bpd"][-1] == pytest.approx(0.0)  # pwf = reservoir pressure
    assert ipr["test_point"] == {"pwf_psi": TEST_PWF, "rate_bpd": 900.0}
    assert v["tags"]["test_oil_rate"] == "SEP.QOIL"  # the site's test separator
    assert v["values"]["test_oil_rate"]["value"] == 640.0


def test_drilling_kill_sheet_pits_and_depth(views):
    client, _ = views
    login(client, "ana")
    v = view(client, "D201")
    ks = v["kill_sheet"]
    assert ks["shut_in"] is True and ks["sidpp_psi"] == 300.0 and ks["tvd_ft"] == 9000.0
    kmw = wellcontrol.kill_mud_weight(omw=10.5, sidpp=300.0, tvd=9000.0)
    assert ks["kmw_ppg"] == pytest.approx(kmw)
    assert ks["icp_psi"] == pytest.approx(wellcontrol.initial_circulating_pressure(
        scr=450.0, sidpp=300.0))
    assert ks["fcp_psi"] == pytest.approx(wellcontrol.final_circulating_pressure(
        scr=450.0, kmw=kmw, omw=10.5))
    assert ks["maasp_psi"] == pytest.approx(wellcontrol.maasp(lot_emw=14.2, mw=10.5,
                                                              tvd_shoe=6000.0))
    sched = ks["schedule"]
    assert sched["pressure_psi"][0] == pytest.approx(ks["icp_psi"])
    assert sched["pressure_psi"][-1] == pytest.approx(ks["fcp_psi"])
    assert sched["strokes"][-1] == pytest.approx(ks["strokes_to_bit"])
    assert [t["key"] for t in v["pits"]["tanks"]] == ["pit_volume_1", "pit_volume_2"]
    assert "PIT_GAIN" in v["pits"]["kick_indicators"]
    pvd = v["parameters_vs_depth"]
    depth, wob = np.array(pvd["hole_depth"]), np.array(pvd["wob"], float)
    assert depth.size > 10 and depth.min() >= 9000.0 and depth.max() <= 9100.0
    # WOB rose linearly with depth in the fixture's history
    np.testing.assert_allclose(wob, 20.0 + (depth - 9000.0) / 10.0, atol=0.1)
    assert [a["limit"] for a in v["annulus"]] == ["MAASP"]
    assert {t["key"] for t in v["depth_time"]} == {"hole_depth", "bit_depth"}


def test_coiled_tubing_weight_vs_model(views):
    client, _ = views
    login(client, "eva")
    v = view(client, "W107")
    wvd = v["weight_vs_depth"]
    depth = np.array(wvd["ct_depth"])
    assert depth.size > 10
    np.testing.assert_allclose(np.array(wvd["ct_weight"], float),
                               2000.0 + depth * 7000.0 / 8000.0, rtol=1e-3)
    np.testing.assert_allclose(np.array(wvd["PICKUP_WEIGHT"], float),
                               3000.0 + depth * 7000.0 / 8000.0, rtol=1e-3)
    assert all(x is None for x in wvd["SLACKOFF_WEIGHT"])  # live only, no history yet
    assert v["values"]["FATIGUE_USED"]["value"] == 12.5
    assert v["string"]["ct_string_id"] == "CT-1750-0001"


def test_injector_rate_and_pressure_against_target_and_limit(views):
    client, _ = views
    login(client, "eva")
    v = view(client, "I301")
    assert v["injection"] == {"fluid": "water", "max_injection_pressure_psi": 2500.0,
                              "target_rate": 3000.0}
    assert v["values"]["injection_pressure"]["value"] == 2100.0
    assert [t["tag"] for t in v["trends"]] == ["I301.QINJ", "I301.PINJ"]


def test_every_type_answers_with_the_common_keys(views):
    client, site = views
    login(client, "sam")
    for well in site.cfg.wells:
        v = view(client, well)
        assert {"well", "type", "tags", "values", "annulus", "trends"} <= set(v)
        for key, tag in v["tags"].items():
            row = v["values"][key]
            assert row is None or row["tag"] == tag


def test_catalogues_cover_the_modules_in_both_languages():
    """Every literal `t("wells.…")` key of the modules is in wells.en.json and
    wells.es.json, the two have the same keys, and they merge with the pages'
    catalogues without a clash (webd's loader refuses a key defined twice)."""
    import json
    import re

    from daemons.webd.i18n import load_catalogues

    webd = Path(__file__).resolve().parents[2] / "daemons" / "webd"
    en = json.loads((webd / "i18n" / "wells.en.json").read_text(encoding="utf-8"))
    es = json.loads((webd / "i18n" / "wells.es.json").read_text(encoding="utf-8"))
    assert set(en) == set(es)
    used = set()
    for js in (webd / "static" / "js" / "wells").glob("*.js"):
        used |= set(re.findall(r'\bt\("(wells\.[A-Za-z0-9_.]+)"', js.read_text()))
    assert len(used) > 40 and used <= set(en), sorted(used - set(en))
    merged = load_catalogues()
    assert merged["es"]["wells.rod_pump.cards"] == "Cartas dinagráficas: superficie y fondo"
    assert merged["es"]["wells.tag.ESP_CONDITION"] == "Condición de la BES"


def test_parameters_petroleum_refuses_leave_one_section_out(views):
    """A gas-lift curve with a repeated injection rate and an ESP curve with fewer head
    points than rates: the curve is null and `problems` names why; the view answers."""
    import dataclasses

    from daemons.core.access.model import system_user
    from daemons.webd.wellviews import lift
    from daemons.webd.wellviews.source import ViewSource

    client, site = views
    login(client, "eva")
    state = client.app.state.web

    def build(well_id: str, table: str, **bad) -> ViewSource:
        w = site.cfg.wells[well_id]
        params = {**w.params, table: {**w.params[table], **bad}}
        return state.worker.pool.submit(
            ViewSource, state.gate, state.api.rings, system_user("root"),
            dataclasses.replace(w, params=params)).result()

    src = build("W103", "gas_lift", curve_injection_mscfd=(0.0, 300.0, 300.0),
                   curve_oil_bpd=(0.0, 400.0, 410.0))
    assert lift.gas_lift(src)["performance_curve"] is None
    assert src.problems and "injection rates must be distinct" in src.problems[0]
    src = build("W102", "esp", curve_head_ft=(35.0, 30.0))
    assert lift.esp_view(src)["pump_curve"] is None
    assert "as many points" in src.problems[0]
    assert view(client, "W103")["problems"] == []  # the configured wells are fine


def test_the_views_of_a_retired_api_are_closed(views):
    """A reload replaces the Api: its views (and their card thread) go with it."""
    import gc

    from daemons.webd.wellviews.views import _VIEWS, views_of

    client, _ = views
    state = client.app.state.web
    other = state.worker.pool.submit(Api, state.gate).result()
    v = views_of(other)
    v.cards.recent("W101", None)  # starts the collector thread
    thread = v.cards.thread
    assert thread.is_alive() and other in _VIEWS
    state.worker.pool.submit(other.close).result()
    del other
    gc.collect()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_half_published_card_waits_for_its_other_array(views):
    """acqd writes the position array, then the load array: a look in between (new
    position, old load) is not a stroke."""
    from daemons.webd.wellviews.views import views_of

    client, site = views
    login(client, "eva")
    view(client, "W101")
    state = client.app.state.web
    memory = views_of(state.api).cards
    t1 = site.now + 10 * 10**9
    pos, load = surface_card(0.7)
    site.acq.write_array(site.acq.index_of("W101.CARD_POSITION"), pos * 0.9, t1, 0)
    state.worker.pool.submit(memory.poll, state.api.rings).result()
    assert len(view(client, "W101")["last_cards"]) == 1
    site.acq.write_array(site.acq.index_of("W101.CARD_LOAD"), load, t1, 0)
    state.worker.pool.submit(memory.poll, state.api.rings).result()
    cards = view(client, "W101")["last_cards"]
    assert len(cards) == 2
    np.testing.assert_allclose(cards[0]["surface"]["position"], pos * 0.9)
    np.testing.assert_allclose(cards[0]["surface"]["load"], load)
