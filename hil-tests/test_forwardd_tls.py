"""forwardd to a broker that wants TLS, a client certificate and a password (mosquitto).

One private mosquitto with a TLS listener on a free port (the approach of hostd's
tests/hostd/test_tls.py: self-signed server and client certificates, a password file,
`require_certificate`).  forwardd with the right CA, client certificate and password gets
its births through (checked by the conformance checker, subscribed over TLS too); with a
wrong password it logs the refusal once, keeps retrying and keeps running, and the
refused CONNECTs use no bdSeq (the next good session is bdSeq 1, right after the first
session's 0); with a CA that did not sign the broker's certificate it is refused at the
TLS handshake and never connects.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gmqtt import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forwardd_site import GROUP, NODE, Broker, FakeSite, start_forwardd, stop, write_config
from sparkplug_checker import Msg, check_edge_node, count

from daemons.core.cloudstatus import read_cloud_status

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(shutil.which("openssl") is None or
                       shutil.which("mosquitto_passwd") is None,
                       reason="openssl and mosquitto_passwd are needed"),
]


def self_signed(root: Path, name: str) -> tuple[Path, Path]:
    cert, key = root / f"{name}.pem", root / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class TlsRecorder:
    """The checker's recorder, over TLS with a client certificate and a password."""

    def __init__(self, port: int, ssl_ctx: ssl.SSLContext) -> None:
        self.port, self.ctx = port, ssl_ctx
        self.messages: list[Msg] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._client: Client | None = None

    def start(self) -> TlsRecorder:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._connect(), self._loop).result(15)
        return self

    async def _connect(self) -> None:
        client = Client(f"tls-checker-{time.monotonic_ns()}", clean_session=True)

        def on_message(_c, topic, payload, qos, props) -> int:
            retain = bool(props.get("retain")) if isinstance(props, dict) else False
            with self._lock:
                self.messages.append(Msg(time.monotonic(), topic, payload, qos, retain))
            return 0

        client.on_message = on_message
        client.set_auth_credentials("checker", "checker-pw")
        await client.connect("127.0.0.1", self.port, ssl=self.ctx, keepalive=10, version=4)
        client.subscribe("spBv1.0/#", qos=1)
        await asyncio.sleep(0.3)
        self._client = client

    def snapshot(self) -> list[Msg]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.snapshot()):
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        async def _stop() -> None:
            if self._client is not None:
                await self._client.disconnect()

        try:
            asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(5)
        except Exception:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def log_count(log: Path, text: str) -> int:
    return log.read_text(errors="replace").count(text) if log.exists() else 0


def test_tls_client_certificate_password_wrong_password_and_wrong_ca(tmp_path):
    server_cert, server_key = self_signed(tmp_path, "127.0.0.1")
    client_cert, client_key = self_signed(tmp_path, "forwardd")
    other_ca, _ = self_signed(tmp_path, "someone-else")
    trusted = tmp_path / "trusted.pem"  # the broker trusts our self-signed client cert
    trusted.write_text(server_cert.read_text() + client_cert.read_text())
    passwords = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "edge1", "s3cret"],
                   check=True, capture_output=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "checker", "checker-pw"],
                   check=True, capture_output=True)
    broker = Broker(tmp_path)
    broker.conf.write_text(
        f"listener {broker.port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {passwords}\ncafile {trusted}\ncertfile {server_cert}\n"
        f"keyfile {server_key}\nrequire_certificate true\npersistence false\n"
        # as root mosquitto drops to its own user, which cannot read pytest's tmp dir
        + ("user root\n" if os.geteuid() == 0 else ""))
    broker.start()
    site = FakeSite(tmp_path / "run").start()
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    tls = dict(servers=[f"mqtts://127.0.0.1:{broker.port}"], ca_file=str(server_cert),
               cert_file=str(client_cert), key_file=str(client_key), username="edge1",
               password_file=str(password))
    config = write_config(tmp_path, broker.port, **tls)
    ctx = ssl.create_default_context(cafile=str(server_cert))
    ctx.load_cert_chain(str(client_cert), str(client_key))
    rec = TlsRecorder(broker.port, ctx).start()
    log = tmp_path / "forwardd.log"
    procs = []
    try:
        # 1. right CA, client certificate and password: births and data go through
        procs.append(start_forwardd(config, log))
        assert rec.wait_for(lambda m: count(m, "DBIRTH") >= 1 and count(m, "DDATA") >= 2,
                            20), log.read_text()[-2000:]
        assert stop(procs[-1]) == 0
        assert rec.wait_for(lambda m: count(m, "NDEATH") == 1, 5)

        # 2. a wrong password: refused, logged once, retried, forwardd keeps running
        password.write_text("wrong\n")
        mark = log_count(log, '"mqtt unavailable"')
        procs.append(start_forwardd(config, log))
        deadline = time.monotonic() + 15
        while log_count(log, '"mqtt unavailable"') == mark and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(4)  # the retries (1 s, 2 s backoff) are not logged again
        assert procs[-1].poll() is None, log.read_text()[-2000:]
        assert log_count(log, '"mqtt unavailable"') == mark + 1, log.read_text()[-2000:]
        # mosquitto answers a wrong password with CONNACK 5 (not authorised)
        assert "connection refused: not authorised" in log.read_text().lower()
        assert count(rec.snapshot(), "NBIRTH") == 1
        # the password is fixed while it runs: the next attempt connects, and the
        # refused attempts spent no bdSeq
        password.write_text("s3cret\n")
        assert rec.wait_for(lambda m: count(m, "NBIRTH") == 2, 20), log.read_text()[-2000:]
        assert log_count(log, '"mqtt recovered"') >= 1
        assert stop(procs[-1]) == 0
        assert rec.wait_for(lambda m: count(m, "NDEATH") == 2, 5)

        # 3. a CA that did not sign the broker's certificate: refused at the handshake
        wrong_ca = write_config(tmp_path, broker.port, **{**tls, "ca_file": str(other_ca)})
        mark = log_count(log, '"mqtt unavailable"')
        procs.append(start_forwardd(wrong_ca, log))
        deadline = time.monotonic() + 15
        while log_count(log, '"mqtt unavailable"') == mark and time.monotonic() < deadline:
            time.sleep(0.2)
        assert log_count(log, '"mqtt unavailable"') == mark + 1
        assert "certificate verify failed" in log.read_text().lower()
        time.sleep(1.5)
        assert procs[-1].poll() is None
        status = read_cloud_status(tmp_path / "run")
        assert status is not None and not status["connected"]
        assert count(rec.snapshot(), "NBIRTH") == 2
        assert stop(procs[-1]) == 0
        msgs = rec.snapshot()
    finally:
        rec.stop()
        for p in procs:
            if p.poll() is None:
                stop(p)
        site.stop()
        broker.stop()
    report = check_edge_node(msgs, GROUP, NODE)
    assert report.violations == [], "\n".join(report.violations[:10])
    assert report.bdseqs == [0, 1]  # the refused CONNECTs used none
