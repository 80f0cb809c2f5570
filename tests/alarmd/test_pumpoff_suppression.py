"""Suppression by design on the simulated rod pump: when the pump-off controller stops
W101, its low motor current is shown as suppressed and never annunciated (acqd, alarmd
and the simulator as real processes / threads, the reference tag map rpc1.csv)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from daemons.alarmd.journal import history
from daemons.core.access.audit import AuditReader
from daemons.core.alarms import alarm_dir
from daemons.core.tagmap import store
from daemons.sim.background import SiteThread
from daemons.sim.sitefile import parse_site

REPO = Path(__file__).resolve().parents[2]
SITE = """
[site]
name = "pumpoff"
seed = 5

[[bus]]
name = "rs485-1"
link = "ttyRS485-1"
baud = 115200
turnaround_ms = 2

[[device]]
name = "rpc1"
model = "rod_pump_controller"
unit = 1
bus = "rs485-1"
wells = ["W101"]
[device.params]
spm = 12.0
# The pump fills to about 94 %: a 99 % pump-off set point stops it after two strokes.
pump_off_fillage_pct = 99.0
pump_off_strokes = 2
"""
GATEWAY = """
[gateway]
site = "pumpoff"
language = "en"

[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"

[history]
enabled = false

[scan.fast]
interval = 1.0

[scan.slow]
interval = 2.0

[[device]]
name = "rpc1"
protocol = "modbus-rtu"
serial_port = "{pty}"
baud = 115200
parity = "N"
unit = 1
timeout = 0.5

[[well]]
id = "W101"
type = "rod_pump"

[service.acqd]
metrics_port = 0

[service.alarmd]
metrics_port = 0
"""
ALARMS = """tag,type,limit,priority,on_delay,suppress_when
W101.MOTOR_CURRENT,lo,0.5,medium,0,W101.PUMPED_OFF or W101.RUNNING == 0
W101.SPM,lo,0.5,low,0,
"""


@pytest.fixture
def pumpoff_site(tmp_path, make_site, request):
    if shutil.which("socat") is None:
        pytest.skip("socat is not installed")
    from daemons.sim.devices import MODELS

    runner = SiteThread(parse_site(SITE, "site.toml", set(MODELS)), state_dir=tmp_path / "sim",
                        models=MODELS, isolated=True)
    with runner as sim:
        (tmp_path / "gateway.toml").write_text(GATEWAY.format(pty=sim.pty_links["rs485-1"]))
        store.apply(tmp_path / "tagmaps", {"rpc1.csv": REPO / "tagmaps" / "rpc1.csv"})
        src = tmp_path / "alarms.csv"
        src.write_text(getattr(request, "param", ALARMS))
        store.apply(alarm_dir(tmp_path / "tagmaps"), {"w101.csv": src})
        site = make_site(tmp_path, runner)
        try:
            yield site
        finally:
            for p in site.procs.values():
                if p.poll() is None:
                    p.kill()
                    p.wait()


def test_pumped_off_well_suppresses_its_low_current(pumpoff_site):
    site = pumpoff_site
    site.start("acqd")
    site.start("alarmd")
    # The controller pumps the well off and stops it: current and SPM fall to zero.
    assert site.wait("W101.MOTOR_CURRENT.ALARM.LO", 5.0, timeout=60), site.log("acqd")
    time.sleep(2)
    rows = [r for r in history(site.root / "state") if r["alarm_id"] == "W101.MOTOR_CURRENT:lo"]
    assert [r["new"] for r in rows] == ["suppressed"], rows
    # The unsuppressed SPM low alarm on the same stopped well does annunciate.
    assert site.state("W101.SPM.ALARM.LO") == 1.0


DOWNTIME_ALARMS = """tag,type,limit,priority,on_delay,suppress_when
W101.SPM,lo,0.5,low,0,W101.DOWNTIME
"""


@pytest.mark.parametrize("pumpoff_site", [DOWNTIME_ALARMS], indirect=True)
def test_planned_downtime_suppresses_and_its_end_annunciates(pumpoff_site):
    site = pumpoff_site
    site.start("acqd")
    site.start("alarmd")
    assert site.wait("W101.DOWNTIME", 0.0, timeout=30), site.log()
    begin = site.cli("downtime", "W101", "--for", "2h", "--comment", "workover")
    assert begin.returncode == 0, begin.stdout + begin.stderr
    assert site.state("W101.DOWNTIME") == 1.0
    # The controller pumps the well off: SPM falls, but the well is in planned downtime.
    assert site.wait("W101.SPM.ALARM.LO", 5.0, timeout=60), site.log()  # 5 = suppressed
    refused = site.cli("downtime", "W101")  # neither --for nor --end
    assert refused.returncode == 2
    end = site.cli("downtime", "W101", "--end")
    assert end.returncode == 0, end.stdout + end.stderr
    assert site.wait("W101.SPM.ALARM.LO", 1.0, timeout=15), site.log()  # unacknowledged
    assert site.state("W101.DOWNTIME") == 0.0
    rows = [r["new"] for r in history(site.root / "state") if r["alarm_id"] == "W101.SPM:lo"]
    # Suppressed while the downtime lasted; its end lifts the suppression (normal) and the
    # still-low SPM annunciates.
    assert rows[0] == "suppressed" and rows[-1] == "unacknowledged", rows
    reader = AuditReader(site.root / "state")
    try:
        actions = [e.action for e in reader.entries()]
    finally:
        reader.close()
    assert actions.count("alarms.downtime") == 2, actions

