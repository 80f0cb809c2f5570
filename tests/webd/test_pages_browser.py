"""webd's pages in a real browser (Debian's chromium through Playwright) against the whole
demo stack (simulator, acqd, calcd, alarmd, webd as `wellgate demo` starts them): log in,
overview, the rod-pump well page, a trend zoomed (a new history query for the new
range), an alarm acknowledged, a write refused for a field operator out of scope (not
offered AND 403 from the API), a confirmed write with its read-back, the language switch
remembered, keyboard focus.  Every page's screenshot goes to docs/screenshots/."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from daemons.core.access.accounts import Accounts
from daemons.core.access.audit import AuditLog
from daemons.core.access.model import system_user
from daemons.core.access.policy import load_policy
from daemons.core.access.users import UserStore
from daemons.core.config import load_config

from .browser import (  # noqa: F401  (browser is a fixture)
    accessibility_problems,
    browser,
    logged_in,
    shot,
)
from .conftest import FAST, PASSWORD
from .test_demo_stack import wait_for
from .test_live import free_port

# Pixels of one colour on the first well-view chart: proof that a series was drawn.
DRAWN_PIXELS = """(hex) => {
  const c = document.querySelector('#well-view .wv-chart canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const [r, g, b] = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  let n = 0;
  for (let i = 0; i < d.length; i += 4)
    if (Math.abs(d[i] - r) < 40 && Math.abs(d[i + 1] - g) < 40 && Math.abs(d[i + 2] - b) < 40) n++;
  return n;
}"""

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]
WRITE_TAG = "W101.MAWOP_A"  # a holding register of the simulated annulus monitor (rw)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages") / "demo"
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen([sys.executable, "-m", "daemons.cli.main", "--lang", "en", "demo",
                             "--dir", str(root), "--http-port", str(port),
                             "--opcua-port", str(free_port()), "--duration", "180"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up():
        if proc.poll() is not None:
            pytest.fail(proc.stdout.read().decode())
        try:
            return httpx.get(base + "/api/me", timeout=1).status_code == 401
        except httpx.TransportError:
            return False

    try:
        wait_for(up, 60, "webd in the demo")
        cfg = load_config(root / "gateway.toml")
        users, audit = UserStore(cfg.paths.state_dir), AuditLog(cfg.paths.state_dir)
        accounts = Accounts(users, audit, load_policy(cfg), cfg.access, hasher=FAST)
        root_user = system_user("root")
        accounts.add(root_user, "cli", "pe", ["production_engineer"], [], PASSWORD,
                     language="en")
        accounts.add(root_user, "cli", "op", ["field_operator"], ["W102"], PASSWORD,
                     language="en")
        accounts.add(root_user, "cli", "adm", ["administrator"], [], PASSWORD, language="en")
        accounts.add(root_user, "cli", "pl", ["production_engineer"], [], PASSWORD,
                     language="en")
        users.close()
        audit.close()
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def api_from_page(page, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """A request made by the page's own script (its cookie and CSRF token)."""
    return tuple(page.evaluate("""async ([method, path, body]) => {
        const csrf = decodeURIComponent((document.cookie.match(/wg_csrf=([^;]*)/) || [])[1] || "");
        const r = await fetch(path, {method, credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
            body: body === null ? undefined : JSON.stringify(body)});
        return [r.status, await r.json()];
    }""", [method, path, body]))


def test_login_overview_and_the_rod_pump_well_page(browser, demo):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=demo)
    page = context.new_page()
    page.goto("/overview")
    page.wait_for_url("**/login")  # no session: the login page
    shot(page, "login")
    assert accessibility_problems(page) == []
    context.close()
    context, page = logged_in(browser, demo, "pe")
    try:
        tile = page.locator(".tile[data-well=W101]")
        tile.wait_for()
        assert "Rod pump" in tile.inner_text()
        assert tile.locator(".status").inner_text().strip() != ""
        assert page.locator(".tile").count() >= 7  # every well of the simulated site
        page.locator("#map svg .pin").first.wait_for()  # W101 has coordinates
        page.wait_for_function("() => document.querySelectorAll('.tile dd').length > 3")
        shot(page, "overview")
        assert accessibility_problems(page) == []

        page.click(".tile[data-well=W101] h3 a")
        page.wait_for_url("**/wells/W101")
        view = page.locator("section#well-view")
        assert view.get_attribute("data-well") == "W101"
        assert view.get_attribute("data-type") == "rod_pump"
        page.locator("#well-tags tr[data-tag='W101.SPM']").wait_for()
        page.wait_for_function(
            "() => document.querySelector(\"#well-tags tr[data-tag='W101.SPM'] td.num\")"
            ".textContent !== '—'")
        assert page.locator("#well-status .status").inner_text().strip() != ""
        assert page.locator("#well-tags tr[data-tag='W101.SPM'] a").get_attribute(
            "href").startswith("/trends?tags=W101.SPM")
        # The rod-pump view (static/js/wells/rod_pump.js) mounted with both cards drawn.
        page.locator("#well-view .wv[data-ready]").wait_for(timeout=15000)
        assert page.locator("#well-view .wv-chart canvas").count() >= 1
        legend = page.locator("#well-view .wv-chart").first.inner_text()
        assert "Downhole (pump) card" in legend
        # The simulator's first stroke ends a few seconds after start: wait until the
        # surface card is drawn (its series colour on the canvas) for the screenshot.
        deadline = time.monotonic() + 30
        while page.evaluate(DRAWN_PIXELS, "#0060a8") < 200 and time.monotonic() < deadline:
            page.wait_for_timeout(500)
        assert page.evaluate(DRAWN_PIXELS, "#0060a8") >= 200, "no surface card drawn in 30 s"
        shot(page, "well-rod-pump")
        assert accessibility_problems(page) == []
        # A phone's width: the page reflows (wide tables scroll inside their box).
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/overview")
        page.locator(".tile").first.wait_for()
        assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth + 1")
        shot(page, "overview-phone")

        assert page.errors == []
    finally:
        context.close()


def test_language_switch_changes_the_words_and_is_remembered(browser, demo):  # noqa: F811
    context, page = logged_in(browser, demo, "pl")  # their own user: others stay English
    try:
        page.goto("/wells/W101")
        assert page.locator("nav a[href='/overview']").inner_text() == "Overview"
        page.click("#lang-switch")
        page.wait_for_function(
            "() => document.querySelector(\"nav a[href='/overview']\")?.textContent"
            " === 'Resumen'")
        assert page.locator("html").get_attribute("lang") == "es"
        context.close()
        context, page = logged_in(browser, demo, "pl")  # a new session: still Spanish
        page.goto("/wells/W101")
        assert page.locator("nav a[href='/overview']").inner_text() == "Resumen"
        assert page.locator("#live-h").inner_text() == "Valores en vivo"
        page.locator("#well-tags tr[data-tag='W101.SPM']").wait_for()
        shot(page, "well-rod-pump-es")
        assert page.errors == []
    finally:
        context.close()


def test_field_operator_is_not_offered_a_write_and_the_api_refuses(browser, demo):  # noqa: F811
    context, page = logged_in(browser, demo, "op")  # field operator, scope W102 only
    try:
        # TS1 (the test separator) belongs to no well: readable by a scoped user, but
        # writing it needs the whole gateway in scope.
        page.goto("/tags?pattern=TS1.PRESSURE_SP")
        row = page.locator("#tag-table tr[data-tag='TS1.PRESSURE_SP']")
        row.wait_for()
        assert row.locator("button.write").count() == 0
        page.goto("/tags?pattern=W102.FREQUENCY_SP")  # in scope: offered
        page.locator("#tag-table tr[data-tag='W102.FREQUENCY_SP'] button.write").wait_for()
        page.goto("/tags?pattern=W101.*")  # out of scope: not even listed
        page.wait_for_function(
            "() => document.querySelectorAll('#tag-table tbody tr').length === 1")
        assert page.locator("#tag-table tr[data-tag]").count() == 0
        shot(page, "tags-field-operator")
        assert accessibility_problems(page) == []
        for tag in ("TS1.PRESSURE_SP", WRITE_TAG):
            status, body = api_from_page(page, "POST", "/api/write",
                                         {"tag": tag, "value": 100, "reason": "test"})
            assert status == 403, (tag, body)
        assert page.errors == []
    finally:
        context.close()


def test_engineer_write_is_confirmed_and_read_back(browser, demo):  # noqa: F811
    context, page = logged_in(browser, demo, "pe")
    try:
        page.goto(f"/tags?pattern={WRITE_TAG}")
        row = page.locator(f"#tag-table tr[data-tag='{WRITE_TAG}']")
        row.locator("button.write").wait_for()
        page.wait_for_function(
            f"() => document.querySelector(\"tr[data-tag='{WRITE_TAG}'] .q-good\")")
        old = row.locator("td.value").inner_text()
        new = 1777 if old.replace(",", "") != "1777" else 1888
        row.locator("button.write").click()
        assert page.locator("#write-old").inner_text().startswith(old)
        page.fill("#write-value", str(new))
        page.fill("#write-reason", "browser test")
        page.click("#write-review")
        confirm = page.locator("#write-confirm-text").inner_text()
        assert old in confirm and f"{new:,}" in confirm, confirm
        page.click("#write-confirm")
        page.wait_for_function(
            "() => document.getElementById('write-result').className === 'ok'"
            " || document.getElementById('write-result').className === 'error'")
        result = page.locator("#write-result").inner_text()
        assert "Confirmed" in result and f"{new:,}" in result, result
        shot(page, "tags-write")
        assert accessibility_problems(page) == []
        page.click("#write-cancel")
        # The new value comes back through the live stream into the table.
        page.wait_for_function(
            f"() => document.querySelector(\"tr[data-tag='{WRITE_TAG}'] td.value\")"
            f".textContent === '{new:,}'")
        assert page.errors == []
    finally:
        context.close()


def test_keyboard_reaches_the_main_actions_with_visible_focus(browser, demo):  # noqa: F811
    context, page = logged_in(browser, demo, "pe")
    try:
        page.goto("/tags")
        page.locator("#tag-table tr[data-tag]").first.wait_for()
        reached = []
        for _ in range(14):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("""() => {
                const e = document.activeElement, s = getComputedStyle(e);
                return {id: e.id, text: e.textContent.trim().slice(0, 30), tag: e.tagName,
                        outline: s.outlineStyle, width: parseFloat(s.outlineWidth)};
            }"""))
        labels = [r["id"] or r["text"] for r in reached]
        for wanted in ("Skip to content", "Overview", "Trends", "Alarms", "Tags", "lang-switch",
                       "logout", "tag-pattern", "Search"):
            assert wanted in labels, (wanted, labels)
        for r in reached:
            assert r["outline"] != "none" and r["width"] >= 2, r  # focus is visible
    finally:
        context.close()


def test_system_page_for_an_administrator_only(browser, demo):  # noqa: F811
    context, page = logged_in(browser, demo, "pe")
    try:  # production engineers have no system/read: no link, and the API says 403
        assert page.locator("nav a[href='/system']").count() == 0
        assert api_from_page(page, "GET", "/api/system")[0] == 403
        assert api_from_page(page, "GET", "/api/users")[0] == 403
    finally:
        context.close()
    context, page = logged_in(browser, demo, "adm")
    try:
        page.goto("/system")
        page.locator("#daemon-table tbody tr").first.wait_for()
        names = page.locator("#daemon-table tbody th").all_inner_texts()
        assert {"acqd", "webd", "alarmd"} <= set(names), names
        page.locator("#device-table tbody tr").first.wait_for()
        page.locator("#user-table tr[data-user=pe]").wait_for()
        assert page.locator("#disk").inner_text() != ""
        shot(page, "system")
        assert accessibility_problems(page) == []
        # A user created in the page gets a one-time password, changed at the first login.
        page.fill("#new-user", "nova")
        page.select_option("#new-role", "field_operator")
        page.click("#user-form button[type=submit]")
        page.locator("#user-table tr[data-user=nova]").wait_for()
        one_time = page.locator("#user-result").inner_text().rsplit(" ", 1)[-1]
        assert len(one_time) == 20, page.locator("#user-result").inner_text()
        assert page.errors == []
    finally:
        context.close()
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=demo)
    page = context.new_page()
    try:
        page.goto("/login")
        page.fill("#user", "nova")
        page.fill("#password", one_time)
        page.click("#login-form button[type=submit]")
        page.wait_for_url("**/password")
        page.locator("#password-must").wait_for()
        shot(page, "password")
        assert accessibility_problems(page) == []
        page.goto("/overview")  # not before the password is changed
        page.wait_for_url("**/password")
        page.fill("#old-password", one_time)
        page.fill("#new-password", "quiet-river-stone-81")
        page.fill("#new-password2", "quiet-river-stone-81")
        page.click("#password-form button[type=submit]")
        page.wait_for_function("() => location.pathname === '/overview'"
                               " || !document.getElementById('password-error').hidden")
        assert page.url.endswith("/overview"), page.locator("#password-error").inner_text()
    finally:
        context.close()


def test_alarm_acknowledged_in_the_page(browser, demo):  # noqa: F811
    http = httpx.Client(base_url=demo, timeout=20)
    r = http.post("/api/login", json={"user": "pe", "password": PASSWORD})
    csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
    old = http.get("/api/tags", params={"pattern": "W101.MAX_LOAD_SP"}).json()[0]["value"]
    # A maximum load below the pump's peak load: the controller stops on malfunction
    # and alarmd raises W101's load alarms (within a few seconds).
    r = http.post("/api/write", headers=csrf,
                  json={"tag": "W101.MAX_LOAD_SP", "value": 2000, "reason": "browser test"})
    assert r.status_code == 200, r.text
    context, page = logged_in(browser, demo, "pe")
    try:
        page.goto("/alarms")
        button = page.locator("#alarm-table button.ack").first
        button.wait_for(timeout=45_000)
        alarm_id = button.get_attribute("data-id")
        row = page.locator(f"#alarm-table tr[data-id='{alarm_id}']")
        assert row.locator(".prio .shape").inner_text() != ""  # priority as a shape
        assert row.locator(".prio").inner_text().split()[-1] in (
            "Critical", "High", "Medium", "Low")  # and as a word
        shot(page, "alarms")
        assert accessibility_problems(page) == []
        # By keyboard, and the list's 5-second refresh keeps the focus on the button.
        button.focus()
        page.wait_for_timeout(5500)
        assert page.evaluate("() => document.activeElement.dataset.id") == alarm_id
        page.keyboard.press("Enter")
        page.fill("#alarm-comment", "seen from the browser")
        page.click("#alarm-confirm")
        page.wait_for_function(
            "(id) => document.getElementById('notice').textContent.includes(id)", arg=alarm_id)
        acked = next(a for a in http.get("/api/alarms").json() if a["id"] == alarm_id)
        assert acked["acked_by"] == "pe" or acked["state"] in ("acknowledged", "normal")
        page.fill("#journal-text", alarm_id)
        page.click("#journal-form button[type=submit]")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#journal-table tbody tr')]"
            ".some((tr) => tr.textContent.includes('seen from the browser'))")
        assert page.errors == []
    finally:
        context.close()
        http.post("/api/write", headers=csrf,
                  json={"tag": "W101.MAX_LOAD_SP", "value": old, "reason": "browser test"})
        http.close()


def test_trend_zoom_queries_the_new_range(browser, demo):  # noqa: F811
    context, page = logged_in(browser, demo, "pe")
    queries: list[str] = []
    page.on("request", lambda r: queries.append(r.url) if "/api/history/" in r.url else None)
    try:
        # acqd makes history durable every 10 s: wait for some, then show the last 5 min.
        wait_for(lambda: len(api_from_page(
            page, "GET", f"/api/history/W101.THP?points=1000&start={time.time() - 300}")[1]
            .get("ts", [])) > 5, 40, "history of W101.THP")
        page.goto("/trends?tags=W101.THP,W101.SPM&range=300")
        page.locator("#chart .u-over").wait_for()
        page.wait_for_function("() => document.getElementById('trend-range-text').dataset.start")
        before = (page.locator("#trend-range-text").get_attribute("data-start"),
                  page.locator("#trend-range-text").get_attribute("data-end"))
        assert len(queries) >= 2 and any("W101.SPM" in q for q in queries)
        # psi and spm: a scale (and an axis) each; the legend names the units
        legend = page.locator("#chart .u-legend").inner_text()
        assert "W101.THP (psi)" in legend and "W101.SPM (spm)" in legend, legend
        # each series row is a toggle button the keyboard reaches, a 44 px target
        row = page.locator("#chart .u-legend .u-series", has_text="W101.SPM")
        assert row.get_attribute("role") == "button"
        assert row.get_attribute("aria-pressed") == "true"
        assert row.bounding_box()["height"] >= 44
        row.focus()
        page.keyboard.press("Space")
        assert row.get_attribute("aria-pressed") == "false"
        assert "u-off" in (row.get_attribute("class") or "")  # uPlot hid the series
        page.keyboard.press("Enter")
        assert row.get_attribute("aria-pressed") == "true"
        assert "u-off" not in (row.get_attribute("class") or "")
        n = len(queries)
        box = page.locator("#chart .u-over").bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.80, y)  # the last minute has the data
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.90, y, steps=5)
        page.mouse.move(box["x"] + box["width"] * 0.995, y, steps=5)
        page.mouse.up()
        page.wait_for_function(
            "([s, e]) => { const d = document.getElementById('trend-range-text').dataset;"
            " return d.start !== s || d.end !== e; }", arg=list(before))
        after = (float(page.locator("#trend-range-text").get_attribute("data-start")),
                 float(page.locator("#trend-range-text").get_attribute("data-end")))
        assert after[1] - after[0] < float(before[1]) - float(before[0])  # zoomed in
        deadline = time.monotonic() + 5
        while len(queries) == n and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert len(queries) > n, "no history query after the zoom"
        assert f"start={after[0]}" in queries[-1] or f"start={after[0]}" in queries[-2]
        csv = page.locator("#csv-links a").first.get_attribute("href")
        assert "format=csv" in csv
        text = page.evaluate("async (u) => (await fetch(u)).text()", csv)
        assert text.startswith("ts,value,min,max,quality")
        page.wait_for_timeout(300)  # the new query's data drawn
        shot(page, "trends")
        assert accessibility_problems(page) == []
        assert page.errors == []
    finally:
        context.close()
