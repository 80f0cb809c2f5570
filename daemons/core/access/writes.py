"""Who is writing: the identity acqd's command API attaches to every write.

- A local caller is known by its socket's peer credentials (SO_PEERCRED): root and the
  service user (the account the daemons run as) are the system; any other Unix user is
  the gateway user of the same name, or refused when there is none.
- A daemon that forwards a remote user's write (webd, opcuad, forwardd) runs as the
  service user and passes the authenticated user name in the request's `user`; only the
  system's accounts may speak for someone else, and the named gateway user must exist.
- Then `authorize(user, module, "write", well)` decides, with the module that the tag's
  role and well type belong to (`module_of`).
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Container, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemons.core.access.audit import AuditLog
from daemons.core.access.model import Decision, User, system_user
from daemons.core.access.policy import Policy
from daemons.core.access.users import UserStore
from daemons.core.problems import ValidationError
from daemons.core.roles import BY_TYPE
from daemons.core.tagmap import TagDef

SERVICE_USER = "wellgate"  # systemd/wellgate.sysusers.conf
# The command API's `source` words and the audit log's.
AUDIT_SOURCE = {"cli": "cli", "webd": "web", "opcuad": "opcua", "forwardd": "sparkplug",
                "test": "cli"}
# A Sparkplug primary host writing through forwardd (DCMD) is the identity
# `sparkplug:<host id>`; its roles and scope are those of the gateway user
# `sparkplug_account(host id)`, which an administrator creates like any other user.
SPARKPLUG_PREFIX = "sparkplug:"
LIFT_TYPES = ("rod_pump", "esp", "gas_lift", "pcp")
INTEGRITY_ROLES = ("annulus_a_pressure", "annulus_b_pressure", "annulus_c_pressure")
TEST_HEADER_ROLES = ("header_valve_test", "header_valve_production")


def read_scope(name: str, tag: TagDef | None, wells: Container[str],
               well_types: Mapping[str, str]) -> tuple[str, str | None]:
    """(module, well) a read of tag `name` is checked against, in every interface: a
    tag-map tag (`tag`) has its module (`module_of`, as for writes) and well; a
    calculated or alarm tag (not in the maps) belongs to the well its name starts with,
    if any, under "production"."""
    if tag is not None:
        return module_of(tag, well_types), tag.well
    prefix = name.partition(".")[0]
    return "production", prefix if prefix in wells else None


def module_of(tag: TagDef, well_types: Mapping[str, str]) -> str:
    """The matrix module a write to `tag` belongs to (docs/access.md lists the rules)."""
    role = tag.role or ""
    if tag.well is None:
        return "well_test" if role.startswith("test_") else "production"
    well_type = well_types.get(tag.well, "")
    if well_type in ("drilling", "coiled_tubing"):
        return well_type
    if role in INTEGRITY_ROLES:
        return "integrity"
    if role in TEST_HEADER_ROLES:
        return "well_test"
    if well_type in LIFT_TYPES and (not role or role in BY_TYPE[well_type]):
        return "lift"
    return "production"


def sparkplug_account(host_id: str) -> str:
    """The gateway user whose permissions a Sparkplug host's commands get:
    ``sparkplug-<host id>``, lower-cased, other characters than [a-z0-9_.-] as '-'."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "_.-") else "-"
                   for c in host_id.lower())
    return f"sparkplug-{safe}"[:32]


def service_uids(*, include_self: bool = True) -> frozenset[int]:
    """root, the `wellgate` account if the system has one, and — for a daemon, which runs
    as the service user — this process's own user.  The CLI must not count itself: it
    runs as whoever typed the command."""
    uids = {0, os.geteuid()} if include_self else {0}
    try:
        uids.add(pwd.getpwnam(SERVICE_USER).pw_uid)
    except KeyError:
        pass
    return frozenset(uids)


def unix_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@dataclass(frozen=True, slots=True)
class Caller:
    """A resolved identity, or (user None) why there is none."""

    user: User | None
    unix: str  # the calling process's Unix account
    delegated: bool = False  # a daemon acting for `user`
    en: str = ""
    es: str = ""

    @property
    def name(self) -> str:
        return self.user.name if self.user is not None else self.unix


class WriteGuard:
    """acqd's access checks and audit for writes (one per configuration)."""

    def __init__(self, state_dir: Path, policy: Policy, well_types: Mapping[str, str],
                 audit: AuditLog, trusted: frozenset[int] | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.policy = policy
        self.well_types = well_types
        self.audit = audit
        self.trusted = service_uids() if trusted is None else trusted

    def lookup(self, name: str) -> User | None:
        """The gateway user `name`, read fresh (a change from the CLI counts at once)."""
        try:
            store = UserStore(self.state_dir, readonly=True)
        except ValidationError:
            return None  # no users.db yet: nobody but the system
        try:
            rec = store.get(name)
        finally:
            store.close()
        return rec.user() if rec is not None else None

    def identify(self, uid: int | None, claimed: object) -> Caller:
        if uid is None:
            return Caller(None, "unknown", False, "the caller's identity is unknown "
                          "(no peer credentials)", "se desconoce la identidad de quien "
                          "llama (sin credenciales del socket)")
        unix = unix_name(uid)
        claim = claimed.strip() if isinstance(claimed, str) else ""
        if uid in self.trusted:
            if not claim:
                return Caller(system_user(unix), unix)
            if claim.startswith(SPARKPLUG_PREFIX):
                return self._sparkplug_host(claim, unix)
            user = self.lookup(claim)
            if user is None:
                return Caller(None, unix, True, f"'{claim}' is not a gateway user",
                              f"'{claim}' no es un usuario del gateway")
            return Caller(user, unix, True)
        if claim and claim != unix:
            return Caller(None, unix, False, f"Unix user '{unix}' may not act for '{claim}' "
                          "(only the service user may)", f"el usuario Unix '{unix}' no puede "
                          f"actuar por '{claim}' (solo el usuario de servicio puede)")
        user = self.lookup(unix)
        if user is None:
            return Caller(None, unix, False, f"Unix user '{unix}' (uid {uid}) has no gateway "
                          "user", f"el usuario Unix '{unix}' (uid {uid}) no tiene usuario en "
                          "el gateway")
        return Caller(user, unix)

    def _sparkplug_host(self, claim: str, unix: str) -> Caller:
        """`sparkplug:<host id>` acts with the roles and scope of its gateway account; the
        audit names the host (the identity), not the account."""
        account = sparkplug_account(claim[len(SPARKPLUG_PREFIX):])
        user = self.lookup(account)
        if user is None:
            return Caller(None, unix, True, f"Sparkplug host '{claim}' has no gateway user "
                          f"'{account}' (create it with the role and scope it may write)",
                          f"el host Sparkplug '{claim}' no tiene usuario '{account}' en el "
                          "gateway (créelo con el rol y alcance que puede escribir)")
        return Caller(User(claim, user.roles, user.scope, user.enabled,
                           display_name=f"Sparkplug host ({account})",
                           language=user.language), unix, True)

    def authorize(self, caller: Caller, tag: TagDef) -> Decision:
        if caller.user is None:
            return Decision(False, "identity", caller.name, text=(caller.en, caller.es))
        return self.policy.authorize(caller.user, module_of(tag, self.well_types), "write",
                                     tag.well)

    def record(self, caller: Caller, source: str, action: str, tag: str,
               details: dict[str, Any]) -> None:
        """Append the write's audit entry (durable before acqd answers the caller)."""
        extra = {"unix_user": caller.unix, **({"delegated": True} if caller.delegated else {})}
        self.audit.append(caller.name, AUDIT_SOURCE.get(source, "system"), action, tag,
                          {**details, **extra})
