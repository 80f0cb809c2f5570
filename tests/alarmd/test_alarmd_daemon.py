"""alarmd as a real process, with acqd polling the simulator: a fault raises the quality
alarm, ack, return to normal; state survives kill -9; refused commands are audited."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from daemons.alarmd.journal import history
from daemons.core.access.audit import AuditReader
from daemons.core.alarms import alarm_dir
from daemons.core.tagmap import store
from daemons.sim.background import SiteThread
from daemons.sim.sitefile import parse_site
from daemons.sim.testmodel import MODELS

SITE = """
[site]
name = "alarmd-test"
seed = 3

[[device]]
name = "gw1"
model = "test_counter"
unit = 1
tcp_port = 0
"""
GATEWAY = """
[gateway]
site = "alarmd test"
language = "en"

[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"

[history]
enabled = false

[scan.fast]
interval = 0.5

[[device]]
name = "gw1"
protocol = "modbus-tcp"
host = "127.0.0.1"
port = {port}
unit = 1
timeout = 0.3
retries = 0
demote_after = 100

[service.acqd]
metrics_port = 0

[service.alarmd]
metrics_port = 0

[notify]
priorities = ["high"]
webhook_url = "http://127.0.0.1:{hook}/alarms"
"""
# test_counter: hr[i] = 1000 + i; ir[10] counts physics steps.
TAGMAP = "tag,device,table,address,type\nG.HR0,gw1,hr,0,uint16\nG.COUNTER,gw1,ir,10,uint16\n"
ALARMS = """tag,type,limit,priority,on_delay,message_en,message_es,group
G.HR0,hi,500,high,0,HR0 high,HR0 alto,G
G.HR0,quality,,medium,1,HR0 lost,HR0 perdido,
G.COUNTER,lo,0,low,0,never,nunca,
"""
NORMAL, UNACK, ACKED, RTN_UNACK = 0.0, 1.0, 2.0, 3.0


@pytest.fixture
def site(tmp_path, make_site, net):
    runner = SiteThread(parse_site(SITE, "site.toml", set(MODELS)), state_dir=tmp_path / "sim",
                        models=MODELS, isolated=True)
    with runner as sim:
        hook = net.Receiver(net.free_port())
        (tmp_path / "gateway.toml").write_text(GATEWAY.format(
            port=sim.tcp_ports["gw1"], hook=hook.server.server_address[1]))
        src = tmp_path / "src"
        src.mkdir()
        (src / "test.csv").write_text(TAGMAP)
        store.apply(tmp_path / "tagmaps", {"test.csv": src / "test.csv"})
        (src / "site.csv").write_text(ALARMS)
        store.apply(alarm_dir(tmp_path / "tagmaps"), {"site.csv": src / "site.csv"})
        s = make_site(tmp_path, runner)
        s.hook = hook
        try:
            yield s
        finally:
            hook.close()
            for p in s.procs.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(timeout=8)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()


def test_fault_ack_return_to_normal_and_restart(site):
    site.start("acqd")
    site.start("alarmd")
    assert site.wait("G.HR0.ALARM.HI", UNACK), site.log()
    assert site.state("G.COUNTER.ALARM.LO") == NORMAL
    assert (site.state("ALARMS.FLOOD"), site.state("ALARMS.RATE_10MIN")) == (0.0, 1.0)
    listed = json.loads(site.cli("--json").stdout)
    assert [(a["id"], a["state"], a["value"], a["limit"], a["message"]) for a in listed] == [
        ("G.HR0:hi", "unacknowledged", 1000.0, 500.0, "HR0 high")]
    assert set(listed[0]) == {"id", "tag", "well", "type", "priority", "state", "value",
                              "limit", "message", "since", "acked_by"}
    done = site.cli("ack", "G.HR0:hi", "--comment", "seen")
    assert done.returncode == 0, done.stderr
    assert site.wait("G.HR0.ALARM.HI", ACKED)
    assert json.loads(site.cli("--json").stdout)[0]["acked_by"] == "root"

    # A fault in the simulator: the device stops answering, the quality alarm rises.
    site.sim.call(site.sim.sim.fault("gw1", "drop", unit=1))
    assert site.wait("G.HR0.ALARM.QUALITY", UNACK), site.log()
    assert site.state("G.HR0.ALARM.HI") == ACKED  # a Bad value holds the limit alarm
    site.sim.call(site.sim.sim.clear("gw1"))
    assert site.wait("G.HR0.ALARM.QUALITY", RTN_UNACK, timeout=30), site.log("acqd")
    assert site.cli("ack", "G.HR0", "--comment", "comms back").returncode == 0
    assert site.wait("G.HR0.ALARM.QUALITY", NORMAL)

    # kill -9: every acknowledged state comes back from the journal.
    site.procs["alarmd"].kill()
    site.procs["alarmd"].wait()
    before = len(history(site.root / "state"))
    site.start("alarmd")
    assert site.wait("G.HR0.ALARM.HI", ACKED)
    time.sleep(0.5)
    assert site.state("G.HR0.ALARM.QUALITY") == NORMAL
    rows = history(site.root / "state")
    assert len(rows) == before, rows[before:]  # nothing re-raised after the restart
    assert [(r["alarm_id"], r["action"], r["user"]) for r in rows if r["action"] == "ack"] \
        == [("G.HR0:hi", "ack", "root"), ("G.HR0:quality", "ack", "root")]
    text = site.cli("history").stdout
    assert "G.HR0:quality" in text and "unacknowledged -> acknowledged" in text

    # `alarms apply` (SIGHUP): a new alarm appears, unchanged ones keep their state.
    new = site.root / "src" / "site.csv"
    new.write_text(ALARMS + "G.COUNTER,hihi,1000000,low,0,never,nunca,\n")
    applied = site.cli("apply", str(new), "--note", "one more")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "alarmd" in applied.stdout
    assert site.wait("G.COUNTER.ALARM.HIHI", NORMAL)
    assert site.state("G.HR0.ALARM.HI") == ACKED
    assert len(history(site.root / "state")) == before

    # Shelving needs a comment; then the alarm is shelved.
    assert site.cli("shelve", "G.HR0:hi", "--for", "2h").returncode == 1
    assert site.cli("shelve", "G.HR0:hi", "--for", "2h", "--comment", "work").returncode == 0
    assert site.wait("G.HR0.ALARM.HI", 4.0)
    # Acknowledging by tag addresses both of its alarms: each is audited.
    reader = AuditReader(site.root / "state")
    actions = [e.action for e in reader.entries()]
    reader.close()
    assert actions.count("alarms.ack") == 3 and "alarms.shelve" in actions
    figures = json.loads(site.cli("report", "--since", "1h", "--json").stdout)
    assert figures["activations"] == 2  # G.HR0:hi once, G.HR0:quality once
    # The high-priority alarm was posted to the webhook (medium quality alarm was not).
    deadline = time.monotonic() + 10
    while not site.hook.bodies and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [b["id"] for b in site.hook.bodies] == ["G.HR0:hi"]
    assert {x["id"] for x in figures["bad_actors"]} == {"G.HR0:hi", "G.HR0:quality"}


def test_unauthorized_ack_is_refused_and_audited(site, tmp_path):
    from daemons.alarmd.commands import AlarmCommands
    from daemons.core.access.audit import AuditLog
    from daemons.core.access.policy import load_policy
    from daemons.core.access.writes import WriteGuard
    from daemons.core.config import load_config

    cfg = load_config(site.config)
    audit = AuditLog(cfg.paths.state_dir)

    class Daemon:
        def resolve(self, target):
            return [target]

        def well_of(self, aid):
            return None

        def apply(self, *a):
            raise AssertionError("must not act")

    guard = WriteGuard(cfg.paths.state_dir, load_policy(cfg), {}, audit,
                       trusted=frozenset())
    cmds = AlarmCommands(tmp_path, Daemon(), guard, log=_Log())
    reply = cmds.handle({"op": "ack", "id": "G.HR0:hi", "comment": "x"}, uid=os.getuid())
    assert reply["ok"] is False and "has no gateway user" in reply["error"]["en"]
    audit.close()
    reader = AuditReader(cfg.paths.state_dir)
    (entry,) = [e for e in reader.entries() if e.action == "alarms.ack.denied"]
    reader.close()
    assert entry.object == "G.HR0:hi"


class _Log:
    def warning(self, *a, **k):
        pass

    error = info = warning
