"""Fixtures for hostd: a real PostgreSQL database per test session, our own mosquitto,
hostd as a subprocess, and a Sparkplug edge node simulated with the shared codec.

PostgreSQL: 127.0.0.1:5432, trust auth, user postgres.  Each session creates a uniquely
named database and drops it afterwards; reader roles (cluster-wide) carry the same unique
suffix and are dropped too.  mosquitto: started on a free port per test that needs it, so
a test may stop it and no other engineer's topics reach ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from daemons.core.sparkplug import (
    BDSEQ,
    DataType,
    add_metric,
    encode_payload,
    new_payload,
)

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
TREE = Path(__file__).resolve().parents[2]
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def suffix() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def pg_dsn(suffix: str):
    """A fresh database for this test session; dropped with its reader roles after."""
    name = f"hostd_test_{suffix}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is needed: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    yield f"host=127.0.0.1 port=5432 user=postgres dbname={name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for (role,) in admin.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                                 (f"%{suffix}%",)).fetchall():
        admin.execute(f'DROP ROLE IF EXISTS "{role}"')
    admin.close()


class Mosquitto:
    """Our own broker on a free loopback port (MQTT 3.1.1 and 5, $share supported)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                             "persistence false\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None


@pytest.fixture
def broker(tmp_path: Path):
    b = Mosquitto(tmp_path)
    b.start()
    yield b
    b.stop()


def write_hostd_config(path: Path, *, port: int, dsn: str, host_id: str,
                       tenants: list[tuple[str, str, str]], client_id: str = "",
                       shared_group: str = "", extra: str = "") -> Path:
    lines = ["[hostd]", f'host_id = "{host_id}"', "rebirth_min_interval_s = 0.5",
             "metrics_port = 0",
             f'runtime_dir = "{path.parent / "run"}"', extra, "",
             "[mqtt]", f"port = {port}", "keepalive = 5"]
    if client_id:
        lines.append(f'client_id = "{client_id}"')
    if shared_group:
        lines.append(f'shared_group = "{shared_group}"')
    lines += ["", "[database]", f'dsn = "{dsn}"', "flush_ms = 50", ""]
    for group, schema, role in tenants:
        lines += ["[[tenant]]", f'group_id = "{group}"', f'schema = "{schema}"',
                  f'reader_role = "{role}"', ""]
    path.write_text("\n".join(lines))
    return path


class Hostd:
    """hostd as its users run it: `python -m daemons.hostd --config PATH`."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.log = config.with_suffix(".log")
        env = dict(os.environ, PYTHONPATH=str(TREE))
        env.pop("NOTIFY_SOCKET", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daemons.hostd", "--config", str(config),
             "--log-format", "json"], env=env, stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


@pytest.fixture
def start_hostd():
    started: list[Hostd] = []

    def start(config: Path) -> Hostd:
        h = Hostd(config)
        started.append(h)
        return h

    yield start
    for h in started:
        h.stop()


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


async def async_wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class EdgeSim:
    """A Sparkplug edge node built from the shared codec, driven step by step by a test.

    Node metrics: bdSeq, Node Control/Rebirth, and `tags` (Double, alias 1..n); one device
    `dev` with `dtags` (aliases 100..).  Every NCMD it receives is kept in `commands`.
    """

    def __init__(self, port: int, group: str, node: str, tags: tuple[str, ...] = ("T1", "T2"),
                 dtags: tuple[str, ...] = ("D1",), device: str = "dev") -> None:
        from gmqtt import Client, Message

        self.port, self.group, self.node, self.device = port, group, node, device
        self.tags, self.dtags = tags, dtags
        self.bdseq = 0
        self.seq = 0
        self.commands: list[tuple[str, bytes]] = []
        self.state: list[bytes] = []
        death = new_payload(int(time.time() * 1000))
        add_metric(death, DataType.Int64, self.bdseq, name=BDSEQ)
        self.client = Client(f"edge-{group}-{node}-{uuid.uuid4().hex[:6]}",
                             will_message=Message(f"spBv1.0/{group}/NDEATH/{node}",
                                                  encode_payload(death), qos=1))
        self.client.on_message = self._on_message

    def _on_message(self, client, topic, payload, qos, properties):
        if "/STATE/" in topic:
            self.state.append(payload)
        else:
            self.commands.append((topic, payload))
        return 0

    async def connect(self, host_id: str | None = None) -> None:
        await self.client.connect("127.0.0.1", self.port, keepalive=10)
        self.client.subscribe(f"spBv1.0/{self.group}/NCMD/{self.node}", qos=1)
        if host_id:
            self.client.subscribe(f"spBv1.0/STATE/{host_id}", qos=1)

    async def disconnect(self) -> None:
        await self.client.disconnect()

    def _topic(self, kind: str, device: str | None = None) -> str:
        base = f"spBv1.0/{self.group}/{kind}/{self.node}"
        return f"{base}/{device}" if device else base

    def _next(self, ts: int):
        p = new_payload(ts, self.seq)
        self.seq = (self.seq + 1) % 256
        return p

    def publish(self, kind: str, payload, device: str | None = None) -> None:
        data = payload if isinstance(payload, bytes) else encode_payload(payload)
        self.client.publish(self._topic(kind, device), data, qos=0)

    def nbirth(self, ts: int, values: dict[str, float] | None = None) -> None:
        self.seq = 0
        p = self._next(ts)
        add_metric(p, DataType.Int64, self.bdseq, name=BDSEQ, timestamp_ms=ts)
        add_metric(p, DataType.Boolean, False, name="Node Control/Rebirth", timestamp_ms=ts)
        for i, tag in enumerate(self.tags, start=1):
            add_metric(p, DataType.Double, (values or {}).get(tag, 0.0), name=tag, alias=i,
                       timestamp_ms=ts, properties={"engUnit": "psi"})
        self.publish("NBIRTH", p)

    def dbirth(self, ts: int) -> None:
        p = self._next(ts)
        for i, tag in enumerate(self.dtags, start=100):
            add_metric(p, DataType.Double, 0.0, name=tag, alias=i, timestamp_ms=ts)
        self.publish("DBIRTH", p, self.device)

    def ndata(self, ts: int, values: dict[int, float], *, historical: bool = False,
              seq: int | None = None) -> None:
        if seq is not None:
            self.seq = seq
        p = self._next(ts)
        for alias, v in values.items():
            add_metric(p, DataType.Double, v, alias=alias, timestamp_ms=ts,
                       is_historical=historical, with_datatype=False)
        self.publish("NDATA", p)

    def ddata(self, ts: int, values: dict[int, float]) -> None:
        p = self._next(ts)
        for alias, v in values.items():
            add_metric(p, DataType.Double, v, alias=alias, timestamp_ms=ts,
                       with_datatype=False)
        self.publish("DDATA", p, self.device)

    def rebirths(self) -> int:
        from daemons.core.sparkplug import REBIRTH, decode_payload

        n = 0
        for _topic, data in self.commands:
            p = decode_payload(data)
            n += any(m.name == REBIRTH and m.boolean_value for m in p.metrics)
        return n


@pytest.fixture
def edge_sim():
    return EdgeSim


@pytest.fixture
def helpers():
    class H:
        pass

    h = H()
    h.write_hostd_config = write_hostd_config
    h.wait_for = wait_for
    h.async_wait_for = async_wait_for
    h.free_port = free_port
    h.Mosquitto = Mosquitto
    return h
