"""apply / rollback / status in a scratch root with a fake service manager (issue 15).

The stand-in images run this tree's real CLI for the configuration steps; the fake
manager decides which daemons reach READY per version (conftest.FakeManager).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daemons.core.update import UpdateError

TREE = Path(__file__).resolve().parents[2]


def snapshot(site):
    """What an update may change: versions, the link, the configuration."""
    lay = site.layout
    return lay.installed(), lay.current(), lay.config.read_bytes()


def test_apply_switches_restarts_and_waits_for_healthy_daemons(site):
    site.install_first("1.0.0")
    manager = site.manager()
    outcome = site.updater(manager).apply(site.bundle("2.0.0"))
    assert outcome.ok, outcome.en
    assert site.layout.current() == "2.0.0"
    assert site.layout.installed() == ["1.0.0", "2.0.0"]
    assert manager.restarts == [("wellgate.target", "2.0.0")]
    assert site.actions() == ["update.verified", "update.unpacked", "update.config_valid",
                              "update.switched", "update.restart", "update.health",
                              "update.done"]
    status = site.updater(None).status()
    assert status["current"] == "2.0.0" and status["previous"] == "1.0.0"
    assert status["last"]["result"] == "ok"


@pytest.mark.parametrize("how, problem", [
    ("fails", "wellgate-acqd.service failed"),
    ("never-ready", "timed out after 1 s (not READY: wellgate-calcd.service activating)"),
    ("flaps", "wellgate-webd.service restarted after READY"),
])
def test_unhealthy_daemons_roll_back_automatically(site, how, problem):
    site.install_first("1.0.0")
    config_before = site.layout.config.read_bytes()
    manager = site.manager({"2.0.0": how})
    outcome = site.updater(manager, timeout_s=1.0).apply(site.bundle("2.0.0"))
    assert not outcome.ok
    assert problem in outcome.en and "rolled back to 1.0.0" in outcome.en
    assert site.layout.current() == "1.0.0"
    assert site.layout.installed() == ["1.0.0"]  # the bad version is removed
    assert site.layout.config.read_bytes() == config_before
    # Restarted on the new version, then on the old one again.
    assert manager.restarts == [("wellgate.target", "2.0.0"), ("wellgate.target", "1.0.0")]
    assert site.actions()[-4:] == ["update.rollback", "update.restart", "update.health",
                                   "update.rolled_back"]
    rollback = dict((a, d) for a, _, d in site.audit)["update.rollback"]
    assert rollback["automatic"] is True and problem in rollback["reason"]
    last = site.updater(None).status()["last"]
    assert last["op"] == "rollback" and last["version"] == "1.0.0" and problem in last["problem"]


@pytest.mark.parametrize("make, message", [
    (lambda s: s.bundle("2.0.0", key=s.other_key), "signature does not match"),
    (lambda s: s.bundle("2.0.0", arch="arm64"), "built for arm64"),
    (lambda s: s.bundle("1.0.0"), "version 1.0.0 is already installed and running"),
])
def test_refused_bundles_change_nothing(site, make, message):
    site.install_first("1.0.0")
    before = snapshot(site)
    manager = site.manager()
    with pytest.raises(UpdateError, match=message):
        site.updater(manager).apply(make(site))
    assert snapshot(site) == before
    assert manager.restarts == []
    assert site.actions()[-1] == "update.refused"


def test_truncated_bundle_changes_nothing(site):
    site.install_first("1.0.0")
    path = site.bundle("2.0.0", extra={"_internal/big.bin": bytes(range(256)) * 4000})
    path.write_bytes(path.read_bytes()[:-20_000])
    before = snapshot(site)
    with pytest.raises(UpdateError, match="refused"):
        site.updater(site.manager()).apply(path)
    assert snapshot(site) == before
    assert not any(p.name.startswith(".") for p in site.layout.install_dir.iterdir()
                   if p.name != ".current.new")


def test_a_version_that_rejects_the_configuration_is_not_switched_to(site):
    site.install_first("1.0.0")
    before = snapshot(site)
    manager = site.manager()
    with pytest.raises(UpdateError, match=r"version 2.0.0 rejects the configuration.*"
                                          r"unknown key 'site'"):
        site.updater(manager).apply(site.bundle("2.0.0", rejects_config=True))
    assert snapshot(site) == before
    assert manager.restarts == []
    refused = site.audit[-1]
    assert refused[0] == "update.refused" and refused[2]["step"] == "config"


def test_the_new_version_migrates_the_configuration_and_rollback_restores_it(site,
                                                                            monkeypatch):
    """A migration of the new version is applied at the switch; rolling back puts the
    file the old version ran with back."""
    from daemons.core.update import migrate

    site.install_first("1.0.0")
    original = site.layout.config.read_text()
    # The stand-in image runs this tree's CLI in a child process: give it a migration
    # through a site-customisation file on its path.
    hook = site.work / "sitecustomize.py"
    hook.write_text("from daemons.core.update import migrate\n"
                    "migrate.MIGRATIONS = (lambda t: t if 'migrated' in t else "
                    "t + '# migrated by 2.0.0\\n',)\n")
    monkeypatch.setenv("PYTHONPATH", f"{site.work}{os.pathsep}{TREE}")
    assert migrate.MIGRATIONS == ()  # this process: no migration
    manager = site.manager()
    outcome = site.updater(manager).apply(site.bundle("2.0.0"))
    assert outcome.ok, outcome.en
    assert site.layout.config.read_text() == original + "# migrated by 2.0.0\n"
    assert "update.config_migrated" in site.actions()

    outcome = site.updater(manager).rollback()
    assert outcome.ok and site.layout.current() == "1.0.0"
    assert site.layout.config.read_text() == original
    # ... and forward again: the migrated file comes back with 2.0.0.
    assert site.updater(manager).rollback().ok
    assert site.layout.current() == "2.0.0"
    assert site.layout.config.read_text() == original + "# migrated by 2.0.0\n"


def test_manual_rollback_and_nothing_to_roll_back_to(site):
    site.install_first("1.0.0")
    manager = site.manager()
    with pytest.raises(UpdateError, match="no previous version"):
        site.updater(manager).rollback()
    assert site.updater(manager).apply(site.bundle("2.0.0")).ok
    outcome = site.updater(manager).rollback()
    assert outcome.ok and site.layout.current() == "1.0.0"
    assert manager.restarts[-1] == ("wellgate.target", "1.0.0")
    assert site.updater(None).status()["previous"] == "2.0.0"


def test_older_versions_are_pruned_keeping_current_and_previous(site):
    site.install_first("1.0.0")
    manager = site.manager()
    for version in ("2.0.0", "3.0.0", "4.0.0"):
        assert site.updater(manager).apply(site.bundle(version)).ok
    assert site.layout.installed() == ["3.0.0", "4.0.0"]


def test_versions_dpkg_installed_are_left_to_dpkg(site):
    site.install_first("1.0.0")
    info = site.root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (info / "wellgate.list").write_text("/opt/wellgate\n/opt/wellgate/1.0.0\n"
                                        "/opt/wellgate/1.0.0/wellgate\n")
    manager = site.manager()
    for version in ("2.0.0", "3.0.0"):
        assert site.updater(manager).apply(site.bundle(version)).ok
    assert site.layout.installed() == ["1.0.0", "2.0.0", "3.0.0"]


def test_one_operation_at_a_time(site):
    site.install_first("1.0.0")
    with site.layout.locked(), pytest.raises(UpdateError, match="another update"):
        site.updater(site.manager()).apply(site.bundle("2.0.0"))
