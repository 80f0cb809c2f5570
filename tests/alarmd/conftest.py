"""alarmd tests' shared harness: daemons as real processes over a simulated site."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from daemons.core.ring import RingDirectory, RingError
from daemons.sim.background import SiteThread


@pytest.fixture
def make_site():
    return Site


@pytest.fixture
def net():
    """A free local TCP port, and a local HTTP receiver of JSON POSTs."""
    return SimpleNamespace(free_port=free_port, Receiver=Receiver)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    def __init__(self, port):
        self.bodies = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers["Content-Length"])
                outer.bodies.append(json.loads(self.rfile.read(n)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Site:
    def __init__(self, root: Path, sim: SiteThread) -> None:
        self.root, self.sim = root, sim
        self.config = root / "gateway.toml"
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", f"daemons.{name}", "--config", str(self.config),
             "--log-format", "json"], stdout=log, stderr=subprocess.STDOUT, env=env)

    def log(self, name: str = "alarmd") -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "daemons.cli.main", "--config",
                               str(self.config), "--lang", "en", "alarms", *args],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "NO_COLOR": "1"})

    def state(self, slot: str) -> float | None:
        try:
            with RingDirectory(self.root / "run") as rings:
                return rings.snapshot().get(slot)[0]
        except (RingError, KeyError):
            return None

    def wait(self, slot: str, value: float, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                assert p.poll() is None, f"{name} exited:\n{self.log(name)}"
            if self.state(slot) == value:
                return True
            time.sleep(0.1)
        return False
