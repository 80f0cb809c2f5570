"""The pages without a browser: sessions and redirects, the language catalogues (both
languages complete, merged, a clash is an error), no inline script or style anywhere
(the CSP forbids them), JSON in the page cannot close its element, and the page files
are package data (a wheel or frozen build has them)."""

from __future__ import annotations

import json
import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from daemons.core.problems import ValidationError
from daemons.webd.i18n import CATALOGUE_DIR, load_catalogues, translate
from daemons.webd.pages import STATIC_DIR, TEMPLATE_DIR, script_json

from .conftest import login

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]
PAGES = ["/overview", "/wells/W101", "/trends", "/alarms", "/tags", "/system", "/password"]


@pytest.mark.parametrize("path", [*PAGES, "/"])
def test_pages_need_a_session(client, path):
    r = client.get(path, follow_redirects=False)
    assert r.status_code in (302, 303, 307) and r.headers["location"] == "/login"


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_without_inline_script_or_style(client, path):
    login(client, "ana")
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "<style" not in html and " style=" not in html
    assert re.search(r" on[a-z]+=", html) is None  # no inline event handlers


def test_the_well_page_has_the_view_mount_point(client):
    login(client, "eva")
    html = client.get("/wells/W101").text
    assert '<section id="well-view" data-well="W101" data-type="rod_pump"' in html
    assert client.get("/wells/NOPE").status_code == 404


def test_login_page_in_either_language_and_logged_in_users_go_on(client):
    assert 'lang="en"' in client.get("/login?lang=en").text
    assert "Iniciar sesión" in client.get("/login?lang=es").text
    login(client, "ana")
    assert client.get("/login", follow_redirects=False).headers["location"] == "/overview"


def test_static_modules_are_served(client):
    r = client.get("/static/js/ctx.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "export function createCtx" in r.text
    assert client.get("/static/js/nothing.js").status_code == 404


def test_both_languages_have_every_key():
    cats = load_catalogues()
    assert set(cats["en"]) == set(cats["es"])
    assert translate(cats, "es", "nav.overview") == "Resumen"
    assert translate(cats, "en", "overview.unacked", n=3) == "3 unacknowledged"
    assert translate(cats, "en", "no.such.key") == "no.such.key"


def test_every_key_the_pages_use_is_in_the_catalogue():
    keys = set(load_catalogues()["en"])
    used = set()
    for path in [*TEMPLATE_DIR.glob("*.html"), *STATIC_DIR.glob("js/*.js")]:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.A-Z]+)["']""", path.read_text()))
    assert used and used <= keys, used - keys


def test_a_key_in_two_areas_is_an_error_naming_both(tmp_path):
    for name in ("pages.en.json", "pages.es.json", "wells.es.json"):
        (tmp_path / name).write_text(json.dumps({"nav.tags": "x"}))
    (tmp_path / "wells.en.json").write_text(json.dumps({"nav.tags": "y"}))
    with pytest.raises(ValidationError) as exc:
        load_catalogues(tmp_path)
    text = str(exc.value)
    assert "nav.tags" in text and "pages.en.json" in text and "wells.en.json" in text
    (tmp_path / "wells.en.json").write_text("{not json")
    with pytest.raises(ValidationError, match="not a JSON catalogue"):
        load_catalogues(tmp_path)


def test_json_in_the_page_cannot_close_its_script_element():
    text = str(script_json({"k": "</script><script>alert(1)</script>&"}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"k": "</script><script>alert(1)</script>&"}


def test_page_files_are_package_data():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = data["tool"]["setuptools"]["package-data"]["daemons.webd"]
    webd = REPO / "daemons" / "webd"
    files = [p for d in (TEMPLATE_DIR, STATIC_DIR, CATALOGUE_DIR) for p in d.rglob("*")
             if p.is_file()]
    assert files
    for path in files:
        rel = path.relative_to(webd).as_posix()
        assert any(fnmatch(rel, g) for g in globs), rel


@pytest.mark.parametrize(("user", "ack", "shelve"), [("eva", "1", "0"), ("sam", "1", "1"),
                                                     ("rita", "0", "0")])
def test_alarm_buttons_follow_the_roles(client, user, ack, shelve):
    login(client, user)
    html = client.get("/alarms").text
    assert f'data-may-ack="{ack}" data-may-shelve="{shelve}"' in html
