"""The operators' HTML pages: server-rendered shells (Jinja2, autoescaped) that load small
ES modules from /static; the modules fill them from the API and the event stream.

A page needs a session (no session: a redirect to /login); what it shows comes from the
API, which authorizes every call, so a page never shows more than its user may read.
The page's language is the user's choice kept in webd.db, else the user's language in
the access module, else the gateway's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response, Router, get
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from markupsafe import Markup

from daemons.core.access.model import User
from daemons.webd.auth import ApiError, Principal
from daemons.webd.i18n import LANGUAGES, translate

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"
LANGUAGE_KEY = "language"
NAV = (("overview", "/overview"), ("trends", "/trends"), ("alarms", "/alarms"),
       ("tags", "/tags"), ("system", "/system"))

_env = Environment(loader=FileSystemLoader(TEMPLATE_DIR),
                   autoescape=select_autoescape(("html",), default=True),
                   trim_blocks=True, lstrip_blocks=True)


def script_json(data: object) -> Markup:
    """JSON to put inside <script type="application/json">: a script element's text is
    not entity-decoded, so it is not HTML-escaped; <, > and & are escaped as JSON
    \\u escapes instead, so no value can close the element."""
    text = json.dumps(data, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def page_language(web: Any, user: User) -> str:
    """Runs on the worker: the user's stored choice, their account's, the gateway's."""
    chosen = web.gate.sessions.preference(user.name, LANGUAGE_KEY)
    for lang in (chosen, user.language, web.gate.config.gateway.language):
        if lang in LANGUAGES:
            return str(lang)
    return "es"


async def _who(request: Request) -> Principal | None:
    web = request.app.state.web
    try:
        return await web.worker.call(web.gate.principal,
                                     request.cookies.get("wg_session"), None)
    except ApiError:
        return None


def _render(request: Request, name: str, lang: str, status: int = 200,
            **values: Any) -> Response:
    catalogues: Mapping[str, Mapping[str, str]] = request.app.state.catalogues

    def t(key: str, **kw: object) -> str:
        return translate(catalogues, lang, key, **kw)

    html = _env.get_template(name).render(
        lang=lang, t=t, nav=NAV, site=request.app.state.web.gate.config.gateway.site,
        catalogue=script_json(dict(catalogues[lang])), **values)
    return Response(html, status_code=status, media_type="text/html")


async def _page(request: Request, template: str, page: str, **values: Any) -> Response:
    who = await _who(request)
    if who is None:
        return Redirect("/login")
    web = request.app.state.web
    if await web.worker.call(web.gate.must_change, who.user.name):
        return Redirect("/password")  # a one-time password is changed before anything
    lang = await web.worker.call(page_language, web, who.user)
    admin = await web.worker.call(web.gate.allowed, who.user, "users", "read")
    system = await web.worker.call(web.gate.allowed, who.user, "system", "read")
    # The page's own polling and event stream keep the session fresh on the server, so
    # the page logs itself out after the idle time without a key, click or touch.
    idle_s = int(web.gate.sessions.idle_ns / 1e9)
    return _render(request, template, lang, page=page, user=who.user, is_admin=admin,
                   may_system=system, idle_s=idle_s, **values)


@get("/", include_in_schema=False)
async def root(request: Request) -> Response:
    return Redirect("/overview" if await _who(request) is not None else "/login")


@get("/login", include_in_schema=False)
async def login_page(request: Request, lang: FromQuery[str | None] = None) -> Response:
    if await _who(request) is not None:
        return Redirect("/overview")
    default = request.app.state.web.gate.config.gateway.language
    chosen = lang if lang in LANGUAGES else default if default in LANGUAGES else "es"
    return _render(request, "login.html", chosen, page="login", user=None, is_admin=False,
                   may_system=False)


@get("/password", include_in_schema=False)
async def password_page(request: Request) -> Response:
    who = await _who(request)
    if who is None:
        return Redirect("/login")
    web = request.app.state.web
    lang = await web.worker.call(page_language, web, who.user)
    must = await web.worker.call(web.gate.must_change, who.user.name)
    return _render(request, "password.html", lang, page="password", user=who.user,
                   is_admin=False, may_system=False, must_change=must,
                   idle_s=int(web.gate.sessions.idle_ns / 1e9))


@get("/overview", include_in_schema=False)
async def overview_page(request: Request) -> Response:
    return await _page(request, "overview.html", "overview")


@get("/wells/{well:str}", include_in_schema=False)
async def well_page(request: Request, well: FromPath[str]) -> Response:
    web = request.app.state.web
    w = web.gate.config.wells.get(well)
    if w is None:
        who = await _who(request)
        if who is None:
            return Redirect("/login")
        lang = await web.worker.call(page_language, web, who.user)
        return _render(request, "error.html", lang, status=404, page="error", user=who.user,
                       is_admin=False, may_system=False, message_key="error.no_well",
                       well=well)
    return await _page(request, "well.html", "well", well=w)


@get("/trends", include_in_schema=False)
async def trends_page(request: Request) -> Response:
    return await _page(request, "trends.html", "trends")


@get("/alarms", include_in_schema=False)
async def alarms_page(request: Request) -> Response:
    # Buttons only for what the user's roles allow (alarmd's rules: acknowledging is
    # alarms/write, shelving alarms/approve); the API checks each alarm's well anyway.
    web = request.app.state.web
    who = await _who(request)
    may = {"ack": False, "shelve": False}
    if who is not None:  # by role: a user scoped to some wells may act on theirs
        roles = who.user.roles
        matrix = web.gate.policy.matrix
        may = {"ack": bool(roles & matrix.roles_for("alarms", "write")),
               "shelve": bool(roles & matrix.roles_for("alarms", "approve"))}
    return await _page(request, "alarms.html", "alarms", may=may)


@get("/tags", include_in_schema=False)
async def tags_page(request: Request) -> Response:
    return await _page(request, "tags.html", "tags")


@get("/system", include_in_schema=False)
async def system_page(request: Request) -> Response:
    return await _page(request, "system.html", "system")


def pages_router() -> Router:
    return Router(path="/", route_handlers=[root, login_page, password_page, overview_page,
                                            well_page, trends_page, alarms_page, tags_page,
                                            system_page])


def static_router() -> Router:
    # uPlot's files are copied into static/vendor by `make web` (npm ci in web/).
    return create_static_files_router(path="/static", directories=[STATIC_DIR],
                                      include_in_schema=False)
