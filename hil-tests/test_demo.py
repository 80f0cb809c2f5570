"""End to end: `wellgate demo` runs the simulated site and every daemon, and stops cleanly."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(150)

# One tag of every simulated device: the demo is only useful if they all arrive.
EXPECTED = ("W101.", "W102.", "W103.", "W104.", "TS1.", "D201.", "W107.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wellgate(*args: str, config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "daemons.cli.main", "--config", str(config),
                           "--lang", "en", *args], capture_output=True, text=True, timeout=60)


def test_demo_runs_the_site_and_stops_on_ctrl_c(tmp_path):
    root = tmp_path / "demo"
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "daemons.cli.main", "--lang", "en", "demo", "--dir", str(root),
         "--http-port", str(free_port()), "--opcua-port", str(free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True)
    config = root / "gateway.toml"
    try:
        rows: list[dict] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read()
            if config.exists():
                out = wellgate("tags", "--json", config=config)
                if out.returncode == 0:
                    rows = json.loads(out.stdout)
                    good = {r["tag"] for r in rows if r["quality"] == "good"}
                    if all(any(t.startswith(p) for t in good) for p in EXPECTED):
                        break
            time.sleep(1.0)
        good = {r["tag"] for r in rows if r["quality"] == "good"}
        missing = [p for p in EXPECTED if not any(t.startswith(p) for t in good)]
        logs = "\n".join(p.read_text()[-2000:] for p in (root / "logs").glob("*.log"))
        assert not missing, f"no good values for {missing}\n{logs}"
        status = wellgate("status", config=config)
        assert status.returncode == 0 and "acqd" in status.stdout and "ready" in status.stdout
        truth = json.loads((root / "sim" / "sim-truth.json").read_text())
        assert "rpc1" in json.dumps(truth)
        # The first administrator exists, with a one-time password to change at login.
        users = json.loads(wellgate("user", "list", "--json", config=config).stdout)
        assert [(u["name"], u["roles"], u["must_change_password"]) for u in users] == [
            ("admin", ["administrator"], True)]
        assert wellgate("audit", "verify", config=config).returncode == 0
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    assert proc.returncode == 0, out
    assert "demo stopped" in out
    assert re.search(r"administrator: admin, one-time password [A-Za-z0-9]{20} ", out), out
    # Nothing left behind: no daemon, simulator or socat of this demo still running.
    left = subprocess.run(["pgrep", "-f", str(root)], capture_output=True, text=True).stdout
    assert left.strip() == "", left
