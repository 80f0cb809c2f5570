"""webd's tests: a small gateway (two fields), users of several roles, rings and history
written with the core writers, and fake acqd/alarmd sockets speaking their protocol."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from litestar.testing import TestClient

from daemons.core.access.accounts import Accounts
from daemons.core.access.audit import AuditLog
from daemons.core.access.model import system_user
from daemons.core.access.passwords import HashParams, Passwords
from daemons.core.access.policy import load_policy
from daemons.core.access.users import UserStore
from daemons.core.config import GatewayConfig, load_config
from daemons.core.history.writer import HistoryWriter
from daemons.core.quality import Quality
from daemons.core.ring import RingWriter, SlotSpec
from daemons.core.tagmap import store
from daemons.webd.app import WebState, build_app
from daemons.webd.auth import Gatekeeper, Worker
from daemons.webd.data import Api
from tests import site_toml
from tests.fake_daemon import FakeDaemon  # noqa: F401  (webd's tests import it from here)

WEB = '[web]\nbind = "127.0.0.1"\nport = 0\n'
GATEWAY = site_toml.gateway_toml("webd test pad", WEB, site_toml.TWO_WELLS, site_toml.DEVICE,
                                 site_toml.access("site-permissions.csv"))
# The site's rows over the shipped matrix: contractors here may read nothing of production
# or alarms, so the read endpoints have a role to refuse.
SITE_PERMISSIONS = """\
module,operation,field_operator,production_engineer,reservoir_engineer,drilling_engineer,supervisor,manager,administrator,contractor
production,read,x,x,x,x,x,x,x,
alarms,read,x,x,x,x,x,x,x,
"""
TAGMAP = """\
tag,device,table,address,type,scale,scan,units,access,min,max,well,role
W101.THP,rtu1,hr,0,uint16,,,psi,,,,W101,
W101.SPM_SET,rtu1,hr,1,uint16,0.1,,spm,rw,0,20,W101,
B201.THP,rtu1,hr,2,uint16,,,psi,,,,B201,
B201.CHOKE_SET,rtu1,hr,3,uint16,,,1/64in,rw,0,128,B201,
"""
PASSWORD = "correct-horse-42"
FAST = Passwords(HashParams(time_cost=1, memory_kib=1024, parallelism=1))
# name -> (roles, scope)
USERS = {
    "ana": (["administrator"], []),
    "sam": (["supervisor"], []),
    "oscar": (["field_operator"], ["Lagunillas"]),
    "eva": (["production_engineer"], ["Lagunillas"]),
    "rita": (["reservoir_engineer"], []),
    "carl": (["contractor"], []),
}
TS = 1_764_000_000_000_000_000


def make_gateway(root: Path) -> GatewayConfig:
    (root / "site-permissions.csv").write_text(SITE_PERMISSIONS)
    (root / "gateway.toml").write_text(GATEWAY)
    cfg = load_config(root / "gateway.toml")
    (root / "maps").mkdir()
    (root / "maps" / "site.csv").write_text(TAGMAP)
    store.apply(cfg.paths.tagmap_dir, {"site.csv": root / "maps" / "site.csv"}, "test")
    users = UserStore(cfg.paths.state_dir)
    audit = AuditLog(cfg.paths.state_dir)
    accounts = Accounts(users, audit, load_policy(cfg), cfg.access, hasher=FAST)
    for name, (roles, scope) in USERS.items():
        accounts.add(system_user("root"), "cli", name, roles, scope, PASSWORD)
    users.close()
    audit.close()
    return cfg


def make_ring(cfg: GatewayConfig) -> RingWriter:
    cfg.paths.runtime_dir.mkdir(parents=True, exist_ok=True)
    slots = [SlotSpec("W101.THP", 0, "psi"), SlotSpec("W101.SPM_SET", 0, "spm"),
             SlotSpec("B201.THP", 0, "psi"), SlotSpec("W101.CARD_LOAD", 4, "lbf")]
    ring = RingWriter.create(cfg.paths.runtime_dir / "acq.ring", slots, tagmap_version=1)
    ring.write_batch(np.array([0, 1, 2]), np.array([812.5, 7.5, 300.0]), TS,
                     np.array([Quality.GOOD] * 3, dtype=np.uint32))
    ring.write_array(3, np.array([1.0, 2.0, 3.0, 4.0]), TS, int(Quality.GOOD))
    return ring


def make_history(cfg: GatewayConfig, n: int = 600) -> None:
    writer = HistoryWriter(cfg.paths.state_dir / "history.db")
    ids = writer.ensure_series([("W101.THP", "float", 1.0, 0.0, "psi"),
                                ("B201.THP", "float", 1.0, 0.0, "psi")])
    ts = TS + np.arange(n, dtype=np.int64) * 1_000_000_000
    for sid in ids:
        writer.append(np.full(n, sid), ts, np.linspace(100.0, 700.0, n),
                      np.full(n, int(Quality.GOOD), np.uint32))
    writer.flush(fold_all=True)
    writer.close()


class Site:
    def __init__(self, root: Path) -> None:
        self.cfg = make_gateway(root)
        self.ring = make_ring(self.cfg)
        make_history(self.cfg)

    def state(self) -> WebState:
        worker = Worker()
        gate = worker.pool.submit(lambda: Gatekeeper(self.cfg, hasher=FAST)).result()
        api = worker.pool.submit(Api, gate).result()
        return WebState(worker, gate, api)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path)
    yield s
    s.ring.close()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    state = site.state()
    with TestClient(build_app(state)) as c:
        yield c
    state.worker.pool.submit(state.api.close).result()
    state.worker.pool.submit(state.gate.close).result()
    state.worker.close()


def login(client: TestClient, user: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in; returns the CSRF header for state-changing requests."""
    r = client.post("/api/login", json={"user": user, "password": password})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf_token"]}
