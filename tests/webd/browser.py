"""Helpers for webd's real-browser tests: Debian's chromium driven by Playwright (its own
browser download is not reachable here), logins and screenshots into docs/screenshots/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from .conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
# Without these chromium tries to reach the network (updates, sync, field trials).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 860}


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def logged_in(browser, base: str, user: str, password: str = PASSWORD):
    """A new browser context and page, logged in through the login form."""
    context = browser.new_context(viewport=VIEWPORT, base_url=base)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # checked by the tests: no script error on any page
    page.goto("/login")
    page.fill("#user", user)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/overview")
    return context, page


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# WCAG 2.1 contrast of every visible text against the background it sits on (the first
# ancestor with an opaque background): 4.5:1, or 3:1 for large text (24 px, 18.66 px bold).
CONTRAST_JS = """() => {
  const parse = (s) => { const m = s.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return {rgb: p.slice(0, 3), a: p.length > 3 ? p[3] : 1}; };
  const lum = (rgb) => { const [r, g, b] = rgb.map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const bgOf = (el) => { for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c.rgb; }
    return [255, 255, 255]; };
  const bad = [], seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const n = walker.currentNode, el = n.parentElement;
    if (!n.textContent.trim() || !el || seen.has(el) || el instanceof SVGElement) continue;
    seen.add(el);
    if (el.closest('[hidden], script, dialog:not([open])') || !el.getClientRects().length) continue;
    const s = getComputedStyle(el), fg = parse(s.color);
    if (!fg || s.visibility === 'hidden') continue;
    const l1 = lum(fg.rgb), l2 = lum(bgOf(el));
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
    if (ratio < ((size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5)) {
      bad.push(`${el.tagName} "${n.textContent.trim().slice(0, 24)}" ${ratio.toFixed(2)}`);
    }
  }
  return bad;
}"""
# Buttons, fields and the navigation: at least 44 x 44 CSS px (gloves, panel PCs).
SMALL_TARGETS_JS = """() => [...document.querySelectorAll(
    'button, select, input, nav a, .button')].filter((e) => e.getClientRects().length
    && !e.closest('[hidden], dialog:not([open])')).map((e) => [e, e.getBoundingClientRect()])
    .filter(([, r]) => r.height < 44 || r.width < 44)
    .map(([e, r]) => `${e.tagName}#${e.id} ${Math.round(r.width)}x${Math.round(r.height)}`)"""


def accessibility_problems(page) -> list[str]:
    return [*page.evaluate(CONTRAST_JS), *page.evaluate(SMALL_TARGETS_JS)]
