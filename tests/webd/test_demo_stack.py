"""webd in the whole demo stack (simulator, acqd, calcd, alarmd, webd as `wellgate demo`
starts them): a write through the real acqd with the user passed along and read back from
the simulated device, refused out of scope; the real alarmd's list; the audit trail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from daemons.core.access.accounts import Accounts
from daemons.core.access.audit import AuditLog, AuditReader
from daemons.core.access.model import system_user
from daemons.core.access.policy import load_policy
from daemons.core.access.users import UserStore
from daemons.core.config import load_config

from .conftest import FAST, PASSWORD
from .test_live import free_port

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]
TAG = "W101.MAWOP_A"  # a holding register of the simulated annulus monitor (rw, lift)


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def demo(tmp_path):
    root = tmp_path / "demo"
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "daemons.cli.main", "--lang", "en", "demo",
                             "--dir", str(root), "--http-port", str(port),
                             "--opcua-port", str(free_port()), "--duration", "90"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up():
        if proc.poll() is not None:
            pytest.fail(proc.stdout.read().decode())
        try:
            return httpx.get(base + "/api/me", timeout=1).status_code == 401
        except httpx.TransportError:
            return False

    wait_for(up, 60, "webd in the demo")
    cfg = load_config(root / "gateway.toml")
    users, audit = UserStore(cfg.paths.state_dir), AuditLog(cfg.paths.state_dir)
    accounts = Accounts(users, audit, load_policy(cfg), cfg.access, hasher=FAST)
    accounts.add(system_user("root"), "cli", "pe", ["production_engineer"], [], PASSWORD)
    accounts.add(system_user("root"), "cli", "op", ["field_operator"], ["W102"], PASSWORD)
    users.close()
    audit.close()
    yield base, cfg
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def session(base: str, user: str) -> tuple[httpx.Client, dict[str, str]]:
    http = httpx.Client(base_url=base, timeout=20)
    r = http.post("/api/login", json={"user": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return http, {"X-CSRF-Token": r.json()["csrf_token"]}


def test_write_through_the_real_acqd_and_alarms_from_the_real_alarmd(demo):
    base, cfg = demo
    http, csrf = session(base, "pe")
    try:
        def good():
            rows = http.get("/api/tags", params={"pattern": TAG}).json()
            return rows if isinstance(rows, list) and rows and rows[0]["quality"] == "good" \
                else None
        wait_for(good, 60, f"{TAG} polled by acqd")
        r = http.post("/api/write", headers=csrf,
                      json={"tag": TAG, "value": 1234, "reason": "webd test"})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "confirmed" and r.json()["readback"] == 1234
        wait_for(lambda: http.get("/api/tags", params={"pattern": TAG}).json()[0]["value"]
                 == 1234, 10, "the new value in the ring")
        alarms = http.get("/api/alarms")
        assert alarms.status_code == 200, alarms.text
        assert isinstance(alarms.json(), list)
        if alarms.json():  # acknowledge one through the real alarmd, as pe
            aid = alarms.json()[0]["id"]
            r = http.post(f"/api/alarms/{aid}/ack", headers=csrf, json={"comment": "seen"})
            assert r.status_code in (200, 409), r.text  # 409: alarmd had nothing to change
    finally:
        http.close()
    other, csrf = session(base, "op")  # scope W102 only
    try:
        r = other.post("/api/write", headers=csrf,
                       json={"tag": TAG, "value": 99, "reason": "out of scope"})
        assert r.status_code == 403
    finally:
        other.close()
    reader = AuditReader(cfg.paths.state_dir)
    try:
        entries = [(e.actor, e.source, e.action, e.object, e.details_dict())
                   for e in reader.entries()]
    finally:
        reader.close()
    writes = [e for e in entries if e[2] == "tag.write" and e[3] == TAG]
    assert writes and writes[-1][0] == "pe" and writes[-1][1] == "web"
    assert writes[-1][4]["delegated"] is True and writes[-1][4]["state"] == "confirmed"
    assert ("op", "web", "tag.write.denied", TAG) in [e[:4] for e in entries]
    assert ("pe", "web", "login", "pe") in [e[:4] for e in entries]
    acks = [e for e in entries if e[2] == "alarms.ack"]
    assert all(e[0] == "pe" and e[1] == "web" for e in acks)
