"""Whole-daemon fixtures: a simulated site with test slaves, and acqd as a real process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from daemons.core.ring import RingDirectory, RingError
from daemons.sim.background import SiteThread
from daemons.sim.sitefile import parse_site
from daemons.sim.testmodel import MODELS

SITE = """
[site]
name = "acqd-test"
seed = 3
truth_interval_s = 1.0

[[bus]]
name = "rs485-1"
link = "ttyRS485-1"
baud = 19200
parity = "N"
stop_bits = 1
turnaround_ms = 5

[[device]]
name = "rtu1"
model = "test_counter"
unit = 1
bus = "rs485-1"

[[device]]
name = "rtu2"
model = "test_counter"
unit = 2
bus = "rs485-1"
[device.params]
offset = 100

[[device]]
name = "gw1"
model = "test_counter"
unit = 1
tcp_port = 0
"""

GATEWAY = """
[gateway]
site = "acqd test"
language = "en"

[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"

[history]
flush_interval = 1.0

[[history.filter]]
tags = "r1.scal*"
method = "deadband"
tolerance = 0.5

[scan.fast]
interval = 1.0

[scan.slow]
interval = 2.0

[scan.hourly]
interval = 3600.0

[[well]]
id = "W9"
type = "rod_pump"

[[device]]
name = "rtu1"
protocol = "modbus-rtu"
serial_port = "{pty}"
baud = 19200
parity = "N"
unit = 1
timeout = 0.2
retries = 0
demote_after = 2
demote_period = 4.0

[[device]]
name = "rtu2"
protocol = "modbus-rtu"
serial_port = "{pty}"
baud = 19200
parity = "N"
unit = 2
timeout = 0.2
retries = 0

[[device]]
name = "gw1"
protocol = "modbus-tcp"
host = "127.0.0.1"
port = {tcp_port}
unit = 1
timeout = 0.5

[service.acqd]
metrics_port = {metrics_port}
"""

# Known contents of the test slave (daemons/sim/testmodel.py): hr[i] = 1000 + offset + i,
# ir[i] = 2000 + offset + i, ir[10] counts physics steps, coils i % 3 == 0.
TAGMAP = """\
tag,device,table,address,type,scale,scan,units,access,min,max,well,role
R1.HR0,rtu1,hr,0,uint16,,,,,,,,
R1.PAIR,rtu1,hr,2,uint32,,,,,,,,
R1.SCALED,rtu1,hr,5,int16,0.1,,psi,,,,,
R1.COUNTER,rtu1,ir,10,uint16,,,,,,,,
R1.C3,rtu1,co,3,bool,,,,,,,,
R2.HR0,rtu2,hr,0,uint16,,,,,,,,
R2.COUNTER,rtu2,ir,10,uint16,,,,,,,,
G.HR0,gw1,hr,0,uint16,,,,,,,,
G.SWAPPED,gw1,hr,10,float32,,,,,,,,
G.ARRAY,gw1,hr,20,uint16[200],,slow,,,,,,
G.SET,gw1,hr,300,uint16,,,,rw,0,1000,,
R1.FLAG,rtu1,hr,300,bit:3,,,,rw,,,,
G.SEQ,gw1,ir,10,uint16,,,,,,,W9,card_sequence
G.CARD,gw1,hr,220,uint16[20],,hourly,,,,,W9,surface_load_card
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class AcqdRun:
    root: Path
    config: Path
    sim: SiteThread
    proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        log = open(self.root / "acqd.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen([sys.executable, "-m", "daemons.acqd", "--config",
                                      str(self.config), "--log-format", "json"],
                                     stdout=log, stderr=subprocess.STDOUT, env=env)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """`wellgate --config <this site> --lang en ARGS`, as a technician would run it."""
        env = {**os.environ, "NO_COLOR": "1"}
        return subprocess.run([sys.executable, "-m", "daemons.cli.main", "--config",
                               str(self.config), "--lang", "en", *args], capture_output=True,
                              text=True, timeout=60, env=env)

    def log(self) -> str:
        return (self.root / "acqd.log").read_text(errors="replace")

    def snapshot(self):
        with RingDirectory(self.root / "run") as rings:
            return rings.snapshot()

    def wait(self, predicate, timeout: float = 10.0):
        """Poll until predicate(snapshot) is truthy; returns its last value."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            assert self.proc is None or self.proc.poll() is None, self.log()
            try:
                value = predicate(self.snapshot())
            except (RingError, KeyError):
                value = None
            if value:
                return value
            time.sleep(0.1)
        return value

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=8)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9


@pytest.fixture
def acqd_site(tmp_path: Path) -> Iterator[AcqdRun]:
    if shutil.which("socat") is None:
        pytest.skip("socat is not installed (apt-get install -y socat)")
    site = parse_site(SITE, "acqd-site.toml", set(MODELS))
    runner = SiteThread(site, state_dir=tmp_path / "sim", models=MODELS, isolated=True)
    with runner as sim:
        cfg = tmp_path / "gateway.toml"
        cfg.write_text(GATEWAY.format(pty=sim.pty_links["rs485-1"],
                                      tcp_port=sim.tcp_ports["gw1"],
                                      metrics_port=free_port()))
        maps = tmp_path / "tagmaps"
        maps.mkdir()
        (maps / "test.csv").write_text(TAGMAP)
        run = AcqdRun(tmp_path, cfg, runner)
        try:
            yield run
        finally:
            if run.proc is not None and run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()
