"""`wellgate update` end to end in a scratch root: keygen and build on the "build
machine", apply / status / rollback on the "gateway" through the command-hook service
manager (systemd is not PID 1 here), and the steps in the real audit chain (issue 15)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TREE = Path(__file__).resolve().parents[2]
HOOK = Path(__file__).with_name("fake_service_manager.py")


def wellgate(site, *args: str, root: bool = True) -> subprocess.CompletedProcess:
    extra = ["--root", str(site.root), "--config", str(site.layout.config)] if root else []
    env = {**os.environ, "PYTHONPATH": str(TREE), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "daemons.cli.main", "--lang", "en", *args,
                           *extra], capture_output=True, text=True, timeout=120, env=env,
                          cwd=site.work)


def hook(site) -> list[str]:
    return ["--service-manager", f"command:{sys.executable} {HOOK} {site.root}",
            "--timeout", "20", "--settle", "0.5"]


def audit(site) -> list[dict]:
    out = wellgate(site, "audit", "list", "--json", "--config", str(site.layout.config),
                   root=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_build_apply_status_rollback_through_the_cli(site):
    site.install_first("1.0.0")
    keys = site.work / "keys"
    keys.mkdir()
    made = wellgate(site, "update", "keygen", "release2", "--dir", str(keys), root=False)
    assert made.returncode == 0, made.stderr
    assert (keys / "release2.key").stat().st_mode & 0o777 == 0o600
    (site.layout.keys_dir / "release2.pub").write_bytes((keys / "release2.pub").read_bytes())

    tree = site.tree("2.0.0")
    update = site.work / "wellgate-2.0.0.wgu"
    built = wellgate(site, "update", "build", str(tree), "--key", str(keys / "release2.key"),
                     "-o", str(update), root=False)
    assert built.returncode == 0, built.stderr
    assert "version 2.0.0 for amd64" in built.stdout

    applied = wellgate(site, "update", "apply", str(update), *hook(site))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "updated 1.0.0 → 2.0.0" in applied.stdout
    log = (site.root / "run" / "fake-systemd.log").read_text()
    assert "restart wellgate.target" in log

    status = json.loads(wellgate(site, "update", "status", "--json").stdout)
    assert status["current"] == "2.0.0" and status["previous"] == "1.0.0"
    assert status["installed"] == ["1.0.0", "2.0.0"] and len(status["trusted_keys"]) == 2

    back = wellgate(site, "update", "rollback", *hook(site))
    assert back.returncode == 0, back.stdout + back.stderr
    assert site.layout.current() == "1.0.0"

    actions = [e["action"] for e in audit(site)]
    for step in ("update.verified", "update.unpacked", "update.config_valid",
                 "update.switched", "update.restart", "update.health", "update.done",
                 "update.rollback", "update.rolled_back"):
        assert step in actions, (step, actions)
    entries = {e["action"]: e for e in audit(site)}
    assert entries["update.done"]["object"] == "2.0.0"
    assert entries["update.done"]["details"]["unix_user"]
    verify = wellgate(site, "audit", "verify", "--config", str(site.layout.config),
                      root=False)
    assert verify.returncode == 0 and "audit chain OK" in verify.stdout


def test_daemons_that_crash_are_rolled_back_and_the_cli_says_so(site):
    site.install_first("1.0.0")
    update = site.bundle("2.0.0", daemons_ok=False)
    applied = wellgate(site, "update", "apply", str(update), *hook(site))
    assert applied.returncode == 1
    assert "2.0.0 was not healthy" in applied.stderr
    assert "failed); rolled back to 1.0.0" in applied.stderr
    assert site.layout.current() == "1.0.0" and site.layout.installed() == ["1.0.0"]
    status = wellgate(site, "update", "status")
    assert "running: 1.0.0" in status.stdout and "last: rollback 1.0.0 ok" in status.stdout
    rollback = [e for e in audit(site) if e["action"] == "update.rollback"]
    assert rollback and rollback[0]["details"]["automatic"] is True


def test_a_refused_bundle_names_the_reason_and_changes_nothing(site):
    site.install_first("1.0.0")
    update = site.bundle("2.0.0", key=site.other_key)
    before = sorted(p.name for p in site.layout.install_dir.iterdir())
    applied = wellgate(site, "update", "apply", str(update), *hook(site))
    assert applied.returncode == 1
    assert "refused, the signature does not match any trusted key" in applied.stderr
    assert "nothing was changed" in applied.stderr
    assert sorted(p.name for p in site.layout.install_dir.iterdir()) == before
    assert not (site.root / "run" / "fake-systemd.log").exists()
    refused = [e for e in audit(site) if e["action"] == "update.refused"]
    assert refused and "signature" in refused[0]["details"]["reason"]
