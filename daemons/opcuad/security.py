"""The OPC-UA server's trust decisions and user identities.

Client certificates are checked against the trusted folder of the PKI
(daemons/core/opcua_pki.py); a refused one is kept in the rejected folder for an
administrator to trust with `wellgate opcua trust`.  Logins go to the access module.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from typing import Any

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import User as UaUser
from asyncua.crypto.permission_rules import UserRole
from cryptography import x509

from daemons.core.opcua_pki import Pki, der, thumbprint, trusted_thumbprints
from daemons.opcuad.logins import OffLoopPasswords, set_during_dispatch

SOURCE = "opcua"  # the audit log's word for opcuad
# The security mode of the channel a request came on, set around each request (below):
# asyncua's certificate validator is not told it, and a security-None channel must not
# refuse a client for the certificate it sends anyway (UaExpert, node-opcua do).
CHANNEL_MODE: contextvars.ContextVar[ua.MessageSecurityMode] = contextvars.ContextVar(
    "opcua_channel_mode", default=ua.MessageSecurityMode.SignAndEncrypt)


def track_channel_mode() -> None:
    """Around each request, CHANNEL_MODE holds the mode of the channel it came on."""

    async def mode(proc: Any, _typeid: Any, _requesthdr: Any, _body: Any
                   ) -> ua.MessageSecurityMode:
        return proc._connection.security_policy.Mode

    set_during_dispatch("channel mode", CHANNEL_MODE, mode)


class TrustList:
    """asyncua's certificate validator: trusted folder in, rejected folder out."""

    def __init__(self, pki: Pki, audit: Any, log: Any) -> None:
        self.pki, self.audit, self.log = pki, audit, log

    async def __call__(self, cert: x509.Certificate, app: ua.ApplicationDescription) -> None:
        if CHANNEL_MODE.get() == ua.MessageSecurityMode.None_:
            return  # not used for anything on a None channel (which is read-only anyway)
        raw = der(cert)
        thumb = thumbprint(raw)
        now = dt.datetime.now(dt.UTC)
        if thumb in trusted_thumbprints(self.pki):
            if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                raise ServiceError(ua.StatusCodes.BadCertificateTimeInvalid)
            return
        target = self.pki.rejected / f"{thumb}.der"
        if not target.exists():
            self.pki.rejected.mkdir(parents=True, exist_ok=True)
            target.write_bytes(raw)
            self.log.warning("client certificate rejected", thumbprint=thumb,
                             application=str(app.ApplicationUri), kept=str(target))
            self.audit.append("system", SOURCE, "opcua.certificate.rejected", thumb,
                              {"application_uri": str(app.ApplicationUri),
                               "subject": cert.subject.rfc4514_string()})
        raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)


class GatewayUsers:
    """asyncua's user manager over the access module (Accounts.login: lockout, audit).

    The asyncua user's name is the gateway user's; its role is only User (never asyncua's
    Admin, which would bypass checks): what a user may do is decided per request by
    `Policy.authorize`, in writes.py.
    """

    def __init__(self, accounts: Any, anonymous: bool, log: Any) -> None:
        self.accounts, self.anonymous, self.log = accounts, anonymous, log

    def get_user(self, iserver: Any, username: str | None = None,
                 password: str | None = None, certificate: Any = None) -> UaUser | None:
        if username is None:
            # Anonymous (X509 identity tokens are not offered, so asyncua refuses them
            # before asking here; `certificate` is then only the channel's certificate).
            return UaUser(role=UserRole.Anonymous, name=None) if self.anonymous else None
        result = self.accounts.login(username, password or "", SOURCE)
        if not result.ok or result.user is None:
            self.log.info("login refused", user=username, code=result.code)
            return None
        return UaUser(role=UserRole.User, name=result.user.name)

    async def precheck(self, username: str, password: str) -> tuple[str, str, bool] | None:
        """The password's check made on the login thread (logins.py) before asyncua asks
        get_user; None where the login will not check it (a locked-out user)."""
        hasher = self.accounts.hasher
        if not isinstance(hasher, OffLoopPasswords):
            return None
        rec = self.accounts.users.get(username)
        if rec is None or rec.password_hash is None:
            return await hasher.check(None, password)
        if rec.locked_until_ns > self.accounts.clock():
            return None
        return await hasher.check(rec.password_hash, password)
