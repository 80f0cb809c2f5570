"""The whole daemon: `python -m daemons.webd --config` on a free loopback port, an HTTP
client reading /api/events while the test writes the ring, SIGTERM ends it cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from daemons.core.quality import Quality

from .conftest import PASSWORD

pytestmark = pytest.mark.timeout(90)
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def daemon(site):
    port = free_port()
    config = site.cfg.source
    config.write_text(config.read_text().replace("port = 0", f"port = {port}"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "daemons.webd", "--config", str(config)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/api/me", timeout=1)
            break
        except httpx.TransportError:
            if proc.poll() is not None:
                pytest.fail(proc.stdout.read().decode())
            time.sleep(0.1)
    yield base, proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def test_sse_delivers_a_ring_change_within_a_second(site, daemon):
    base, _proc = daemon
    with httpx.Client(base_url=base, timeout=10) as http:
        r = http.post("/api/login", json={"user": "oscar", "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert "server" not in r.headers
        with http.stream("GET", "/api/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            first = _next_event(lines)  # the current values, scope-filtered
            assert {row["tag"] for row in first} == {"W101.THP", "W101.SPM_SET",
                                                     "W101.CARD_LOAD"}
            t0 = time.monotonic()
            site.ring.write_batch(np.array([0, 2]), np.array([901.0, 55.0]), time.time_ns(),
                                  np.array([Quality.GOOD] * 2, dtype=np.uint32))
            rows = _next_event(lines)
            elapsed = time.monotonic() - t0
    assert [(row["tag"], row["value"]) for row in rows] == [("W101.THP", 901.0)]
    assert elapsed < 1.0, elapsed


def test_status_shows_webd_reload_keeps_sessions_and_sigterm_stops_it(site, daemon):
    base, proc = daemon
    with httpx.Client(base_url=base, timeout=10) as http:
        http.post("/api/login", json={"user": "ana", "password": PASSWORD})
        body = http.get("/api/status").json()
        assert "webd" in [d["name"] for d in body["daemons"]]
        proc.send_signal(signal.SIGHUP)  # users, roles and wells reloaded in place
        time.sleep(1.0)
        assert http.get("/api/me").json()["user"] == "ana"
        assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


def _next_event(lines) -> list[dict]:
    data = None
    for line in lines:
        if line.startswith("data:"):
            data = line[5:].strip()
        elif line == "" and data is not None:
            return json.loads(data)
    raise AssertionError("stream ended")
