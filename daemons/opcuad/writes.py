"""Writes from OPC-UA clients: checked here, carried out (and checked again) by acqd.

A write of a variable's Value is accepted only for a tag-map tag with access=rw, from a
logged-in gateway user whom `Policy.authorize` allows to write that tag's module on its
well.  It goes to acqd's command API with the user's name and source "opcuad"; acqd
checks the range, journals, writes, reads back and audits.  The client hears Good only
when acqd answered "confirmed" (the read-back matched).  Refusals made here are audited
here, like webd's.  Service-level rules (who may send which request at all) are the
`Ruleset`: nothing writes over a security-None channel or as the anonymous user.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from asyncua import ua
from asyncua.crypto.permission_rules import USER_TYPES, PermissionRuleset, UserRole

from daemons.core import commands as acq
from daemons.core.access.model import User
from daemons.core.access.users import UserStore
from daemons.core.access.writes import module_of
from daemons.core.commands import CommandProtocolError
from daemons.core.problems import ValidationError
from daemons.core.tagmap import TagMap
from daemons.opcuad.security import CHANNEL_MODE, SOURCE

WRITE_REQUESTS = {ua.NodeId(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary),
                  ua.NodeId(ua.ObjectIds.CallRequest_Encoding_DefaultBinary),
                  ua.NodeId(ua.ObjectIds.HistoryUpdateRequest_Encoding_DefaultBinary)}
ALLOWED = {ua.NodeId(t) for t in USER_TYPES}
REASON = "OPC-UA write"
CURRENT_WRITE = ua.AccessLevel.CurrentWrite.mask


class Ruleset(PermissionRuleset):
    """Which requests a session may send: never address-space changes; no writes when
    `read_only` (the security-None endpoint) or for the anonymous user."""

    def __init__(self, read_only: bool) -> None:
        self.read_only = read_only

    def check_validity(self, user: Any, action_type_id: ua.NodeId, body: Any) -> bool:
        if action_type_id not in ALLOWED:
            return False
        if action_type_id in WRITE_REQUESTS:
            return not self.read_only and user.role == UserRole.User
        return True


def bad(name: str) -> ua.StatusCode:
    return ua.StatusCode(getattr(ua.StatusCodes, name))


def number(variant: ua.Variant | None) -> float | None:
    if variant is None:
        return None
    v = variant.Value
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float) and math.isfinite(float(v)):
        return float(v)
    return None


class Writes:
    """Replaces asyncua's AttributeService.write for the server's sessions."""

    def __init__(self, ns: int, original: Callable[..., Any], state_dir: Any,
                 runtime_dir: Any, policy: Any, well_types: Mapping[str, str],
                 audit: Any, log: Any) -> None:
        self.ns, self.original = ns, original
        self.state_dir, self.runtime_dir = state_dir, runtime_dir
        self.policy, self.well_types = policy, well_types
        self.audit, self.log = audit, log
        self.tagmap: TagMap | None = None

    def lookup(self, name: str) -> User | None:
        """The gateway user, read fresh: a role change or a disable counts at once."""
        try:
            store = UserStore(self.state_dir, readonly=True)
        except ValidationError:
            return None
        try:
            rec = store.get(name)
        finally:
            store.close()
        return rec.user() if rec is not None and rec.enabled else None

    async def write(self, params: ua.WriteParameters, user: Any = None) -> list[ua.StatusCode]:
        if user is not None and user.role == UserRole.Admin:
            return await self.original(params, user)  # the server's own internal session
        return [await self._one(wv, user) for wv in params.NodesToWrite]

    def writer(self, user: Any, tag: Any, users: dict[str, User | None] | None = None
               ) -> tuple[User | None, str]:
        """The gateway user who may write `tag` as the session's `user`, or None and why
        not (`users`: lookups already made for this request)."""
        if user is None or user.role != UserRole.User or not user.name:
            return None, "anonymous users may not write"
        if users is not None and user.name in users:
            found = users[user.name]
        else:
            found = self.lookup(user.name)
            if users is not None:
                users[user.name] = found
        if found is None:
            return None, f"'{user.name}' is not an enabled user"
        decision = self.policy.authorize(found, module_of(tag, self.well_types), "write",
                                         tag.well)
        return (found, "") if decision else (None, decision.en)

    def user_access_levels(self, event: Any, _dispatcher: Any) -> None:
        """After a Read: a tag's UserAccessLevel keeps CurrentWrite only where this
        session may write it (OPC 10000-3 §5.6.2: the level "taking user access rights
        into account"), so a client offers writes only where they would be accepted;
        asyncua answers the AccessLevel's bits for everyone.  Security-None channels are
        read-only whoever is logged in."""
        reads = event.request_params.NodesToRead
        level_id = ua.AttributeIds.UserAccessLevel
        if not any(r.AttributeId == level_id for r in reads):
            return
        read_only = CHANNEL_MODE.get() == ua.MessageSecurityMode.None_
        users: dict[str, User | None] = {}
        results = event.response_params
        for k, (rv, dv) in enumerate(zip(reads, results, strict=False)):
            node = rv.NodeId
            if rv.AttributeId != level_id or node.NamespaceIndex != self.ns \
                    or dv.Value is None or not isinstance(dv.Value.Value, int):
                continue
            level = dv.Value.Value
            if not level & CURRENT_WRITE:
                continue
            tag = self.tagmap.get(node.Identifier) if self.tagmap is not None else None
            if read_only or tag is None or self.writer(event.user, tag, users)[0] is None:
                # a new DataValue: the one read is the node's own (shared between nodes)
                results[k] = ua.DataValue(
                    Value=ua.Variant(level & ~CURRENT_WRITE, ua.VariantType.Byte),
                    StatusCode=dv.StatusCode, SourceTimestamp=dv.SourceTimestamp,
                    ServerTimestamp=dv.ServerTimestamp)

    def _denied(self, actor: str, tag: str, value: Any, why: str) -> ua.StatusCode:
        self.audit.append(actor, SOURCE, "tag.write.denied", tag,
                          {"value": value, "error": why})
        self.log.info("write refused", tag=tag, user=actor, reason=why)
        return bad("BadUserAccessDenied")

    async def _one(self, wv: ua.WriteValue, user: Any) -> ua.StatusCode:
        node = wv.NodeId
        if node.NamespaceIndex != self.ns or not isinstance(node.Identifier, str):
            return bad("BadUserAccessDenied")
        name = node.Identifier
        tag = self.tagmap.get(name) if self.tagmap is not None else None
        if wv.AttributeId != ua.AttributeIds.Value or tag is None or not tag.writable:
            return bad("BadNotWritable")
        value = number(wv.Value.Value if wv.Value is not None else None)
        actor = getattr(user, "name", None) or "anonymous"
        gateway_user, why = self.writer(user, tag)
        if gateway_user is None:
            return self._denied(actor, name, value, why)
        if value is None:
            return bad("BadTypeMismatch")
        if (tag.min is not None and value < tag.min) or (tag.max is not None and value > tag.max):
            return bad("BadOutOfRange")
        message = {"op": "write", "tag": name, "value": value, "reason": REASON,
                   "user": gateway_user.name, "source": "opcuad"}
        try:
            reply = await acq.request_async(self.runtime_dir, message)
        except (OSError, CommandProtocolError, TimeoutError) as exc:
            self.log.warning("write not delivered: acqd unavailable", tag=name, error=str(exc))
            return bad("BadNoCommunication")
        if reply.get("ok") and reply.get("state") == "confirmed":
            return ua.StatusCode()
        err = str((reply.get("error") or {}).get("en", ""))
        if reply.get("state") == "failed":
            return bad("BadDeviceFailure")
        if "range" in err:
            return bad("BadOutOfRange")
        if "permission" in err or "may not" in err or "not a gateway user" in err:
            return bad("BadUserAccessDenied")
        return bad("BadNotWritable")
