"""The API endpoints the HMI pages added: overview, writable tags, system health, the alarm
journal, the page language, one's own password, and users and roles for administrators.

Same rules as daemons/webd/app.py: the `authenticated` guard (401), CSRF on every POST,
`authorize` in the work functions (403), changes audited (by the access module for
users and passwords, by webd for the language).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from daemons.webd.admin import UserAdmin
from daemons.webd.auth import SOURCE, ApiError
from daemons.webd.data import parse_time
from daemons.webd.i18n import LANGUAGES
from daemons.webd.pages import LANGUAGE_KEY
from daemons.webd.site import SiteViews


@dataclass(frozen=True, slots=True)
class LanguageBody:
    language: str


@dataclass(frozen=True, slots=True)
class PasswordBody:
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class NewUserBody:
    name: str
    roles: list[str]
    scope: list[str] = field(default_factory=list)
    password: str | None = None  # none: a one-time password is made and returned once
    display_name: str = ""
    language: str = "es"


@dataclass(frozen=True, slots=True)
class EnabledBody:
    enabled: bool


@dataclass(frozen=True, slots=True)
class RolesBody:
    roles: list[str]


def _web(request: Request) -> Any:
    return request.app.state.web


def routes(read: list, change: list) -> list:
    """The handlers, with app.py's guards (passed in: app.py imports this module)."""

    @get("/api/overview", guards=read,
         summary="Every well in scope: status, key values, alarm counts (or one: ?well=)")
    async def overview(request: Request, well: FromQuery[str | None] = None
                       ) -> dict[str, Any]:
        web = _web(request)
        views = SiteViews(web.gate, web.api)
        return await web.worker.call(views.overview, request.state.who.user, well)

    @get("/api/tags/writable", guards=read,
         summary="The matching tags this user may write, with their limits")
    async def writable(request: Request, pattern: FromQuery[str] = "*"
                       ) -> list[dict[str, Any]]:
        web = _web(request)
        views = SiteViews(web.gate, web.api)
        return await web.worker.call(views.writable, request.state.who.user, pattern)

    @get("/api/system", guards=read,
         summary="/api/status plus device communication health and disk use")
    async def system(request: Request) -> dict[str, Any]:
        web = _web(request)
        views = SiteViews(web.gate, web.api)
        return await web.worker.call(views.system, request.state.who.user)

    @get("/api/alarms/journal", guards=read,
         summary="alarmd's journal of transitions, newest first (search: text)")
    async def journal(request: Request, since: FromQuery[str | None] = None,
                      until: FromQuery[str | None] = None, text: FromQuery[str] = "",
                      limit: FromQuery[int] = 200) -> list[dict[str, Any]]:
        web = _web(request)
        views = SiteViews(web.gate, web.api)
        since_s = parse_time(since, -1, "since") / 1e9 if since else None
        until_s = parse_time(until, -1, "until") / 1e9 if until else None
        return await web.worker.call(views.journal, request.state.who.user, since_s,
                                     until_s, text, limit)

    @post("/api/me/language", guards=change, status_code=200,
          summary="The pages' language for this user (es or en), kept in webd.db")
    async def language(request: Request, data: JSONBody[LanguageBody]) -> dict[str, Any]:
        if data.language not in LANGUAGES:
            raise ApiError(400, f"'language' must be es or en, not '{data.language}'",
                           f"'language' debe ser es o en, no '{data.language}'")
        web, user = _web(request), request.state.who.user

        def store() -> None:
            web.gate.sessions.set_preference(user.name, LANGUAGE_KEY, data.language)
            web.gate.audit.append(user.name, SOURCE, "preference.language", user.name,
                                  {"language": data.language})
        await web.worker.call(store)
        return {"language": data.language}

    @post("/api/me/password", guards=change, status_code=200,
          summary="Change one's own password (the current one required); audited")
    async def password(request: Request, data: JSONBody[PasswordBody]) -> dict[str, Any]:
        web, who = _web(request), request.state.who
        if who.session is None:
            raise ApiError(403, "an API key cannot change a password",
                           "una clave de API no puede cambiar una contraseña")
        await web.worker.call(web.gate.change_password, who, data.old, data.new)
        return {"ok": True}

    @get("/api/users", guards=read, summary="Users, roles and scope (users/read)")
    async def users(request: Request) -> list[dict[str, Any]]:
        web = _web(request)
        return await web.worker.call(UserAdmin(web.gate).list, request.state.who.user)

    @post("/api/users", guards=change, status_code=201,
          summary="Create a user (users/write); answers a one-time password if none given")
    async def create_user(request: Request, data: JSONBody[NewUserBody]) -> dict[str, Any]:
        web = _web(request)
        return await web.worker.call(UserAdmin(web.gate).create, request.state.who.user,
                                     data.name, data.roles, data.scope, data.password,
                                     data.display_name, data.language)

    @post("/api/users/{name:str}/enabled", guards=change, status_code=200,
          summary="Enable or disable a user (users/write)")
    async def set_enabled(request: Request, name: FromPath[str],
                          data: JSONBody[EnabledBody]) -> dict[str, Any]:
        web = _web(request)
        return await web.worker.call(UserAdmin(web.gate).set_enabled,
                                     request.state.who.user, name, data.enabled)

    @post("/api/users/{name:str}/roles", guards=change, status_code=200,
          summary="Set a user's roles (users/write)")
    async def set_roles(request: Request, name: FromPath[str],
                        data: JSONBody[RolesBody]) -> dict[str, Any]:
        web = _web(request)
        return await web.worker.call(UserAdmin(web.gate).set_roles,
                                     request.state.who.user, name, data.roles)

    return [overview, writable, system, journal, language, password, users, create_user,
            set_enabled, set_roles]
