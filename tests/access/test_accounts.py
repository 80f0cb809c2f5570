"""Users and logins on real files: password policy, lockout and its expiry (injected
clock), argon2 parameter upgrade at login, API keys, and every change audited."""

from __future__ import annotations

import json
import sqlite3

import pytest

from daemons.core.access.accounts import AccessError, Accounts
from daemons.core.access.audit import AuditLog, AuditReader
from daemons.core.access.model import SYSTEM, User
from daemons.core.access.passwords import CURRENT, HashParams, Passwords, policy_problems
from daemons.core.access.policy import load_policy
from daemons.core.access.users import UserStore

MIN = 60_000_000_000
T0 = 1_780_000_000_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def accounts(gateway, fast_hasher, clock):
    state = gateway.paths.state_dir
    users, audit = UserStore(state), AuditLog(state, clock=clock)
    acc = Accounts(users, audit, load_policy(gateway), gateway.access, hasher=fast_hasher,
                   clock=clock)
    yield acc
    users.close()
    audit.close()


def actions(acc: Accounts) -> list[tuple[str, str, str]]:
    reader = AuditReader(acc.audit.path.parent)
    try:
        return [(e.actor, e.action, e.object) for e in reader.entries()]
    finally:
        reader.close()


def test_add_list_and_every_change_is_audited(accounts):
    one_time = accounts.add(SYSTEM, "cli", "ana", ["field_operator"], ["Lagunillas/W101"])
    assert one_time and len(one_time) == 20
    rec = accounts.users.get("ana")
    assert rec.must_change and rec.roles == ("field_operator",)
    assert rec.scope == ("Lagunillas/W101",)
    assert rec.password_hash.startswith("$argon2id$") and one_time not in rec.password_hash
    accounts.set_roles(SYSTEM, "cli", "ana", ["supervisor"])
    accounts.set_scope(SYSTEM, "cli", "ana", ["Bachaquero", "W102"])
    assert accounts.users.get("ana").scope == ("Bachaquero", "Lagunillas/W102")
    accounts.set_enabled(SYSTEM, "cli", "ana", False)
    assert actions(accounts) == [("system", "user.add", "ana"), ("system", "user.role", "ana"),
                                 ("system", "user.scope", "ana"),
                                 ("system", "user.disable", "ana")]
    # No password, one-time or not, reaches the audit log or the database in clear.
    db = accounts.users.path.read_bytes() + accounts.audit.path.read_bytes()
    assert one_time.encode() not in db


@pytest.mark.parametrize(("password", "why"), [
    ("short1!", "at least 10 characters"),
    ("xxana-secret-xx", "must not contain the user name"),
    ("qwertyuiop", "common passwords"),
    ("Password2024!", "common passwords"),
    ("Contraseña123", "common passwords"),
    ("abababababab", "repeats one or two characters"),
])
def test_password_policy(accounts, password, why):
    with pytest.raises(AccessError) as info:
        accounts.add(SYSTEM, "cli", "ana", ["field_operator"], password=password)
    assert why in info.value.en
    assert accounts.users.get("ana") is None


def test_a_good_password_passes_the_policy():
    assert policy_problems("pozo caliente en Lagunillas", "ana", 12) == []


@pytest.mark.parametrize(("call", "why"), [
    (lambda a: a.add(SYSTEM, "cli", "Ana", ["field_operator"]), "not a valid user name"),
    (lambda a: a.add(SYSTEM, "cli", "ana", ["pilot"]), "unknown role 'pilot'"),
    (lambda a: a.add(SYSTEM, "cli", "ana", []), "at least one role"),
    (lambda a: a.add(SYSTEM, "cli", "ana", ["contractor"], ["Nowhere"]), "neither a field"),
    (lambda a: a.add(SYSTEM, "cli", "ana", ["contractor"], ["Bachaquero/W101"]),
     "well W101 is in field 'Lagunillas'"),
    (lambda a: a.set_roles(SYSTEM, "cli", "nobody", ["manager"]), "no user 'nobody'"),
])
def test_invalid_requests_are_refused(accounts, call, why):
    with pytest.raises(AccessError) as info:
        call(accounts)
    assert why in info.value.en


def test_only_users_write_may_administer_and_refusals_are_audited(accounts):
    accounts.add(SYSTEM, "cli", "boss", ["administrator"], password="granite-ridge-42")
    accounts.add(SYSTEM, "cli", "op", ["field_operator"], password="granite-ridge-42")
    boss = accounts.users.get("boss").user()
    op = accounts.users.get("op").user()
    accounts.add(boss, "web", "ct", ["contractor"], ["W101"], password="granite-ridge-42")
    with pytest.raises(AccessError, match="no role of op may write users"):
        accounts.set_roles(op, "web", "op", ["administrator"])
    assert ("op", "user.role.denied", "op") in actions(accounts)
    # Anyone may change their own password.
    accounts.set_password(op, "web", "op", "another-granite-43")
    with pytest.raises(AccessError, match="last enabled administrator"):
        accounts.set_enabled(boss, "web", "boss", False)
    with pytest.raises(AccessError, match="last enabled administrator"):
        accounts.set_roles(SYSTEM, "cli", "boss", ["manager"])


def test_lockout_after_n_failures_and_its_expiry(accounts, clock):
    accounts.add(SYSTEM, "cli", "ana", ["field_operator"], password="granite-ridge-42")
    for _ in range(2):
        assert accounts.login("ana", "wrong-password", "web").code == "bad"
    assert accounts.login("ana", "granite-ridge-42", "web").ok  # resets the count
    for _ in range(3):  # lockout_failures = 3
        assert accounts.login("ana", "wrong-password", "web").code == "bad"
    locked = accounts.login("ana", "granite-ridge-42", "web")  # right password, still locked
    assert (locked.ok, locked.code) == (False, "locked") and "15 min" in locked.en
    clock.now += 14 * MIN
    assert accounts.login("ana", "granite-ridge-42", "web").code == "locked"
    clock.now += 1 * MIN + 1  # 15 minutes after the lockout: over
    assert accounts.login("ana", "granite-ridge-42", "web").ok
    # Counting starts afresh after the lock.
    for _ in range(2):
        accounts.login("ana", "wrong-password", "web")
    assert accounts.login("ana", "granite-ridge-42", "web").ok
    seen = [a for _, a, _ in actions(accounts) if a.startswith("login")]
    assert seen.count("login.lockout") == 1
    assert seen.count("login") == 3


def test_unknown_users_and_wrong_passwords_look_the_same(accounts):
    accounts.add(SYSTEM, "cli", "ana", ["field_operator"], password="granite-ridge-42")
    a = accounts.login("nobody", "granite-ridge-42", "web")
    b = accounts.login("ana", "not-the-password", "web")
    assert (a.code, a.en) == (b.code, b.en) == ("bad", "wrong user name or password")


def test_disabled_users_cannot_log_in(accounts):
    accounts.add(SYSTEM, "cli", "ana", ["field_operator"], password="granite-ridge-42")
    accounts.set_enabled(SYSTEM, "cli", "ana", False)
    assert accounts.login("ana", "granite-ridge-42", "web").code == "disabled"


def test_argon2_parameters_are_upgraded_at_the_next_login(gateway, clock):
    old = HashParams(time_cost=1, memory_kib=8192, parallelism=1)
    state = gateway.paths.state_dir
    users, audit = UserStore(state), AuditLog(state, clock=clock)
    policy = load_policy(gateway)
    try:
        Accounts(users, audit, policy, gateway.access, hasher=Passwords(old), clock=clock
                 ).add(SYSTEM, "cli", "ana", ["field_operator"], password="granite-ridge-42")
        before = users.get("ana").password_hash
        assert "$m=8192,t=1,p=1$" in before
        current = Accounts(users, audit, policy, gateway.access, hasher=Passwords(CURRENT),
                           clock=clock)
        assert not current.login("ana", "wrong-password", "web").ok
        assert users.get("ana").password_hash == before  # only a right password re-hashes
        assert current.login("ana", "granite-ridge-42", "web").ok
        after = users.get("ana").password_hash
        assert "$m=65536,t=3,p=4$" in after and after != before
        assert current.login("ana", "granite-ridge-42", "web").ok
        assert users.get("ana").password_hash == after  # no second re-hash
    finally:
        users.close()
        audit.close()
    conn = sqlite3.connect(state / "audit.db")
    logins = [json.loads(d)["rehashed"] for (d,) in
              conn.execute("SELECT details FROM audit WHERE action = 'login' ORDER BY seq")]
    conn.close()
    assert logins == [True, False]


def test_api_keys_are_shown_once_and_stored_hashed(accounts):
    accounts.add(SYSTEM, "cli", "cloud", ["manager"], password="granite-ridge-42")
    key = accounts.new_api_key(SYSTEM, "cli", "cloud")
    assert key.startswith("wg_") and len(key) > 40
    rec = accounts.users.get("cloud")
    assert key not in repr(rec) and rec.api_key_hash and len(rec.api_key_hash) == 64
    user = accounts.check_api_key(key, "sparkplug")
    assert isinstance(user, User) and user.name == "cloud"
    assert accounts.check_api_key(key[:-1] + ("A" if key[-1] != "A" else "B"), "web") is None
    assert accounts.check_api_key("garbage", "web") is None
    newer = accounts.new_api_key(SYSTEM, "cli", "cloud")
    assert accounts.check_api_key(key, "web") is None  # replaced
    assert accounts.check_api_key(newer, "web").name == "cloud"
    accounts.set_enabled(SYSTEM, "cli", "cloud", False)
    assert accounts.check_api_key(newer, "web") is None
