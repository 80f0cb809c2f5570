"""The Litestar application: the REST API under /api, its OpenAPI schema at /schema.

Every handler first resolves the caller (session cookie or `Authorization: Bearer` API
key; 401 without one), checks the CSRF token on state-changing requests of cookie
sessions, and leaves the `authorize` decision to `Api` (403), so no endpoint is guarded
only in a page.  Blocking work runs on the one worker thread (daemons/webd/auth.py).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Litestar, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from daemons.core.service import wellgate_version
from daemons.webd.auth import ApiError, Gatekeeper, Principal, Worker
from daemons.webd.data import Api
from daemons.webd.hmi_routes import routes as hmi_routes
from daemons.webd.i18n import load_catalogues
from daemons.webd.live import KEEPALIVE_S, RECHECK_S, hub_of
from daemons.webd.pages import pages_router, static_router
from daemons.webd.site import SiteViews
from daemons.webd.wellviews.views import well_view

SESSION_COOKIE = "wg_session"
CSRF_COOKIE = "wg_csrf"  # readable by the page's script: it echoes it in X-CSRF-Token
CSRF_HEADER = "x-csrf-token"
SECURITY_HEADERS = (
    # No inline scripts or styles: the pages load ES modules and CSS from /static.
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; "
                                 b"style-src 'self'; img-src 'self' data:; "
                                 b"frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)


@dataclass(frozen=True, slots=True)
class LoginBody:
    user: str
    password: str


@dataclass(frozen=True, slots=True)
class WriteBody:
    tag: str
    value: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AckBody:
    comment: str = ""


@dataclass(frozen=True, slots=True)
class ShelveBody:
    seconds: float
    comment: str


@dataclass(frozen=True)
class WebState:
    worker: Worker
    gate: Gatekeeper
    api: Api


def security_headers(app: ASGIApp) -> ASGIApp:
    """Add the security headers to every HTTP response, errors and 404s included."""
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"server"]
                message = {**message, "headers": [*headers, *SECURITY_HEADERS]}
            await send(message)

        await app(scope, receive, send_with_headers)
    return wrapped


def _api_error(_: Request, exc: ApiError) -> Response:
    return Response({"detail": exc.en, "error": {"en": exc.en, "es": exc.es}},
                    status_code=exc.status)


def _state(request: Request) -> WebState:
    return request.app.state.web


async def authenticated(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: the caller (401 without one).  Guards run before the body is parsed, so a
    request without a session is 401 whatever it sends."""
    web = connection.app.state.web
    auth = connection.headers.get("authorization", "")
    bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    connection.state.who = await web.worker.call(
        web.gate.principal, connection.cookies.get(SESSION_COOKIE), bearer)


async def csrf_checked(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard (after `authenticated`): cookie sessions echo their CSRF token."""
    connection.app.state.web.gate.check_csrf(connection.state.who,
                                             connection.headers.get(CSRF_HEADER))


READ = [authenticated]
CHANGE = [authenticated, csrf_checked]


def _caller(request: Request) -> Principal:
    return request.state.who


def _me(who: Principal) -> dict[str, Any]:
    u = who.user
    return {"user": u.name, "display_name": u.display_name, "language": u.language,
            "roles": sorted(u.roles), "scope": list(u.scope.items()),
            "auth": "session" if who.session is not None else "api-key",
            "csrf_token": who.session.csrf if who.session is not None else None}


@post("/api/login", status_code=200, summary="Log in: sets the session cookie")
async def login(request: Request, data: JSONBody[LoginBody]) -> Response:
    web = _state(request)
    # A JSON body is required: a cross-site HTML form cannot send one without a CORS
    # preflight, so nobody can log a victim's browser in to an attacker's account.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, "send the login as application/json",
                       "envíe el inicio de sesión como application/json")
    address = request.client.host if request.client is not None else ""
    user, session, must_change = await web.worker.call(web.gate.login, data.user,
                                                       data.password, address)
    who = Principal(user, session, session.token)
    # must_change_password: a one-time password, to be changed now (POST /api/me/password)
    response = Response({**_me(who), "must_change_password": must_change})
    secure = request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="strict",
                        secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, session.csrf, httponly=False, samesite="strict",
                        secure=secure, path="/")
    return response


@post("/api/logout", guards=CHANGE, status_code=200, summary="End the session")
async def logout(request: Request) -> Response:
    web = _state(request)
    who = _caller(request)
    await web.worker.call(web.gate.logout, who)
    response = Response({"ok": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@get("/api/me", guards=READ, summary="The logged-in user, roles, scope and CSRF token")
async def me(request: Request) -> dict[str, Any]:
    return _me(_caller(request))


@get("/api/tags", guards=READ,
     summary="Live values (same keys as `wellgate tags --json`)")
async def tags(request: Request, pattern: FromQuery[str] = "*"
               ) -> Response[list[dict[str, Any]]]:
    web, who = _state(request), _caller(request)
    # JSON made column-wise by Api.tags_json (the list-of-dicts type is for the schema)
    return Response(await web.worker.call(web.api.tags_json, who.user, pattern),
                    media_type="application/json")


@get("/api/history/{tag:str}", guards=READ,
     summary="A decimated trend from history (JSON, or CSV with ?format=csv)")
async def history(request: Request, tag: FromPath[str],
                  start: FromQuery[str | None] = None, end: FromQuery[str | None] = None,
                  points: FromQuery[int] = 500,
                  format: FromQuery[Literal["json", "csv"]] = "json") -> Response:
    web, who = _state(request), _caller(request)
    if format == "csv":
        views = SiteViews(web.gate, web.api)
        text = await web.worker.call(views.history_csv, who.user, tag, start, end, points)
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in tag)
        return Response(text, media_type="text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="{safe}.csv"'})
    return Response(await web.worker.call(web.api.history, who.user, tag, start, end,
                                          points))


@get("/api/wells", guards=READ, summary="The wells the user may see")
async def wells(request: Request) -> list[dict[str, Any]]:
    web, who = _state(request), _caller(request)
    return await web.worker.call(web.api.wells, who.user)


@get("/api/wells/{well:str}", guards=READ, summary="One well with its live values")
async def well(request: Request, well: FromPath[str]) -> dict[str, Any]:
    web, who = _state(request), _caller(request)
    return await web.worker.call(web.api.well, who.user, well)


@get("/api/alarms", guards=READ,
     summary="Alarms (from alarmd) on the wells the user may see")
async def alarms(request: Request) -> list[dict[str, Any]]:
    web, who = _state(request), _caller(request)
    return await web.worker.call(web.api.alarms, who.user)


@post("/api/alarms/{alarm_id:str}/ack", guards=CHANGE, status_code=200,
      summary="Acknowledge (via alarmd)")
async def ack(request: Request, alarm_id: FromPath[str],
              data: JSONBody[AckBody | None] = None) -> dict[str, Any]:
    web, who = _state(request), _caller(request)
    comment = data.comment if data is not None else ""
    return await web.worker.call(web.api.alarm_op, who.user, "ack", alarm_id, comment, None)


@post("/api/alarms/{alarm_id:str}/shelve", guards=CHANGE, status_code=200,
      summary="Shelve (via alarmd)")
async def shelve(request: Request, alarm_id: FromPath[str],
                 data: JSONBody[ShelveBody]) -> dict[str, Any]:
    web, who = _state(request), _caller(request)
    return await web.worker.call(web.api.alarm_op, who.user, "shelve", alarm_id,
                                 data.comment, data.seconds)


@post("/api/write", guards=CHANGE, status_code=200,
      summary="Write a tag (via acqd, read back)")
async def write(request: Request, data: JSONBody[WriteBody]) -> dict[str, Any]:
    web, who = _state(request), _caller(request)
    return await web.worker.call(web.api.write, who.user, data.tag, data.value, data.reason)


@get("/api/status", guards=READ, summary="Daemons' status and version")
async def status(request: Request) -> dict[str, Any]:
    web, who = _state(request), _caller(request)
    return await web.worker.call(web.api.status, who.user)


@get("/api/events", guards=READ, summary="Live values as Server-Sent Events (event: values)")
async def events(request: Request, pattern: FromQuery[str] = "*") -> ServerSentEvent:
    web, who = _state(request), _caller(request)
    await web.worker.call(web.gate.require, who.user, "production", "read")
    return ServerSentEvent(_stream(request, web, who, pattern))


async def _stream(request: Request, web: WebState, who: Principal, pattern: str
                  ) -> AsyncIterator[ServerSentEventMessage]:
    # One poller for all streams (daemons/webd/live.py): this loop only forwards its
    # ready payloads, re-checks the session and keeps the connection alive.
    hub = hub_of(request.app.state, web.gate.config.paths.runtime_dir)
    sub = hub.subscribe(pattern, lambda n: web.gate.may_read_tag(who.user, n),
                        (who.user, web.gate))  # a reload brings a new gate (policy)
    last_sent = last_check = time.monotonic()
    try:
        while not sub.ended:
            now = time.monotonic()
            if now - last_check >= RECHECK_S:
                last_check = now
                if who.token:  # a logged-out, expired or disabled session ends its stream
                    current = _state(request)  # after a reload, the new configuration's
                    try:
                        await current.worker.call(current.gate.principal, who.token, None)
                    except ApiError:
                        return
            payload = await sub.next(min(RECHECK_S - (now - last_check),
                                         KEEPALIVE_S - (now - last_sent)) + 0.01)
            if payload is not None:
                last_sent = time.monotonic()
                yield ServerSentEventMessage(data=payload, event="values")
            elif time.monotonic() - last_sent >= KEEPALIVE_S:
                last_sent = time.monotonic()
                yield ServerSentEventMessage(comment="keep-alive")
    finally:
        hub.unsubscribe(sub)


def build_app(web: WebState) -> Litestar:
    app = Litestar(
        route_handlers=[login, logout, me, tags, history, wells, well, alarms, ack, shelve,
                        write, status, events, *hmi_routes(READ, CHANGE), pages_router(),
                        static_router(), well_view],
        exception_handlers={ApiError: _api_error},
        middleware=[security_headers],
        openapi_config=OpenAPIConfig(title="wellgate webd", version=wellgate_version(),
                                     path="/schema"),
        debug=False,
    )
    app.state.web = web
    app.state.catalogues = load_catalogues()  # a broken catalogue stops webd at start
    return app

