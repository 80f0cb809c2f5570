"""Signed updates with the frozen `wellgate` itself: keygen, build from the real bundle,
apply into a scratch root where the new version's own frozen CLI migrates and validates
the configuration, then a truncated copy refused (issue 15)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

# The first test of a session builds the image (image/build.py; reused afterwards):
# longer than the suite's per-test timeout on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(900)

GATEWAY = """\
[gateway]
site = "frozen update test"
language = "en"

[paths]
runtime_dir = "../../run/wellgate"
state_dir = "../../var/lib/wellgate"
tagmap_dir = "tagmaps"
"""


def test_frozen_update_build_apply_and_refusal(image, tmp_path):
    root = tmp_path / "root"
    version = image.info["version"]
    opt = root / "opt" / "wellgate"
    opt.mkdir(parents=True)
    shutil.copytree(image.dir, opt / version, symlinks=True)
    (opt / "current").symlink_to(version)
    etc = root / "etc" / "wellgate"
    (etc / "update-keys").mkdir(parents=True)
    (etc / "tagmaps").mkdir()
    (etc / "gateway.toml").write_text(GATEWAY)

    made = image.run("wellgate", "--lang", "en", "update", "keygen", "release", "--dir",
                     str(tmp_path), home=tmp_path)
    assert made.returncode == 0, made.stderr
    shutil.copy(tmp_path / "release.pub", etc / "update-keys" / "release.pub")
    update = tmp_path / "next.wgu"
    new = f"{version}+next"
    built = image.run("wellgate", "--lang", "en", "update", "build", str(image.dir), "--key",
                      str(tmp_path / "release.key"), "-o", str(update), "--version", new,
                      home=tmp_path, timeout=300)
    assert built.returncode == 0, built.stderr
    assert f"version {new} for {image.info['arch']}" in built.stdout

    # A copy cut short on the way (a USB stick pulled out) is refused; nothing moves.
    cut = tmp_path / "cut.wgu"
    cut.write_bytes(update.read_bytes()[: update.stat().st_size * 2 // 3])
    running = opt / "current" / "wellgate"
    common = ["--root", str(root), "--config", str(etc / "gateway.toml"),
              "--service-manager", "none"]
    refused = image.run(str(running), "--lang", "en", "update", "apply", str(cut), *common,
                        home=tmp_path, timeout=300)
    assert refused.returncode == 1
    assert "refused" in refused.stderr and "nothing was changed" in refused.stderr
    assert sorted(p.name for p in opt.iterdir()) == sorted(["current", version])

    applied = image.run(str(running), "--lang", "en", "update", "apply", str(update), *common,
                        home=tmp_path, timeout=300)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (opt / "current").readlink() == Path(new)
    assert (opt / new / "wellgate").stat().st_mode & 0o777 == 0o755
    assert (opt / new / "acqd").readlink() == Path("wellgate")

    status = image.run(str(opt / "current" / "wellgate"), "update", "status", "--json",
                       "--root", str(root), home=tmp_path)
    info = json.loads(status.stdout)
    assert info["current"] == new and info["previous"] == version
    entries = image.run(str(opt / "current" / "wellgate"), "--config",
                        str(etc / "gateway.toml"), "audit", "list", "--json", home=tmp_path)
    actions = [e["action"] for e in json.loads(entries.stdout)]
    # config_valid: the new version's own frozen `wellgate config validate` accepted it.
    assert actions.count("update.refused") == 1
    for step in ("update.verified", "update.unpacked", "update.config_valid",
                 "update.switched", "update.restart", "update.done"):
        assert step in actions, (step, actions)
