"""`sparkplug:<host id>` in acqd's write guard: the host acts with the roles and scope of
the gateway user `sparkplug-<host id>`, and is refused when there is none."""

from __future__ import annotations

import os

from daemons.core.access.accounts import Accounts
from daemons.core.access.audit import AuditLog
from daemons.core.access.model import system_user
from daemons.core.access.passwords import HashParams, Passwords
from daemons.core.access.policy import load_policy
from daemons.core.access.users import UserStore
from daemons.core.access.writes import WriteGuard, sparkplug_account
from daemons.core.config import loads_config
from daemons.core.tagmap import TagDef

GATEWAY = """
[gateway]
site = "t"
[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"
[scan.fast]
interval = 1.0
"""


def test_sparkplug_host_identity(tmp_path):
    path = tmp_path / "gateway.toml"
    path.write_text(GATEWAY)
    cfg = loads_config(GATEWAY, path)
    cfg.paths.state_dir.mkdir(parents=True)
    audit = AuditLog(cfg.paths.state_dir)
    policy = load_policy(cfg)
    guard = WriteGuard(cfg.paths.state_dir, policy, {}, audit,
                       trusted=frozenset({os.geteuid()}))
    tag = TagDef("P1.SPEED_SET", "pump1", 1, "hr", 0, "float32", access="rw")

    nobody = guard.identify(os.geteuid(), "sparkplug:SCADA-1")
    assert nobody.user is None and "sparkplug-scada-1" in nobody.en
    assert not guard.authorize(nobody, tag)

    users = UserStore(cfg.paths.state_dir)
    accounts = Accounts(users, audit, policy, cfg.access, hasher=Passwords(
        HashParams(time_cost=1, memory_kib=1024, parallelism=1)))
    accounts.add(system_user("root"), "system", sparkplug_account("SCADA-1"), ["supervisor"])
    users.close()

    caller = guard.identify(os.geteuid(), "sparkplug:SCADA-1")
    assert caller.user is not None and caller.name == "sparkplug:SCADA-1"
    assert caller.delegated
    decision = guard.authorize(caller, tag)
    assert decision, decision.en  # a supervisor may write production tags
    assert decision.user == "sparkplug:SCADA-1"
    # another Unix user may not claim the identity
    other = guard.identify(os.geteuid() + 12345, "sparkplug:SCADA-1")
    assert other.user is None
    audit.close()
