"""Reads by user scope: what a session may read, subscribe to and read the history of.

A gateway user scoped to fields or wells sees over OPC-UA what the HMI shows them: the
Value, data changes and history of a tag only where `authorize(user, module, "read",
well)` allows, with the tag's module and well from `read_scope` (the same rule as
webd's).  Anything else answers `Bad_UserAccessDenied`, per node, the rest of the request
unchanged.  Unscoped users, the system and anonymous sessions (where `[opcua] anonymous`
lets them in at all) read everything; names and metadata are not hidden (Browse is not
filtered).

asyncua passes the user to a Read's callbacks only, so the session's user name is kept in
SESSION_USER around every request (logins.set_during_dispatch), where the monitored-item
service and the history manager find it.  Gateway users are looked up at most once per
`USER_TTL_S` per name: a change of scope counts within seconds, and a SCADA master
polling Reads does not open the user store each time.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Mapping
from typing import Any

from asyncua import ua

from daemons.core.access.model import User
from daemons.core.access.writes import read_scope
from daemons.core.tagmap import TagMap
from daemons.opcuad.logins import set_during_dispatch

SESSION_USER: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "opcua_session_user", default=None)
USER_TTL_S = 5.0
DENIED = ua.StatusCode(ua.StatusCodes.BadUserAccessDenied)


def track_session_user() -> None:
    """Around each request, SESSION_USER holds its session's gateway user name (None for
    anonymous or before a session is activated)."""

    async def name(proc: Any, _typeid: Any, _requesthdr: Any, _body: Any) -> str | None:
        session = proc.session
        user = getattr(session, "user", None) if session is not None else None
        return getattr(user, "name", None) or None

    set_during_dispatch("session user", SESSION_USER, name)


class ReadScope:
    """Which of our nodes the current request's user may read."""

    def __init__(self, ns: int, lookup: Callable[[str], User | None], policy: Any,
                 wells: Mapping[str, Any], well_types: Mapping[str, str],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ns, self.lookup, self.policy = ns, lookup, policy
        self.wells, self.well_types, self.clock = wells, well_types, clock
        self.tagmap: TagMap | None = None
        # name -> (when looked up, the user, whether they read every tag)
        self._users: dict[str, tuple[float, User | None, bool]] = {}

    def _reader(self, name: str) -> tuple[User | None, bool]:
        """The gateway user and whether nothing is refused them: no scope and read on
        every module (a SCADA master's account), the common case, checked once."""
        now = self.clock()
        cached = self._users.get(name)
        if cached is None or now - cached[0] > USER_TTL_S:
            user = self.lookup(name)
            modules = {m for m, op in self.policy.matrix.masks if op == "read"}
            everything = user is not None and user.scope.everything and all(
                self.policy.authorize(user, m, "read") for m in modules)
            cached = (now, user, everything)
            self._users[name] = cached
        return cached[1], cached[2]

    def refuses(self, node: ua.NodeId) -> bool:
        """True when the request's user may not read `node` (one of our tags)."""
        name = SESSION_USER.get()
        if name is None or node.NamespaceIndex != self.ns or not isinstance(
                node.Identifier, str):
            return False
        user, everything = self._reader(name)
        if everything:
            return False
        if user is None:
            return True  # disabled or removed since the login
        tag = self.tagmap.get(node.Identifier) if self.tagmap is not None else None
        module, well = read_scope(node.Identifier, tag, self.wells, self.well_types)
        return not self.policy.authorize(user, module, "read", well)

    def after_read(self, event: Any, _dispatcher: Any) -> None:
        """PostRead callback: a refused node's Value answers Bad_UserAccessDenied."""
        name = SESSION_USER.get()
        if name is None or self._reader(name)[1]:
            return
        results = event.response_params
        value = ua.AttributeIds.Value
        for k, rv in enumerate(event.request_params.NodesToRead):
            if rv.AttributeId == value and self.refuses(rv.NodeId):
                results[k] = ua.DataValue(StatusCode=DENIED)
