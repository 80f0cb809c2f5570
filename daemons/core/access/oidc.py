"""The seam for delegating logins to an OpenID Connect provider (Keycloak); not built yet.

Off by default, and optional for sites that have a provider.  What is fixed now, so the
web HMI can add it without touching `authorize` or the audit log:

- Authentication is pluggable, authorization is not.  A provider only answers "who is
  this?"; roles and scope still come from the gateway's users.db (an administrator maps
  provider identities to gateway users), so a cloud outage or a provider change never
  changes what anyone may do on the well pad, and `authorize` stays one local function.
- webd runs the authorization-code flow with PKCE against the provider, validates the ID
  token (issuer, audience, expiry, signature against the provider's JWKS), and passes the
  verified claims to an `Authenticator`, which returns the gateway `User` or None.
- Every outcome is audited exactly like a local login (`login` / `login.failed`, source
  `web`, details {"via": "oidc", "subject": …}); lockout counters do not apply (the
  provider has its own).
- When the provider is unreachable, local passwords keep working for users that have one
  (the administrator created by `make demo` or `wellgate user add` always does).

Configuration it will take (an `[access.oidc]` table, rejected today as unknown keys):
issuer URL, client id, client secret file, the claim holding the gateway user name
(default `preferred_username`), and `required = false`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from daemons.core.access.model import User


@dataclass(frozen=True, slots=True)
class VerifiedClaims:
    """An ID token that webd has already validated (signature, issuer, audience, expiry)."""

    issuer: str
    subject: str
    claims: Mapping[str, Any]


class Authenticator(Protocol):
    """Maps a verified external identity to a gateway user (None: no such user, or
    disabled).  Implementations audit their own outcome through the AuditLog."""

    def authenticate(self, claims: VerifiedClaims, source: str) -> User | None: ...
