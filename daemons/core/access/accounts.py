"""User administration and logins, checked and audited the same way for every interface.

Each change names who makes it (`by`, a `User`); `authorize(by, "users", "write")`
decides, and the change is written to users.db and then appended to the audit log
(both durable) before the method returns.  Logins count failures and lock a user out for
`lockout_minutes` after `lockout_failures` in a row; the clock is injectable so tests
can walk through a lockout and its expiry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from daemons.core.access.audit import AuditLog
from daemons.core.access.model import LANGUAGE_IDS, ROLES, USER_NAME, Scope, User
from daemons.core.access.passwords import (
    Passwords,
    digests_equal,
    new_api_key,
    one_time_password,
    policy_problems,
    split_api_key,
)
from daemons.core.access.policy import Policy
from daemons.core.access.users import UserRecord, UserStore
from daemons.core.config import AccessSection

MINUTE_NS = 60_000_000_000


class AccessError(Exception):
    """A refused or invalid request, in both languages (the CLI exits 1)."""

    def __init__(self, en: str, es: str) -> None:
        super().__init__(en)
        self.en, self.es = en, es


@dataclass(frozen=True, slots=True)
class LoginResult:
    ok: bool
    code: str  # ok, bad (wrong name or password), locked, disabled
    user: User | None
    must_change: bool
    en: str
    es: str


def resolve_scope(items: Iterable[str], field_of: Mapping[str, str]) -> Scope:
    """FIELD, FIELD/WELL or WELL items checked against the gateway's wells."""
    fields_cf = {f.casefold(): f for f in field_of.values() if f}
    fields, wells = set(), set()
    for raw in items:
        item = raw.strip()
        field_part, slash, well = item.partition("/")
        if slash:
            if well not in field_of:
                raise AccessError(f"scope '{item}': no well '{well}' on this gateway",
                                  f"alcance '{item}': no hay pozo '{well}' en este gateway")
            if field_part and field_part.casefold() != field_of[well].casefold():
                raise AccessError(f"scope '{item}': well {well} is in field "
                                  f"'{field_of[well]}'", f"alcance '{item}': el pozo {well} "
                                  f"está en el campo '{field_of[well]}'")
            wells.add(well)
        elif item.casefold() in fields_cf:
            fields.add(fields_cf[item.casefold()])
        elif item in field_of:
            wells.add(item)
        else:
            known = ", ".join(sorted(set(fields_cf.values()))) or "-"
            raise AccessError(f"scope '{item}' is neither a field nor a well of this gateway "
                              f"(fields: {known})", f"el alcance '{item}' no es un campo ni "
                              f"un pozo de este gateway (campos: {known})")
    return Scope(frozenset(fields), frozenset(wells))


def check_roles(roles: Iterable[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(r.strip().lower() for r in roles if r.strip()))
    if not out:
        raise AccessError("give at least one role", "indique al menos un rol")
    for r in out:
        if r not in ROLES:
            raise AccessError(f"unknown role '{r}'; roles: {', '.join(ROLES)}",
                              f"rol desconocido '{r}'; roles: {', '.join(ROLES)}")
    return out


class Accounts:
    def __init__(self, users: UserStore, audit: AuditLog, policy: Policy,
                 settings: AccessSection, *, hasher: Passwords | None = None,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.users, self.audit, self.policy, self.settings = users, audit, policy, settings
        self.hasher = hasher or Passwords()
        self.clock = clock

    # --- administration ---------------------------------------------------------------

    def _allowed(self, by: User, source: str, action: str, name: str) -> None:
        decision = self.policy.authorize(by, "users", "write")
        if not decision:
            self.audit.append(by.name, source, f"{action}.denied", name,
                              {"reason": decision.en})
            raise AccessError(decision.en, decision.es)

    def _get(self, name: str) -> UserRecord:
        rec = self.users.get(name)
        if rec is None:
            raise AccessError(f"no user '{name}'", f"no existe el usuario '{name}'")
        return rec

    def _check_password(self, name: str, password: str) -> None:
        problems = policy_problems(password, name, self.settings.password_min_length)
        if problems:
            raise AccessError("; ".join(p[0] for p in problems),
                              "; ".join(p[1] for p in problems))

    def add(self, by: User, source: str, name: str, roles: Iterable[str],
            scope: Iterable[str] = (), password: str | None = None, *,
            display_name: str = "", language: str = "es") -> str | None:
        """Create a user; returns a one-time password when none was given."""
        self._allowed(by, source, "user.add", name)
        if not USER_NAME.match(name):
            raise AccessError(f"'{name}' is not a valid user name (lower-case letters, "
                              "digits, '_', '.', '-'; at most 32)", f"'{name}' no es un "
                              "nombre de usuario válido (minúsculas, dígitos, '_', '.', '-'; "
                              "máximo 32)")
        if language not in LANGUAGE_IDS:
            raise AccessError(f"language must be es or en, not '{language}'",
                              f"el idioma debe ser es o en, no '{language}'")
        role_ids = check_roles(roles)
        resolved = resolve_scope(scope, self.policy.field_of)
        one_time = password is None
        password = one_time_password() if password is None else password
        self._check_password(name, password)
        now = self.clock()
        rec = UserRecord(name, display_name, language, role_ids,
                         resolved.stored(self.policy.field_of), True,
                         self.hasher.hash(password), one_time, 0, 0, None, None, now, now,
                         None)
        if not self.users.insert(rec):
            raise AccessError(f"user '{name}' already exists", f"el usuario '{name}' ya existe")
        self.audit.append(by.name, source, "user.add", name, {
            "roles": list(role_ids), "scope": list(rec.scope), "one_time_password": one_time})
        return password if one_time else None

    def set_password(self, by: User, source: str, name: str, password: str | None) -> str | None:
        """A new password (None: a one-time one, returned); the user may change their own."""
        if by.name != name or by.system:
            self._allowed(by, source, "user.passwd", name)
        self._get(name)
        one_time = password is None
        password = one_time_password() if password is None else password
        self._check_password(name, password)
        self.users.update(name, self.clock(), password_hash=self.hasher.hash(password),
                          must_change=int(one_time), failures=0, locked_until_ns=0)
        self.audit.append(by.name, source, "user.passwd", name, {"one_time_password": one_time})
        return password if one_time else None

    def set_roles(self, by: User, source: str, name: str, roles: Iterable[str]) -> None:
        self._allowed(by, source, "user.role", name)
        old = self._get(name)
        role_ids = check_roles(roles)
        if "administrator" not in role_ids:
            self._keep_an_administrator(old)
        self.users.update(name, self.clock(), roles=role_ids)
        self.audit.append(by.name, source, "user.role", name,
                          {"old": list(old.roles), "new": list(role_ids)})

    def set_scope(self, by: User, source: str, name: str, scope: Iterable[str]) -> None:
        self._allowed(by, source, "user.scope", name)
        old = self._get(name)
        stored = resolve_scope(scope, self.policy.field_of).stored(self.policy.field_of)
        self.users.update(name, self.clock(), scope=stored)
        self.audit.append(by.name, source, "user.scope", name,
                          {"old": list(old.scope), "new": list(stored)})

    def set_enabled(self, by: User, source: str, name: str, enabled: bool) -> None:
        action = "user.enable" if enabled else "user.disable"
        self._allowed(by, source, action, name)
        old = self._get(name)
        if not enabled:
            self._keep_an_administrator(old)
        self.users.update(name, self.clock(), enabled=int(enabled), failures=0,
                          locked_until_ns=0)
        self.audit.append(by.name, source, action, name, {})

    def new_api_key(self, by: User, source: str, name: str) -> str:
        """A new API key for `name` (replacing any earlier one); shown once, stored hashed."""
        self._allowed(by, source, "user.apikey", name)
        self._get(name)
        key = new_api_key()
        self.users.update(name, self.clock(), api_key_id=key.key_id, api_key_hash=key.digest)
        self.audit.append(by.name, source, "user.apikey", name, {"key_id": key.key_id})
        return key.key

    def _keep_an_administrator(self, rec: UserRecord) -> None:
        # Root on the gateway can always repair this, but a site should not lock its
        # administrators out of the HMI by one mistaken command.
        if "administrator" not in rec.roles or not rec.enabled:
            return
        others = [u for u in self.users.all() if u.name != rec.name and u.enabled
                  and "administrator" in u.roles]
        if not others:
            raise AccessError(f"'{rec.name}' is the last enabled administrator",
                              f"'{rec.name}' es el último administrador habilitado")

    # --- authentication ---------------------------------------------------------------

    def login(self, name: str, password: str, source: str) -> LoginResult:
        now = self.clock()
        rec = self.users.get(name)
        if rec is None or rec.password_hash is None:
            self.hasher.dummy_verify(password)
            self.audit.append(name, source, "login.failed", name, {"reason": "unknown user"})
            return _bad()
        if rec.locked_until_ns > now:
            minutes = max(1, round((rec.locked_until_ns - now) / MINUTE_NS))
            self.audit.append(name, source, "login.failed", name, {"reason": "locked out"})
            return LoginResult(False, "locked", None, False,
                               f"too many failed logins: try again in {minutes} min",
                               f"demasiados intentos fallidos: intente de nuevo en {minutes} "
                               "min")
        if not self.hasher.verify(rec.password_hash, password):
            return self._failed(rec, now, source)
        if not rec.enabled:
            self.audit.append(name, source, "login.failed", name, {"reason": "disabled"})
            return LoginResult(False, "disabled", None, False, f"user '{name}' is disabled",
                               f"el usuario '{name}' está deshabilitado")
        rehash = self.hasher.needs_rehash(rec.password_hash)
        fields: dict[str, object] = {"failures": 0, "locked_until_ns": 0, "last_login_ns": now}
        if rehash:
            fields["password_hash"] = self.hasher.hash(password)
        self.users.update(name, now, touch=False, **fields)
        self.audit.append(name, source, "login", name, {"rehashed": rehash})
        user = replace(rec, failures=0).user()
        return LoginResult(True, "ok", user, rec.must_change, f"welcome, {name}",
                           f"bienvenido, {name}")

    def _failed(self, rec: UserRecord, now: int, source: str) -> LoginResult:
        failures = rec.failures + 1
        limit = self.settings.lockout_failures
        self.audit.append(rec.name, source, "login.failed", rec.name,
                          {"reason": "wrong password", "failures": failures})
        if failures >= limit:
            until = now + int(self.settings.lockout_minutes * MINUTE_NS)
            self.users.update(rec.name, now, touch=False, failures=0, locked_until_ns=until)
            self.audit.append("system", "system", "login.lockout", rec.name,
                              {"failures": failures, "minutes": self.settings.lockout_minutes})
        else:
            self.users.update(rec.name, now, touch=False, failures=failures)
        return _bad()

    def check_api_key(self, key: str, source: str) -> User | None:
        """The enabled user holding `key`, else None (a failure is audited)."""
        parts = split_api_key(key)
        rec = self.users.by_api_key(parts[0]) if parts else None
        if rec is None or rec.api_key_hash is None or not rec.enabled \
                or not digests_equal(rec.api_key_hash, parts[1]):
            self.audit.append(rec.name if rec else "unknown", source, "apikey.failed",
                              rec.name if rec else "", {})
            return None
        return rec.user()


def _bad() -> LoginResult:
    # The same words for an unknown user and a wrong password: no user-name probing.
    return LoginResult(False, "bad", None, False, "wrong user name or password",
                       "usuario o contraseña incorrectos")
