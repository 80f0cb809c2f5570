"""A small gateway in a temp dir, and a way to run `wellgate` as a user would."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

GATEWAY = """\
[gateway]
site = "Test pad"
language = "en"

[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"

[scan.fast]
interval = 1.0

[scan.slow]
interval = 10.0

[[device]]
name = "plc1"
protocol = "modbus-tcp"
host = "127.0.0.1"
port = 1502
unit = 1

[[well]]
id = "W1"
type = "rod_pump"

[service.acqd]
metrics_port = 0
"""



@dataclass
class Gateway:
    root: Path
    config: Path

    def run(self, *args: str, lang: str | None = None, check: bool = False,
            env: dict | None = None) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "daemons.cli.main", "--config", str(self.config)]
        if lang:
            cmd += ["--lang", lang]
        full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80", **(env or {})}
        proc = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60,
                              env=full_env, cwd=self.root)
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(text)
        return path


@pytest.fixture
def gateway(tmp_path) -> Gateway:
    cfg = tmp_path / "gateway.toml"
    cfg.write_text(GATEWAY)
    return Gateway(tmp_path, cfg)
