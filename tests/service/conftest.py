"""Fixtures: a fake systemd notification socket and the example daemon as a real child."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = Path(__file__).with_name("example_daemon.py")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, step: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


class NotifySocket:
    """What systemd does: a bound Unix datagram socket that collects sd_notify messages."""

    def __init__(self, address: str) -> None:
        self.address = address  # as put in NOTIFY_SOCKET ("/path" or "@name")
        bind_to = "\0" + address[1:] if address.startswith("@") else address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(bind_to)
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []  # (monotonic time, datagram)
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.messages.append((time.monotonic(), data.decode()))

    def all(self) -> list[str]:
        with self._lock:
            return [m for _, m in self.messages]

    def count(self, line: str) -> int:
        return sum(1 for m in self.all() if line in m.split("\n"))

    def wait_for(self, line: str, n: int = 1, timeout: float = 10.0) -> None:
        wait_until(lambda: self.count(line) >= n, timeout)

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=1)
        self.sock.close()


class Daemon:
    """The example daemon running in a child process, with its JSON log collected."""

    def __init__(self, tmp: Path, notify: NotifySocket | None, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.config = tmp / "gateway.toml"
        self.runtime = tmp / "run"
        self.notify = notify
        self.env = env
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def write_config(self, *, metrics_port: int = 0, greeting: str = "hola",
                     extra: str = "", raw: str | None = None) -> None:
        text = raw if raw is not None else (
            f'[paths]\nruntime_dir = "{self.runtime}"\n'
            f'[service]\nmetrics_port = {metrics_port}\nlog_level = "info"\n'
            f'[example]\ninterval_s = 0.02\ngreeting = "{greeting}"\n{extra}\n')
        self.config.write_text(text, encoding="utf-8")

    def start(self) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": str(REPO), **self.env}
        env.pop("NOTIFY_SOCKET", None)
        if self.notify is not None:
            env["NOTIFY_SOCKET"] = self.notify.address
        self.proc = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--config", str(self.config)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=self.tmp)
        threading.Thread(target=self._read, daemon=True).start()
        return self.proc

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            lines = list(self.lines)
        return [json.loads(line) for line in lines if line.strip()]

    def find(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("event") == event
                and all(r.get(k) == v for k, v in fields.items())]

    def wait_log(self, event: str, timeout: float = 10.0, n: int = 1,
                 **fields: Any) -> dict[str, Any]:
        return wait_until(lambda: len(self.find(event, **fields)) >= n and
                          self.find(event, **fields)[n - 1], timeout)

    def send(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=5)


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    # An abstract address keeps clear of the 108-byte limit on socket paths.
    ns = NotifySocket(f"@wellgate-test-{uuid.uuid4().hex}")
    yield ns
    ns.close()


@pytest.fixture
def make_daemon(tmp_path: Path, notify: NotifySocket) -> Iterator[Callable[..., Daemon]]:
    made: list[Daemon] = []

    def make(env: dict[str, str] | None = None, with_notify: bool = True) -> Daemon:
        d = Daemon(tmp_path, notify if with_notify else None, env or {})
        made.append(d)
        return d

    yield make
    for d in made:
        d.kill()


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., Any]:
    return wait_until


@pytest.fixture(name="free_port")
def free_port_fixture() -> Callable[[], int]:
    return free_port
