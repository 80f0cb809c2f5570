"""The CLI end to end: `python -m daemons.sim run` as a real process, the other commands
against it (also through `wellgate simulate`), exit codes, and a clean SIGTERM/SIGINT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from .conftest import HR_BASE, site_text, wait_for

REPO = Path(__file__).resolve().parents[2]
MODELS_SPEC = "tests.sim.conftest:MODELS"


def _cli(*args: str, module: str = "daemons.sim") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=30, check=False)


@pytest.fixture
def running(tmp_path, need_socat):
    site_file = tmp_path / "site.toml"
    site_file.write_text(site_text())
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [sys.executable, "-m", "daemons.sim", "run", "--site", str(site_file), "--dir",
         str(state), "--isolated", "--models", MODELS_SPEC],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ports = wait_for(lambda: (state / "sim-ports.json").exists(), timeout=15)
        assert ports, proc.stderr.read() if proc.poll() is not None else "no sim-ports.json"
        yield proc, state, json.loads((state / "sim-ports.json").read_text())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def _read(port: int, unit: int) -> list[int] | None:
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=0.3, retries=0)
    try:
        if not client.connect():
            return None
        rr = client.read_holding_registers(0, count=1, device_id=unit)
        return None if rr.isError() else rr.registers
    except Exception:
        return None
    finally:
        client.close()


def test_cli_commands_against_a_running_simulator(running):
    _, state, ports = running
    port = ports["tcp"]["gw1"]["port"]
    assert _read(port, 1) == [HR_BASE]

    done = _cli("status", "--dir", str(state))
    assert done.returncode == 0, done.stderr
    assert "gw1" in done.stdout and "no faults" in done.stdout
    # everything fits 80 columns except a long pty path, printed on a line of its own
    assert all(len(line) <= 80 for line in done.stdout.splitlines()
               if line.strip() != ports["buses"]["rs485-1"]["link"]), done.stdout

    done = _cli("fault", "gw1", "drop", "--probability", "1", "--duration", "30",
                "--dir", str(state))
    assert done.returncode == 0, done.stderr
    assert "gw1: drop fault for 30 s" in done.stdout
    assert _read(port, 1) is None
    assert _read(port, 2) == [HR_BASE + 100]  # gw2 shares the port and still answers

    # through the wellgate CLI too
    done = _cli("simulate", "status", "--dir", str(state), module="daemons.cli.main")
    assert done.returncode == 0, done.stderr
    assert "fault gw1: drop" in done.stdout

    done = _cli("clear", "gw1", "--dir", str(state))
    assert done.returncode == 0 and "gw1 drop" in done.stdout
    assert wait_for(lambda: _read(port, 1) == [HR_BASE])

    done = _cli("event", "solo", "bump", "to=31", "--dir", str(state))
    assert done.returncode == 0, done.stderr
    assert wait_for(lambda: _read(ports["tcp"]["solo"]["port"], 9) == [31])
    truth = json.loads((state / "sim-truth.json").read_text())
    assert truth["devices"]["solo"]["truth"]["events"] == ["bump"]


def test_cli_exit_codes(running):
    _, state, _ = running
    assert _cli("fault", "nobody", "drop", "--dir", str(state)).returncode == 1
    done = _cli("fault", "gw1", "crc", "--dir", str(state), "--lang", "es")
    assert done.returncode == 1 and "solo aplica" in done.stderr
    assert _cli("fault", "gw1", "melt", "--dir", str(state)).returncode == 2
    assert _cli("event", "solo", "bump", "oops", "--dir", str(state)).returncode == 2
    assert _cli("event", "solo", "meteor", "--dir", str(state)).returncode == 1
    assert _cli("status").returncode == 2  # --dir is required


def test_cli_without_a_running_simulator(tmp_path):
    done = _cli("status", "--dir", str(tmp_path))
    assert done.returncode == 1 and "no simulator is running" in done.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(site_text().replace('parity = "N"', 'parity = "Q"'))
    done = _cli("run", "--site", str(bad), "--dir", str(tmp_path / "s"), "--models", MODELS_SPEC)
    assert done.returncode == 1
    line = next(n for n, t in enumerate(bad.read_text().splitlines(), 1) if "parity" in t)
    assert f"{bad}:{line}: bus 'rs485-1': parity must be N, E or O" in done.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_runner_cleanly(running, sig):
    proc, state, ports = running
    link = Path(ports["buses"]["rs485-1"]["link"])
    socat = ports["buses"]["rs485-1"]["socat_pid"]
    assert link.exists() and Path(f"/proc/{socat}").exists()
    os.kill(proc.pid, sig)
    assert proc.wait(timeout=10) == 0
    assert not link.is_symlink()
    assert not (state / "sim.sock").exists() and not (state / "sim-ports.json").exists()
    deadline = time.monotonic() + 5  # socat is our child: reaped by the runner
    while Path(f"/proc/{socat}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not Path(f"/proc/{socat}").exists()
