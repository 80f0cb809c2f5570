"""The one decision every interface asks for: may this user do this to this well?

    policy = load_policy(config)
    decision = policy.authorize(user, "lift", "write", well="W101")
    if not decision: refuse(decision.reason(lang))

Rules, in order (docs/access.md):
1. The system (root, the service user, the daemons) may do everything.
2. A disabled user may do nothing.
3. The permission matrix must give one of the user's roles the module and operation.
4. A user with a scope acts only on the wells in it (a field in the scope means all of
   its wells, from the gateway configuration); an object that is not one well's (a
   site tag, the users, the configuration) is gateway-wide, and a scoped user may only
   read it.  A well that is not on this gateway is refused to everyone but the system.

Speed matters (an OPC-UA server checks every browse and write): the matrix is held as
role bit masks, a user carries its own mask, and a decision is a few dict lookups and
one AND.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from daemons.core.access.matrix import Matrix, load_matrix
from daemons.core.access.model import Decision, User
from daemons.core.config import GatewayConfig

_SYSTEM = Decision(True, "system")


@dataclass(frozen=True)
class Policy:
    """The matrix and the gateway's wells (well id → field), frozen together."""

    matrix: Matrix
    field_of: Mapping[str, str]

    def authorize(self, user: User, module: str, operation: str,
                  well: str | None = None) -> Decision:
        if user.system:
            return _SYSTEM
        if not user.enabled:
            return Decision(False, "disabled", user.name, module, operation, well)
        mask = self.matrix.masks.get((module, operation))
        if mask is None:
            return Decision(False, "unknown", user.name, module, operation, well)
        if not mask & user.role_mask:
            return Decision(False, "role", user.name, module, operation, well)
        scope = user.scope
        if well is not None:
            field = self.field_of.get(well)
            if field is None:
                return Decision(False, "no-well", user.name, module, operation, well)
            if (scope.fields or scope.wells) and well not in scope.wells \
                    and field not in scope.fields:
                return Decision(False, "scope", user.name, module, operation, well)
        elif (scope.fields or scope.wells) and operation != "read":
            return Decision(False, "wide", user.name, module, operation, well)
        return Decision(True, "allowed", user.name, module, operation, well)


def authorize(user: User, module: str, operation: str, well: str | None = None, *,
              policy: Policy) -> Decision:
    """`policy.authorize(...)`: the matrix is site data, so the policy is passed in."""
    return policy.authorize(user, module, operation, well)


def wells_by_field(config: GatewayConfig) -> Mapping[str, str]:
    return MappingProxyType({w.id: w.field for w in config.wells.values()})


def closed_policy(config: GatewayConfig) -> Policy:
    return Policy(Matrix.closed(), wells_by_field(config))


def load_policy(config: GatewayConfig) -> Policy:
    """The shipped matrix with the site's file over it (ValidationError with file:line)."""
    site = config.access.permissions
    return Policy(load_matrix(Path(site) if site else None), wells_by_field(config))
