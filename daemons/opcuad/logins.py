"""Password checks of OPC-UA logins, off the event loop.

asyncua asks the user manager for the user synchronously, inside its ActivateSession
handling (InternalSession.activate_session), so the argon2id check of a username login
(about 0.15 s of a gateway core and 64 MiB, daemons/core/access/passwords.py) would run
on the event loop: every subscription of every client would wait for it, and a client
retrying a wrong password would stall publishing again and again.

So, before asyncua handles an ActivateSession, opcuad reads the request's username token
itself (with the client signature checked first, as asyncua checks it, so an unsigned
request costs no hash), checks the password on a thread of its own, one check at a time
(each holds 64 MiB), and leaves the answer in a context variable for this request.  The
access module's login (lockout, audit) then runs as before and finds the check made:
`OffLoopPasswords.verify` returns it instead of hashing again.  A request this code cannot
read is left to asyncua, which answers it as before (the check then runs on the loop).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asyncua import ua
from asyncua.ua.ua_binary import struct_from_binary

from daemons.core.access.passwords import CURRENT, HashParams, Passwords

# (stored hash, or "" for a user without one; password; whether they matched)
PRECHECKED: contextvars.ContextVar[tuple[str, str, bool] | None] = contextvars.ContextVar(
    "opcua_prechecked_password", default=None)
_UNKNOWN = ""
T = TypeVar("T")


class OffLoopPasswords(Passwords):
    """The access module's hasher for opcuad: a check made off the loop for the request
    being handled is reused; anything else is checked here, as before."""

    def __init__(self, params: HashParams = CURRENT) -> None:
        super().__init__(params)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opcua-login")

    def verify(self, stored: str, password: str) -> bool:
        made = PRECHECKED.get()
        if made is not None and made[0] == stored and made[1] == password:
            return made[2]
        return super().verify(stored, password)

    def dummy_verify(self, password: str) -> None:
        made = PRECHECKED.get()
        if made is not None and made[0] == _UNKNOWN and made[1] == password:
            return  # its time was spent on the login thread
        super().dummy_verify(password)

    async def check(self, stored: str | None, password: str) -> tuple[str, str, bool]:
        """Check `password` against `stored` (None: an unknown user, whose check takes
        the same time) on the login thread."""
        loop = asyncio.get_running_loop()
        if stored is None:
            await loop.run_in_executor(self._thread, super().dummy_verify, password)
            return (_UNKNOWN, password, False)
        ok = await loop.run_in_executor(self._thread, super().verify, stored, password)
        return (stored, password, ok)

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)


def username_login(proc: Any, requesthdr: Any, body: Any) -> tuple[str, str] | None:
    """The (user name, password) of an ActivateSession request whose client signature
    holds, or None (anonymous, unreadable, no session, or a bad signature: asyncua
    answers those itself)."""
    try:
        params = struct_from_binary(ua.ActivateSessionParameters, body)
        token = params.UserIdentityToken
        if not isinstance(token, ua.UserNameIdentityToken):
            return None
        session = proc.session or proc.iserver.lookup_external_session(
            requesthdr.AuthenticationToken)
        if session is None:
            return None
        policy = proc._connection.security_policy
        signed = session.nonce if policy.host_certificate is None \
            else policy.host_certificate + session.nonce
        policy.asymmetric_cryptography.verify(signed, params.ClientSignature.Signature)
        username, password = proc.iserver.decrypt_user_token(session, token)
    except Exception:  # whatever asyncua makes of it, it answers the client
        return None
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    return username, password


def set_during_dispatch(name: str, var: contextvars.ContextVar[T],
                        value_of: Callable[[Any, Any, Any, Any], Awaitable[T]]) -> None:
    """Around asyncua's per-request dispatch (UaProcessor._process_message), set `var`
    to `value_of(processor, typeid, requesthdr, body)` for the request; once per process
    under `name`, whatever other wrappers are around it already."""
    from asyncua.server import uaprocessor

    cls = uaprocessor.UaProcessor
    done: set[str] = cls.__dict__.get("_wellgate_wrapped", set())
    if name in done:
        return
    original = cls._process_message

    async def process(self: Any, typeid: Any, requesthdr: Any, seqhdr: Any, body: Any) -> Any:
        token = var.set(await value_of(self, typeid, requesthdr, body))
        try:
            return await original(self, typeid, requesthdr, seqhdr, body)
        finally:
            var.reset(token)

    cls._process_message = process  # type: ignore[method-assign]
    cls._wellgate_wrapped = done | {name}  # type: ignore[attr-defined]


def check_passwords_off_loop() -> None:
    """An ActivateSession with a username token has its password checked by the user
    manager's `precheck` (GatewayUsers) before asyncua handles it."""
    activate = ua.NodeId(ua.ObjectIds.ActivateSessionRequest_Encoding_DefaultBinary)

    async def made(proc: Any, typeid: Any, requesthdr: Any, body: Any
                   ) -> tuple[str, str, bool] | None:
        precheck = getattr(proc.iserver.user_manager, "precheck", None)
        if typeid != activate or precheck is None:
            return None
        login = username_login(proc, requesthdr, body.copy())
        return await precheck(*login) if login is not None else None

    set_during_dispatch("password checks", PRECHECKED, made)
