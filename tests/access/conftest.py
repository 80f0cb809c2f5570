"""Shared by the access tests: a small gateway with two fields, cheap argon2 parameters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemons.core.access.passwords import HashParams, Passwords
from daemons.core.config import GatewayConfig, load_config

GATEWAY = """\
[gateway]
site = "Access test pad"
language = "en"

[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"

[[well]]
id = "W101"
field = "Lagunillas"
type = "rod_pump"

[[well]]
id = "W102"
field = "Lagunillas"
type = "esp"

[[well]]
id = "B201"
field = "Bachaquero"
type = "flowing"

[access]
password_min_length = 10
lockout_failures = 3
lockout_minutes = 15
{extra}
"""
# Tests hash many passwords: 1 pass over 1 MiB instead of 3 over 64 MiB.  The parameter
# upgrade test uses the real ones.
FAST = HashParams(time_cost=1, memory_kib=1024, parallelism=1)


def write_gateway(root: Path, extra: str = "") -> Path:
    path = root / "gateway.toml"
    path.write_text(GATEWAY.format(extra=extra))
    return path


@pytest.fixture
def gateway(tmp_path: Path) -> GatewayConfig:
    return load_config(write_gateway(tmp_path))


@pytest.fixture
def fast_hasher() -> Passwords:
    return Passwords(FAST)


class Wellgate:
    """`wellgate --config <this gateway> --lang LANG ARGS` as a subprocess."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.state = config.parent / "state"

    def __call__(self, *args: str, stdin: str | None = None, lang: str = "en"
                 ) -> subprocess.CompletedProcess:
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80"}
        return subprocess.run([sys.executable, "-m", "daemons.cli.main", "--config",
                               str(self.config), "--lang", lang, *args], input=stdin,
                              capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture
def wg(tmp_path: Path) -> Wellgate:
    return Wellgate(write_gateway(tmp_path))
