"""Helpers for webd's real-browser tests: Debian's chromium driven by Playwright (its own
browser download is not reachable here), logins and screenshots into docs/screenshots/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

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
    sync_api = pytest.importorskip("playwright.sync_api")
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_api.sync_playwright() as p:
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
