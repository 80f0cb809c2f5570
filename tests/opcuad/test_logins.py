"""A username login's password check runs off opcuad's event loop (logins.py): while one
client's check is held, another client's reads are answered.  An asyncua server in this
process, with opcuad's user manager and request wrappers, so the check can be held at
will (a hasher that waits for the test)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from asyncua import Client, Server, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from daemons.core.access import passwords
from daemons.core.access.accounts import Accounts
from daemons.core.access.audit import AuditLog, AuditReader
from daemons.core.access.matrix import load_matrix
from daemons.core.access.model import system_user
from daemons.core.access.passwords import HashParams
from daemons.core.access.policy import Policy
from daemons.core.access.users import UserStore
from daemons.core.config.model import AccessSection
from daemons.core.service import get_logger
from daemons.opcuad.logins import OffLoopPasswords, check_passwords_off_loop
from daemons.opcuad.security import GatewayUsers, track_channel_mode
from daemons.opcuad.writes import Ruleset

from .conftest import free_port, make_client_cert

pytestmark = pytest.mark.timeout(60)
PASSWORD = "correct-horse-42"
CHEAP = HashParams(time_cost=1, memory_kib=1024, parallelism=1)


class HeldPasswords(OffLoopPasswords):
    """Notes the thread every hash check runs on and, while `hold` is set, waits there
    until the test lets it go."""

    def __init__(self) -> None:
        super().__init__(CHEAP)
        self.hold = False
        self.held, self.release = threading.Event(), threading.Event()
        self.threads: list[str] = []

    def hashing(self) -> None:
        self.threads.append(threading.current_thread().name)
        if self.hold:
            self.held.set()
            self.release.wait(20)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch):
    """The base class's check is the hash itself, wherever it is called from (the login
    thread, or the loop should a request not be prechecked)."""
    held = HeldPasswords()
    base_verify = passwords.Passwords.verify

    def verify(self: passwords.Passwords, stored: str, password: str) -> bool:
        if self is held:
            held.hashing()
        return base_verify(self, stored, password)

    monkeypatch.setattr(passwords.Passwords, "verify", verify)
    yield held
    held.release.set()
    held.close()


def _accounts(state: Path, hasher: OffLoopPasswords) -> Accounts:
    settings = AccessSection(password_min_length=10, lockout_failures=3)
    accounts = Accounts(UserStore(state), AuditLog(state), Policy(load_matrix(None), {}),
                        settings, hasher=hasher)
    accounts.add(system_user("root"), "cli", "oscar", ["field_operator"], [], PASSWORD)
    return accounts


async def _serve(tmp_path: Path, hasher: HeldPasswords, *, encrypt: bool = False
                 ) -> tuple[Server, str, Accounts]:
    track_channel_mode()
    check_passwords_off_loop()
    accounts = _accounts(tmp_path, hasher)
    server = Server(user_manager=GatewayUsers(accounts, True, get_logger("test")))
    await server.init()
    url = f"opc.tcp://127.0.0.1:{free_port()}/test"
    server.set_endpoint(url)
    policies = [ua.SecurityPolicyType.NoSecurity]
    if encrypt:  # the password then travels RSA-encrypted, with the client's signature
        cert, key = make_client_cert(tmp_path, "server")
        await server.load_certificate(str(cert))
        await server.load_private_key(str(key))
        policies = [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]
    server.set_security_policy(policies, permission_ruleset=Ruleset(read_only=False))
    server.set_identity_tokens([ua.UserNameIdentityToken, ua.AnonymousIdentityToken])
    ns = await server.register_namespace("urn:test")
    await server.nodes.objects.add_variable(ua.NodeId("THP", ns), "THP", 812.5)
    await server.start()
    return server, url, accounts


def test_a_held_password_check_does_not_stop_other_sessions(tmp_path, hasher):
    async def main() -> None:
        server, url, accounts = await _serve(tmp_path, hasher)
        reader = Client(url, timeout=10)
        try:
            await reader.connect()  # anonymous: no password to check
            ns = await reader.get_namespace_index("urn:test")
            node = reader.get_node(ua.NodeId("THP", ns))
            hasher.hold = True
            oscar = Client(url, timeout=30)
            oscar.set_user("oscar")
            oscar.set_password(PASSWORD)
            login = asyncio.ensure_future(oscar.connect())
            assert await asyncio.to_thread(hasher.held.wait, 20), "no password check began"
            # oscar's check is held on the login thread; the loop still answers
            for _ in range(3):
                assert await asyncio.wait_for(node.read_value(), 5) == 812.5
            assert not login.done()
            hasher.release.set()
            await asyncio.wait_for(login, 20)
            assert await oscar.get_node(ua.NodeId("THP", ns)).read_value() == 812.5
            await oscar.disconnect()
        finally:
            hasher.release.set()
            await reader.disconnect()
            await server.stop()
            accounts.users.close()
            accounts.audit.close()

    asyncio.run(main())
    assert hasher.threads and all(t.startswith("opcua-login") for t in hasher.threads)
    reader = AuditReader(tmp_path)
    try:
        logins = [e for e in reader.entries() if e.action == "login" and e.actor == "oscar"]
    finally:
        reader.close()
    assert len(logins) == 1  # the access module's login ran once, with the check made


@pytest.mark.parametrize("encrypt", [False, True], ids=["none", "Basic256Sha256"])
def test_logins_are_checked_on_the_login_thread_and_counted(tmp_path, hasher, encrypt):
    client_cert = make_client_cert(tmp_path, "client") if encrypt else None

    async def attempt(url: str, user: str, password: str) -> int:
        client = Client(url, timeout=10)
        if client_cert is not None:
            await client.set_security(SecurityPolicyBasic256Sha256, str(client_cert[0]),
                                      str(client_cert[1]),
                                      mode=ua.MessageSecurityMode.SignAndEncrypt)
        client.set_user(user)
        client.set_password(password)
        try:
            await client.connect()
        except ua.UaStatusCodeError as err:
            return err.code
        await client.disconnect()
        return 0

    async def main() -> list[int]:
        server, url, accounts = await _serve(tmp_path, hasher, encrypt=encrypt)
        try:
            codes = [await attempt(url, user, password) for user, password in (
                ("oscar", "wrong-password-1"), ("nobody", PASSWORD),
                ("oscar", "wrong-password-2"), ("oscar", PASSWORD))]
            rec = accounts.users.get("oscar")
            assert rec is not None and rec.last_login_ns  # the access module's login ran
            return codes
        finally:
            await server.stop()
            accounts.users.close()
            accounts.audit.close()

    codes = asyncio.run(main())
    assert codes == [ua.StatusCodes.BadUserAccessDenied] * 3 + [0]
    # one hash per login, each on the login thread: none ran on the event loop
    assert len(hasher.threads) == 4
    assert all(t.startswith("opcua-login") for t in hasher.threads), hasher.threads
    reader = AuditReader(tmp_path)
    try:
        failed = [e.actor for e in reader.entries() if e.action == "login.failed"]
    finally:
        reader.close()
    assert failed == ["oscar", "nobody", "oscar"]  # audited and counted as before
