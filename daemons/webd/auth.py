"""Who is calling: logins, sessions, API keys and the `authorize` checks of every endpoint.

Everything here touches SQLite (users.db, audit.db, webd.db), so it runs on webd's one
worker thread (`Worker`): the connections are made and used on that thread only, and the
event loop stays free for the server and the live events.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from daemons.core.access.accounts import AccessError, Accounts
from daemons.core.access.audit import AuditLog
from daemons.core.access.model import Decision, User
from daemons.core.access.passwords import Passwords
from daemons.core.access.policy import Policy, load_policy
from daemons.core.access.users import UserStore
from daemons.core.access.writes import read_scope
from daemons.core.config import GatewayConfig
from daemons.core.problems import ValidationError
from daemons.core.tagmap import TagDef, TagMap, TagMapContext, load_tagmaps, store
from daemons.webd.sessions import Session, SessionStore, csrf_matches

SOURCE = "web"  # the audit log's word for webd
# The access module locks one user out after its failures; this limits one address trying
# many user names (password spraying): after this many failed logins in the window, its
# next attempts are refused (429) without checking a password.
ADDRESS_FAILURES = 10
ADDRESS_WINDOW_S = 60.0
T = TypeVar("T")


class ApiError(Exception):
    """An HTTP error with its message in both languages (the body is {"error": {en, es}})."""

    def __init__(self, status: int, en: str, es: str) -> None:
        super().__init__(en)
        self.status, self.en, self.es = status, en, es


def unauthenticated() -> ApiError:
    return ApiError(401, "log in first (session expired or missing)",
                    "inicie sesión primero (sesión vencida o ausente)")


def refused(decision: Decision) -> ApiError:
    return ApiError(403, decision.en, decision.es)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a session's user (with its CSRF token) or an API key's."""

    user: User
    session: Session | None  # None: an API key (no cookie, so no CSRF to check)
    token: str = ""  # the session cookie's value


class Worker:
    """One thread for all of webd's blocking work (SQLite connections stay on it)."""

    def __init__(self) -> None:
        self.pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="webd-db")

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def load_tagmap(config: GatewayConfig) -> TagMap | None:
    """The installed tag maps, or None (no maps yet, or invalid: writes are then refused)."""
    tagmap_dir = config.paths.tagmap_dir
    try:
        files = store.active_files(tagmap_dir)
        if not files:
            return None
        return load_tagmaps(files, TagMapContext.from_config(config),
                            version=store.current_version(tagmap_dir))
    except (ValidationError, OSError):
        return None


class Gatekeeper:
    """Accounts, sessions and the policy for one configuration (built on the worker)."""

    def __init__(self, config: GatewayConfig, *, log: Any = None,
                 hasher: Passwords | None = None) -> None:
        self.config = config
        self.policy: Policy = load_policy(config)
        self.well_types: Mapping[str, str] = MappingProxyType(
            {w.id: w.type for w in config.wells.values()})
        state = config.paths.state_dir
        self.audit = AuditLog(state, log=log)
        self.users = UserStore(state)
        self.accounts = Accounts(self.users, self.audit, self.policy, config.access,
                                 hasher=hasher)
        self.sessions = SessionStore(state, idle_s=config.web.session_idle_minutes * 60,
                                     max_s=config.web.session_max_hours * 3600)
        self.tagmap: TagMap | None = load_tagmap(config)
        self.tagmap_version = store.current_version(config.paths.tagmap_dir) \
            if self.tagmap is not None else -1
        self.failures: dict[str, deque[float]] = {}  # address -> monotonic failure times

    def close(self) -> None:
        self.sessions.close()
        self.users.close()
        self.audit.close()

    # --- authentication ---------------------------------------------------------------

    def login(self, name: str, password: str, address: str = ""
              ) -> tuple[User, Session, bool]:
        """(user, new session, must the user change a one-time password now)."""
        now = time.monotonic()
        if len(self.failures) > 4096:  # bounded memory: forget addresses gone quiet
            self.failures = {a: d for a, d in self.failures.items()
                             if d and now - d[-1] <= ADDRESS_WINDOW_S}
        recent = self.failures.setdefault(address, deque())
        while recent and now - recent[0] > ADDRESS_WINDOW_S:
            recent.popleft()
        if len(recent) >= ADDRESS_FAILURES:
            self.audit.append(name, SOURCE, "login.throttled", name, {"address": address})
            raise ApiError(429, "too many failed logins from this address: wait a minute",
                           "demasiados inicios de sesión fallidos desde esta dirección: "
                           "espere un minuto")
        # Accounts.login counts failures toward the lockout and audits success and failure.
        result = self.accounts.login(name, password, SOURCE)
        if not result.ok or result.user is None:
            recent.append(now)
            raise ApiError(423 if result.code == "locked" else 401, result.en, result.es)
        if not recent:
            del self.failures[address]  # the table holds only addresses that failed
        return result.user, self.sessions.create(result.user.name), result.must_change

    def change_password(self, who: Principal, old: str, new: str) -> None:
        """A user's own new password, the current one proven first (a session left open
        on a panel PC must not let anyone take the account over)."""
        rec = self.users.get(who.user.name)
        if rec is None or rec.password_hash is None \
                or not self.accounts.hasher.verify(rec.password_hash, old):
            self.audit.append(who.user.name, SOURCE, "user.passwd.denied", who.user.name,
                              {"reason": "wrong current password"})
            raise ApiError(403, "the current password is wrong",
                           "la contraseña actual es incorrecta")
        try:
            self.accounts.set_password(who.user, SOURCE, who.user.name, new)
        except AccessError as exc:
            raise ApiError(400, exc.en, exc.es) from exc

    def must_change(self, name: str) -> bool:
        rec = self.users.get(name)
        return bool(rec is not None and rec.must_change)

    def logout(self, who: Principal) -> None:
        if who.session is not None:
            self.sessions.delete(who.token)
            self.audit.append(who.user.name, SOURCE, "logout", who.user.name, {})

    def principal(self, cookie: str | None, bearer: str | None) -> Principal:
        """The caller of a request; ApiError 401 when there is none (or it is disabled)."""
        if bearer:
            user = self.accounts.check_api_key(bearer, SOURCE)
            if user is None:
                raise ApiError(401, "invalid API key", "clave de API no válida")
            return Principal(user, None)
        if not cookie:
            raise unauthenticated()
        session = self.sessions.get(cookie)
        if session is None:
            raise unauthenticated()
        # Read fresh on every request: a role change or a disable counts at once.
        rec = self.users.get(session.user)
        if rec is None or not rec.enabled:
            self.sessions.delete(cookie)
            raise unauthenticated()
        return Principal(rec.user(), session, cookie)

    def check_csrf(self, who: Principal, header: str | None) -> None:
        """Cookie sessions must echo their CSRF token on state-changing requests."""
        if who.session is not None and not csrf_matches(who.session.csrf, header):
            raise ApiError(403, "missing or wrong CSRF token (X-CSRF-Token header)",
                           "falta el token CSRF o no es válido (cabecera X-CSRF-Token)")

    # --- authorization ----------------------------------------------------------------

    def require(self, user: User, module: str, operation: str, well: str | None = None
                ) -> None:
        decision = self.policy.authorize(user, module, operation, well)
        if not decision:
            raise refused(decision)

    def allowed(self, user: User, module: str, operation: str, well: str | None = None
                ) -> bool:
        return bool(self.policy.authorize(user, module, operation, well))

    def tag_def(self, name: str) -> TagDef | None:
        """The tag map's definition, reloading the maps when a new version is installed."""
        version = store.current_version(self.config.paths.tagmap_dir)
        if version != self.tagmap_version:
            self.tagmap, self.tagmap_version = load_tagmap(self.config), version
        return self.tagmap.get(name) if self.tagmap is not None else None

    def tag_scope(self, name: str) -> tuple[str, str | None]:
        """(module, well) a read of `name` is checked against (`read_scope`)."""
        tag = self.tagmap.get(name) if self.tagmap is not None else None
        return read_scope(name, tag, self.config.wells, self.well_types)

    def may_read_tag(self, user: User, name: str) -> bool:
        module, well = self.tag_scope(name)
        return self.allowed(user, module, "read", well)
