"""The per-well-type view modules in Debian's Chromium (Playwright), mounted by a small
harness page that builds the well page's ctx (docs/webd.md, the well-view contract) over
the real API, event stream and uPlot; every response carries webd's CSP, so an inline
style or script would show as a console error.  Screenshots go to docs/screenshots/."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from playwright.sync_api import expect

from daemons.core.quality import Quality
from daemons.webd.app import WebState, build_app, security_headers
from daemons.webd.auth import Gatekeeper, Worker
from daemons.webd.data import Api
from daemons.webd.main import _Server, listen

from .browser import SCREENSHOTS, browser  # noqa: F401  (browser is a fixture)
from .conftest import FAST, PASSWORD
from .wellviews_site import ViewSite

pytestmark = pytest.mark.timeout(120)

TREE = Path(__file__).resolve().parents[2]
WEBD = TREE / "daemons" / "webd"
VENDOR = WEBD / "static" / "vendor"
HARNESS = Path(__file__).resolve().parent / "wellviews_harness"
WELLS = {"rod_pump": "W101", "esp": "W102", "gas_lift": "W103", "flowing": "W104",
         "coiled_tubing": "W107", "pcp": "W108", "drilling": "D201", "injector": "I301"}
TYPES = {".js": "text/javascript", ".css": "text/css", ".json": "application/json",
         ".html": "text/html; charset=utf-8"}


def static_files(app):
    """webd (API, pages, /static from the tree with uPlot in static/vendor) plus /harness
    (the test page and the views' catalogues)."""
    async def serve(scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/harness/catalogue."):
            file = WEBD / "i18n" / f"wells.{path.removeprefix('/harness/catalogue.')}"
        elif scope["type"] == "http" and path.startswith("/harness/"):
            file = HARNESS / path.removeprefix("/harness/")
        else:
            await app(scope, receive, send)
            return
        if ".." in path or not file.is_file():
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"not found"})
            return
        kind = TYPES.get(file.suffix, "application/octet-stream")
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", kind.encode())]})
        await send({"type": "http.response.body", "body": file.read_bytes()})
    return security_headers(serve)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, ViewSite]]:
    if not (VENDOR / "uPlot.iife.min.js").exists():
        pytest.fail(f"uPlot is not in {VENDOR}: `make web` (part of `make test`) puts it there")
    site = ViewSite(tmp_path_factory.mktemp("site"))
    worker = Worker()
    gate = worker.pool.submit(lambda: Gatekeeper(site.cfg, hasher=FAST)).result()
    api = worker.pool.submit(Api, gate).result()
    sock = listen("127.0.0.1", 0)
    server = _Server(uvicorn.Config(static_files(build_app(WebState(worker, gate, api))),
                                    lifespan="off", log_config=None, access_log=False,
                                    timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", site
    server.should_exit = True
    thread.join(timeout=10)
    worker.pool.submit(api.close).result()
    worker.pool.submit(gate.close).result()
    worker.close()
    site.close()


@pytest.fixture
def page(browser, served):  # noqa: F811  (browser: the fixture of .browser)
    base, _ = served
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    r = context.request.post("/api/login", data=json.dumps({"user": "ana", "password": PASSWORD}),
                             headers={"Content-Type": "application/json"})
    assert r.status == 200, r.text()
    pg = context.new_page()
    pg.errors = []
    # script errors and CSP violations; a 404 from /api/history (a tag with no history
    # yet) is the browser's resource message, which the view handles
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error"
          and not m.text.startswith("Failed to load resource") else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    context.close()


def open_view(page, type_: str, lang: str = "en") -> None:
    page.goto(f"/harness/harness.html?well={WELLS[type_]}&type={type_}&lang={lang}")
    # (locators, not wait_for_function: that evaluates a string, which the CSP refuses)
    page.locator("body[data-mounted], body[data-error]").wait_for(state="attached",
                                                                   timeout=15000)
    assert page.evaluate("document.body.dataset.error || ''") == ""
    page.wait_for_timeout(600)  # trends come from /api/history after the mount


# Pixels of a series colour on a chart's canvas: proof that the series was drawn.
COUNT_COLOUR = """([index, hex]) => {
  const c = document.querySelectorAll('.wv-chart canvas')[index];
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const [r, g, b] = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  let n = 0;
  for (let i = 0; i < d.length; i += 4)
    if (Math.abs(d[i] - r) < 40 && Math.abs(d[i + 1] - g) < 40 && Math.abs(d[i + 2] - b) < 40) n++;
  return n;
}"""


def test_rod_pump_cards_overlaid_and_live(page, served):
    _, site = served
    open_view(page, "rod_pump")
    assert page.locator(".wv-chart canvas").count() >= 3
    surface = page.evaluate(COUNT_COLOUR, [0, "#0060a8"])
    downhole = page.evaluate(COUNT_COLOUR, [0, "#c0392b"])
    assert surface > 200 and downhole > 200  # both cards drawn on the one chart
    legend = page.locator(".wv-chart").first.inner_text()
    assert "Surface card" in legend and "Downhole (pump) card" in legend
    assert page.locator(".wv-diagnosis").first.inner_text() == \
        "Pump card diagnosis: Fluid pound"
    before = page.locator(".wv-chart canvas").first.screenshot()
    site.publish_card(time.time_ns(), phase=1.5)  # a new stroke reaches the open page
    expect(page.locator(".wv-card-list li")).to_have_count(2, timeout=8000)
    assert page.locator(".wv-chart canvas").first.screenshot() != before
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "wellview-rod_pump.png"), full_page=True)
    assert page.errors == []


def test_live_value_reaches_the_open_view_within_two_seconds(page, served):
    _, site = served
    open_view(page, "esp")
    tile = page.locator('.wv-value[data-key="frequency"]')
    assert tile.inner_text() == "50"
    slot = site.acq.index_of("W102.FREQ")
    t0 = time.monotonic()
    site.acq.write_batch(np.array([slot]), np.array([57.5]), time.time_ns(),
                         np.array([int(Quality.GOOD)], np.uint32))
    expect(tile).to_have_text("57.5", timeout=2000)
    elapsed = time.monotonic() - t0
    print(f"ring write to the view's tile: {elapsed * 1000:.0f} ms")
    assert elapsed < 2.0
    assert page.errors == []


@pytest.mark.parametrize("type_", ["esp", "gas_lift", "pcp", "flowing", "drilling",
                                   "coiled_tubing", "injector"])
def test_each_type_draws_its_charts(page, type_):
    open_view(page, type_, lang="es" if type_ in ("drilling", "flowing") else "en")
    page.screenshot(path=str(SCREENSHOTS / f"wellview-{type_}.png"), full_page=True)
    if type_ == "injector":  # meters, no x-y chart: pressure at 84 % of the maximum
        assert page.locator("meter").first.get_attribute("value") == "2100"
        assert "84 % of the maximum" in page.locator(".wv").inner_text()
    else:  # the type's main x-y chart has its first series drawn
        assert page.locator(".wv-chart canvas").count() >= 2
        assert page.evaluate(COUNT_COLOUR, [0, "#0060a8"]) > 50
    text = page.locator(".wv").inner_text()
    expected = {"esp": "ESP pump curve and operating point",
                "gas_lift": "Economic optimum", "pcp": "PCP rate against displacement",
                "flowing": "Prueba de pozo", "drilling": "Hoja de matado",
                "coiled_tubing": "Weight against the model",
                "injector": "Injection against target and limit"}[type_]
    assert expected in text
    assert "Annulus" in text or "anulares" in text
    page.screenshot(path=str(SCREENSHOTS / f"wellview-{type_}.png"), full_page=True)
    assert page.errors == []


def test_unmount_removes_the_view(page):
    open_view(page, "gas_lift")
    page.evaluate("window.mounted.unmount()")
    assert page.locator(".wv").count() == 0
    assert page.errors == []


def test_the_well_page_mounts_the_rod_pump_view(browser, served):  # noqa: F811
    """The webui well page (/wells/W101) imports /static/js/wells/rod_pump.js and mounts
    it with its own ctx: surface and downhole cards overlaid, drawn with data points."""
    base, _ = served
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto("/login")
        page.fill("#user", "eva")
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url("**/overview")
        page.goto("/wells/W101")
        page.locator("#well-view .wv[data-ready]").wait_for(timeout=15000)
        page.wait_for_timeout(600)
        assert page.evaluate(COUNT_COLOUR, [0, "#0060a8"]) > 200  # the page's theme
        assert page.evaluate(COUNT_COLOUR, [0, "#c0392b"]) > 200
        legend = page.locator("#well-view .wv-chart").first.inner_text()
        assert "Downhole (pump) card" in legend or "Carta de fondo (bomba)" in legend
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "well-page-rod_pump.png"), full_page=True)
        assert errors == []
    finally:
        context.close()
