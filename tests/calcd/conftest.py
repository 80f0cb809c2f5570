"""calcd as a real process: the simulator over Modbus TCP, acqd and calcd as processes.

One site per test module (module-scoped fixture): starting the simulator and both daemons
costs a few seconds, and every test of a module reads the same running site.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from daemons.core.ring import RingDirectory, RingError
from daemons.sim.background import SiteThread
from daemons.sim.sitefile import parse_site

REPO = Path(__file__).resolve().parents[2]

# The ESP drive, the rod pump controller and the annulus monitor of the demo site, over
# Modbus TCP (no serial line needed); the rest of the demo configuration stays, so wells
# without devices show what a missing input looks like.
SITE = """
[site]
name = "calcd-test"
seed = 11
truth_interval_s = 1.0

[[device]]
name = "vsd1"
model = "esp_drive"
unit = 2
tcp_port = 0
wells = ["W102"]

[[device]]
name = "annuli1"
model = "annulus_monitor"
unit = 3
tcp_port = 0
wells = ["W101", "W102", "W103"]

[[device]]
name = "rpc1"
model = "rod_pump_controller"
unit = 1
tcp_port = 0
wells = ["W101"]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gateway_toml(root: Path, ports: dict[str, int]) -> str:
    gw: dict[str, Any] = tomllib.loads((REPO / "config" / "gateway.toml").read_text())
    gw["paths"] = {"runtime_dir": str(root / "run"), "state_dir": str(root / "state"),
                   "tagmap_dir": str(root / "tagmaps")}
    gw["history"] = {"flush_interval": 1.0}
    gw["gateway"]["language"] = "en"
    for dev in gw["device"]:
        if dev["name"] in ports:
            for k in ("serial_port", "baud", "parity"):
                dev.pop(k, None)
            dev.update(protocol="modbus-tcp", host="127.0.0.1", port=ports[dev["name"]],
                       timeout=0.5, retries=0)
    gw["service"] = {"acqd": {"metrics_port": 0}, "calcd": {"metrics_port": free_port()}}
    return tomli_w.dumps(gw)


@dataclass
class CalcSite:
    root: Path
    config: Path
    sim: Any
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", f"daemons.{name}", "--config", str(self.config),
             "--log-format", "json"], stdout=log, stderr=subprocess.STDOUT, env=env)

    def log(self, name: str = "calcd") -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "NO_COLOR": "1"}
        return subprocess.run([sys.executable, "-m", "daemons.cli.main", "--config",
                               str(self.config), "--lang", "en", *args], capture_output=True,
                              text=True, timeout=60, env=env)

    def wait(self, predicate: Callable[[Any], Any], timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                assert p.poll() is None, f"{name} exited:\n{self.log(name)}"
            try:
                with RingDirectory(self.root / "run") as rings:
                    value = predicate(rings.snapshot())
            except (RingError, KeyError):
                value = None
            if value:
                return value
            time.sleep(0.2)
        return value

    def signal(self, name: str, sig: int) -> None:
        self.procs[name].send_signal(sig)

    def stop(self, name: str) -> int:
        p = self.procs.pop(name)
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return -9


@pytest.fixture(scope="module")
def calc_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CalcSite]:
    root = tmp_path_factory.mktemp("calcd-site")
    site = parse_site(SITE, "calcd-site.toml", None)
    runner = SiteThread(site, state_dir=root / "sim", isolated=True)
    with runner as sim:
        cfg = root / "gateway.toml"
        cfg.write_text(gateway_toml(root, dict(sim.tcp_ports)))
        maps = root / "tagmaps"
        maps.mkdir()
        for name in ("vsd1.csv", "annuli1.csv", "rpc1.csv"):
            shutil.copy(REPO / "tagmaps" / name, maps / name)
        run = CalcSite(root, cfg, runner)
        try:
            yield run
        finally:
            for p in run.procs.values():
                if p.poll() is None:
                    p.kill()
                    p.wait()
