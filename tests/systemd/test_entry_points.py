"""Each unit starts a console script that the package really installs.

A unit whose ExecStart names /usr/bin/<daemon> only works if pyproject.toml declares that
script; a daemon package without it would build an image whose service cannot start.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAEMONS = ("acqd", "calcd", "alarmd", "forwardd", "opcuad", "webd", "hostd")


@pytest.mark.parametrize("daemon", [d for d in DAEMONS if (REPO / "daemons" / d).is_dir()])
def test_unit_execstart_is_an_installed_console_script(daemon):
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts.get(daemon) == f"daemons.{daemon}.main:entry"
    unit = (REPO / "systemd" / f"wellgate-{daemon}.service").read_text()
    # hostd runs in the cloud with its own configuration file, not a gateway's.
    config = "hostd.toml" if daemon == "hostd" else "gateway.toml"
    assert f"ExecStart=/usr/bin/{daemon} --config /etc/wellgate/{config}" in unit
    main = (REPO / "daemons" / daemon / "main.py").read_text()
    assert "def run(config" in main and "def entry()" in main
