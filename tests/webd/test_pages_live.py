"""Live: a value written to the ring reaches an open well page in a real browser within
2 s (the time measured from the ring write to the DOM update, in the browser's clock).
webd runs as a daemon over the test site of conftest.py (rings written by the test)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from daemons.core.quality import Quality

from .browser import browser, logged_in, shot  # noqa: F401  (browser is a fixture)
from .test_live import daemon  # noqa: F401  (a fixture: webd on a free port)

pytestmark = pytest.mark.timeout(60)


def test_a_ring_change_reaches_the_open_page_within_two_seconds(site, daemon, browser):  # noqa: F811
    base, _proc = daemon
    context, page = logged_in(browser, base, "oscar")
    try:
        page.goto("/wells/W101")
        cell = "#well-tags tr[data-tag='W101.THP'] td.num"
        # oscar's pages are in Spanish: 812,5
        page.wait_for_function(f"() => document.querySelector(\"{cell}\")?.textContent"
                               " === '812,5'")
        # The browser notes when the cell shows the new value (Date.now(), same host clock).
        page.evaluate("""(sel) => {
            window.__seen = null;
            new MutationObserver(() => {
                const c = document.querySelector(sel);
                if (c && c.textContent === '901,25' && window.__seen === null) {
                    window.__seen = Date.now();
                }
            }).observe(document.querySelector('#well-tags tbody'),
                       {subtree: true, childList: true, characterData: true});
        }""", cell)
        written_ms = time.time() * 1000
        site.ring.write_batch(np.array([0]), np.array([901.25]), time.time_ns(),
                              np.array([Quality.GOOD], dtype=np.uint32))
        page.wait_for_function("() => window.__seen !== null", timeout=5000)
        elapsed_ms = page.evaluate("() => window.__seen") - written_ms
        print(f"ring write -> DOM: {elapsed_ms:.0f} ms")
        assert 0 <= elapsed_ms < 2000, elapsed_ms
        assert page.errors == []
    finally:
        context.close()


def test_an_untouched_page_logs_itself_out_after_the_idle_time(site, daemon, browser):  # noqa: F811
    # The page's polling keeps the session fresh on the server; the page itself ends it
    # after the idle time (30 min) without a key, click or touch.  The browser's clock is
    # Playwright's fake one, moved forward.
    base, _proc = daemon
    context, page = logged_in(browser, base, "oscar")
    try:
        page.clock.install()
        page.goto("/overview")
        assert page.locator("body").get_attribute("data-idle-s") == "1800"
        page.keyboard.press("Tab")  # activity: the idle clock restarts
        page.clock.run_for("25:00")
        assert page.url.endswith("/overview")
        page.clock.run_for("06:00")
        page.wait_for_url("**/login")
        status = page.evaluate("async () => (await fetch('/api/me')).status")
        assert status == 401  # the session is gone on the server too
    finally:
        context.close()
