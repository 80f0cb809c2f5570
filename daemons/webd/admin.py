"""Users and roles from the web (administrators): list, create, enable/disable, set roles.

Every change goes through the access module's `Accounts`, which checks
`authorize(user, "users", "write")` again and writes the audit entry (source `web`);
webd checks first so a refusal is a 403 (audited by Accounts as `*.denied` too).
"""

from __future__ import annotations

from typing import Any

from daemons.core.access.accounts import AccessError
from daemons.core.access.model import User
from daemons.webd.auth import SOURCE, ApiError, Gatekeeper


def _invalid(exc: AccessError) -> ApiError:
    status = 409 if "already exists" in exc.en or "last enabled administrator" in exc.en \
        else 400
    return ApiError(status, exc.en, exc.es)


class UserAdmin:
    def __init__(self, gate: Gatekeeper) -> None:
        self.gate = gate

    def _require_write(self, user: User, action: str, name: str) -> None:
        decision = self.gate.policy.authorize(user, "users", "write")
        if not decision:
            self.gate.audit.append(user.name, SOURCE, f"{action}.denied", name,
                                   {"reason": decision.en})
            raise ApiError(403, decision.en, decision.es)

    def list(self, user: User) -> list[dict[str, Any]]:
        self.gate.require(user, "users", "read")
        return [{"name": r.name, "display_name": r.display_name, "language": r.language,
                 "roles": list(r.roles), "scope": list(r.scope), "enabled": r.enabled,
                 "locked": r.locked_until_ns > 0, "has_api_key": r.api_key_id is not None}
                for r in self.gate.users.all()]

    def create(self, user: User, name: str, roles: list[str], scope: list[str],
               password: str | None, display_name: str, language: str) -> dict[str, Any]:
        self._require_write(user, "user.add", name)
        try:
            one_time = self.gate.accounts.add(user, SOURCE, name, roles, scope, password,
                                              display_name=display_name, language=language)
        except AccessError as exc:
            raise _invalid(exc) from exc
        return {"name": name, "one_time_password": one_time}

    def set_enabled(self, user: User, name: str, enabled: bool) -> dict[str, Any]:
        self._require_write(user, "user.enable" if enabled else "user.disable", name)
        try:
            self.gate.accounts.set_enabled(user, SOURCE, name, enabled)
        except AccessError as exc:
            raise self._missing_or_invalid(name, exc) from exc
        return {"name": name, "enabled": enabled}

    def set_roles(self, user: User, name: str, roles: list[str]) -> dict[str, Any]:
        self._require_write(user, "user.role", name)
        try:
            self.gate.accounts.set_roles(user, SOURCE, name, roles)
        except AccessError as exc:
            raise self._missing_or_invalid(name, exc) from exc
        return {"name": name, "roles": roles}

    def _missing_or_invalid(self, name: str, exc: AccessError) -> ApiError:
        if self.gate.users.get(name) is None:
            return ApiError(404, exc.en, exc.es)
        return _invalid(exc)
