"""schemathesis against the OpenAPI schema of a live webd (the whole daemon on a free
loopback port, acqd and alarmd as fakes speaking their protocol): every operation gets
EXAMPLES valid and EXAMPLES invalid requests (schemathesis' positive and negative
generation, derandomized so a run is repeatable), once as a logged-in session with its
CSRF header and once with an API key; no answer may be a 5xx."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from daemons.core.access.accounts import Accounts
from daemons.core.access.audit import AuditLog
from daemons.core.access.model import system_user
from daemons.core.access.policy import load_policy
from daemons.core.access.users import UserStore

from .conftest import PASSWORD, FakeDaemon
from .test_actions import alarmd_answer
from .test_live import free_port

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = 25  # per operation and generation mode: ~900 requests, well under a minute
# /api/events streams until the client leaves (schemathesis would wait forever) and is
# covered by test_live.py and test_api_schema.py; /api/logout would end the session the
# rest of the run uses.
SKIPPED = ("/api/events", "/api/logout")
# Random text almost never names a real tag, well or alarm, so the requests would stop at
# 404 before reaching the code behind it: half the cases get a real name put in.
KNOWN = {"tag": ("W101.SPM_SET", "B201.CHOKE_SET", "W101.THP", "W101.CARD_LOAD"),
         "well": ("W101", "B201"), "alarm_id": ("W101.THP:hi", "B201.THP", "W101.THP")}
# Times of /api/history: numbers and dates at and beyond the edges, which random text
# rarely is.
TIMES = ("1764000000", "2026-12-04T10:00:00Z", "inf", "-1e30", "1e18", "0001-01-01",
         "9999-12-31T23:59:59+14:00", "nan", "7258118399.5")


def put_known_names(case, pick: int) -> None:
    if pick == 0:
        return
    for key, names in KNOWN.items():
        if case.path_parameters and key in case.path_parameters:
            case.path_parameters[key] = names[pick % len(names)]
        if isinstance(case.body, dict) and key in case.body:
            case.body[key] = names[pick % len(names)]
    for key in ("start", "end"):
        if case.query and key in case.query:
            case.query[key] = TIMES[(pick * 3 + len(key)) % len(TIMES)]


@pytest.fixture
def live(site):
    acqd = FakeDaemon(site.cfg.paths.runtime_dir / "acqd.sock",
                      lambda m: {"ok": True, "id": 1, "state": "confirmed",
                                 "readback": m.get("value")})
    alarmd = FakeDaemon(site.cfg.paths.runtime_dir / "alarmd.sock", alarmd_answer)
    port = free_port()
    config = site.cfg.source
    config.write_text(config.read_text().replace("port = 0", f"port = {port}"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen([sys.executable, "-m", "daemons.webd", "--config", str(config)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/api/me", timeout=1)
            break
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(proc.stdout.read().decode())
            time.sleep(0.1)
    yield base, proc
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    acqd.close()
    alarmd.close()
    assert proc.returncode == 0, out.decode()[-3000:]


def session_headers(base: str) -> dict[str, str]:
    r = httpx.post(base + "/api/login", json={"user": "ana", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Cookie": f"wg_session={r.cookies['wg_session']}",
            "X-CSRF-Token": r.json()["csrf_token"]}


def api_key_headers(site) -> dict[str, str]:
    users, audit = UserStore(site.cfg.paths.state_dir), AuditLog(site.cfg.paths.state_dir)
    try:
        key = Accounts(users, audit, load_policy(site.cfg), site.cfg.access).new_api_key(
            system_user("root"), "cli", "sam")
    finally:
        users.close()
        audit.close()
    return {"Authorization": f"Bearer {key}"}


def fuzz(base: str, headers: dict[str, str]) -> int:
    """Run every operation; returns how many requests were made (a 5xx fails at once)."""
    schema = schemathesis.openapi.from_url(base + "/schema/openapi.json")
    sent = 0
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 13
    for operation in operations:
        if operation.path in SKIPPED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.generate, Phase.shrink],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode),
                   pick=st.integers(0, 7))
            def one(case, pick: int) -> None:
                nonlocal sent
                put_known_names(case, pick)
                # Headers the case itself generated (negative mode) stay; ours win.
                response = case.call(base_url=base, headers=headers, timeout=20)
                sent += 1
                case.validate_response(response, checks=[not_a_server_error])
            try:
                one()
            except Unsatisfiable:
                # Nothing to make invalid: an operation without parameters or body.
                assert mode is GenerationMode.NEGATIVE, operation.label
    return sent


def test_schemathesis_finds_no_server_error(site, live):
    base, proc = live
    sent = fuzz(base, session_headers(base))
    sent += fuzz(base, api_key_headers(site))
    assert sent >= 200
    assert proc.poll() is None  # still serving
    assert httpx.get(base + "/api/me", timeout=5).status_code == 401
