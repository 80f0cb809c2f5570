"""The systemctl service manager's calls and its reading of `systemctl show`, against a
stand-in `systemctl` on PATH (systemd is not PID 1 here)."""

from __future__ import annotations

from daemons.core.update.services import Systemctl, UnitState, manager_from, wait_healthy

SHOW = """\
Id=wellgate-acqd.service
ActiveState=active
NRestarts=0

Id=wellgate-calcd.service
ActiveState=activating
NRestarts=2
"""


def fake_systemctl(tmp_path, monkeypatch):
    calls = tmp_path / "calls"
    script = tmp_path / "bin" / "systemctl"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\n"
                      f"[ \"$1\" = show ] && cat <<'EOF'\n{SHOW}EOF\nexit 0\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    return calls


def test_restart_does_not_block_and_show_is_parsed(tmp_path, monkeypatch):
    calls = fake_systemctl(tmp_path, monkeypatch)
    manager = Systemctl()
    manager.restart("wellgate.target")
    states = manager.states(["wellgate-acqd.service", "wellgate-calcd.service"])
    assert states == [UnitState("wellgate-acqd.service", "active", 0),
                      UnitState("wellgate-calcd.service", "activating", 2)]
    lines = calls.read_text().splitlines()
    assert lines[0] == "restart --no-block wellgate.target"
    assert lines[1] == ("show --property=Id,ActiveState,NRestarts wellgate-acqd.service "
                        "wellgate-calcd.service")
    healthy, why = wait_healthy(manager, ["wellgate-acqd.service", "wellgate-calcd.service"],
                                timeout_s=0.3, settle_s=0.1, poll_s=0.05)
    assert not healthy and "wellgate-calcd.service activating" in why


def test_choosing_the_manager():
    assert isinstance(manager_from("systemctl"), Systemctl)
    assert manager_from("none") is None
    assert manager_from("command:/bin/true").argv == ["/bin/true"]
