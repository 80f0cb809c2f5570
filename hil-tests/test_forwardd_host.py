"""forwardd with a primary host: STATE before births, offline → NDEATH and buffering,
online → births and historical replay, stale STATE ignored; DCMD writes reach acqd's
command socket with the Sparkplug identity; fuzzed NCMD/DCMD are rejected, logged, and
forwardd keeps running.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forwardd_site import (
    GROUP,
    NODE,
    TREE,
    Broker,
    FakeSite,
    start_forwardd,
    stop,
    write_config,
)
from sparkplug_checker import Recorder, check_edge_node, count
from test_forwardd_outage import publish, publish_many

from daemons.core.access.audit import AuditReader
from daemons.core.commands import pack, unpack_body
from daemons.core.sparkplug import (
    DataType,
    add_metric,
    compress,
    decode_payload,
    encode_payload,
    new_payload,
    state_json,
)

pytestmark = pytest.mark.timeout(120)
STATE = "spBv1.0/STATE/scada"


class FakeAcqd:
    """acqd's command socket: records each request and confirms it."""

    def __init__(self, path: Path) -> None:
        self.requests: list[dict] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(5)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                size = int.from_bytes(conn.recv(4), "big")
                body = b""
                while len(body) < size:
                    body += conn.recv(size - len(body))
                self.requests.append(unpack_body(body))
                conn.sendall(pack({"ok": True, "id": len(self.requests), "state": "confirmed"}))

    def close(self) -> None:
        self.sock.close()


def audit_entries(state: Path) -> list:
    reader = AuditReader(state)
    try:
        return list(reader.entries())
    finally:
        reader.close()


def test_primary_host_state_commands_and_fuzz(tmp_path):
    broker = Broker(tmp_path).start()
    site = FakeSite(tmp_path / "run").start()
    acqd = FakeAcqd(tmp_path / "run" / "acqd.sock")
    config = write_config(tmp_path, broker.port, primary_host_id="scada",
                          command_tags=["P1.SPEED*"], compression="DEFLATE")
    log = tmp_path / "forwardd.log"
    rec = Recorder("127.0.0.1", broker.port).start()
    proc = start_forwardd(config, log)
    try:
        time.sleep(3)
        assert count(rec.snapshot(), "NBIRTH") == 0, "births before the host is online"
        t0 = int(time.time() * 1000)
        publish(broker.port, STATE, state_json(True, t0), retain=True)
        assert rec.wait_for(lambda m: count(m, "DDATA") >= 6, 15), log.read_text()[-2000:]

        # A stale offline STATE (older timestamp) is ignored.
        publish(broker.port, STATE, state_json(False, t0 - 1000))
        time.sleep(1.5)
        assert count(rec.snapshot(), "NDEATH") == 0

        # DCMD: an allowed rw tag is written as sparkplug:scada; others are refused.
        cmd = new_payload(int(time.time() * 1000))
        add_metric(cmd, DataType.Double, 7.5, name="P1.SPEED_SET")
        add_metric(cmd, DataType.Double, 1.0, name="P1.PRESS")
        publish(broker.port, f"spBv1.0/{GROUP}/DCMD/{NODE}/pump1", encode_payload(cmd))
        deadline = time.monotonic() + 10
        while not acqd.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [(r["tag"], r["value"], r["user"], r["source"]) for r in acqd.requests] == [
            ("P1.SPEED_SET", 7.5, "sparkplug:scada", "forwardd")]
        # P1.PRESS is not access=rw: refused here, never sent to acqd, and audited
        denied = [(e.actor, e.source, e.object, e.details_dict()["error"])
                  for e in audit_entries(tmp_path / "state") if e.action == "tag.write.denied"]
        assert denied == [("sparkplug:scada", "sparkplug", "P1.PRESS",
                           "not access=rw in the tag maps")]

        # Fuzz: random and truncated payloads on NCMD/DCMD topics, one connection.
        rng = random.Random(14)
        good = encode_payload(cmd)
        fuzz = []
        for i in range(200):
            blob = rng.randbytes(rng.randint(0, 80)) if i % 2 else \
                good[:rng.randint(0, len(good))]
            device = rng.choice(["/pump1", "/calc", "/nope"])
            topic = f"spBv1.0/{GROUP}/NCMD/{NODE}" if i % 3 else \
                f"spBv1.0/{GROUP}/DCMD/{NODE}{device}"
            fuzz.append((topic, blob))
        publish_many(broker.port, fuzz)
        time.sleep(1.5)
        assert proc.poll() is None
        assert len(acqd.requests) <= 1 + sum(1 for _, b in fuzz if b == good)
        n_data = count(rec.snapshot(), "DDATA")
        assert rec.wait_for(lambda m: count(m, "DDATA") > n_data + 3, 5), "still publishing"

        # wellgate cloud status reads what forwardd reports.
        env = {**os.environ, "PYTHONPATH": str(TREE), "NO_COLOR": "1"}
        out = subprocess.run([sys.executable, "-m", "daemons.cli.main", "--config",
                              str(config), "--lang", "en", "cloud", "status"],
                             capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "online" in out.stdout and "scada" in out.stdout and "bdSeq" in out.stdout
        out = subprocess.run([sys.executable, "-m", "daemons.cli.main", "--config",
                              str(config), "cloud", "status", "--json"],
                             capture_output=True, text=True, env=env, timeout=60)
        doc = json.loads(out.stdout)
        assert doc["state"] == "online" and doc["primary_host"]["online"] is True
        assert doc["bdseq"] == 0 and doc["outbox"]["depth"] >= 0

        # The host goes offline: NDEATH, disconnect, buffer; back online: births + replay.
        publish(broker.port, STATE, state_json(False, t0 + 1), retain=True)
        assert rec.wait_for(lambda m: count(m, "NDEATH") == 1, 10)
        offline_at = int(time.time() * 1000)
        time.sleep(6)
        n_birth = count(rec.snapshot(), "NBIRTH")
        assert n_birth == 1, "no births while the host is offline"
        publish(broker.port, STATE, state_json(True, int(time.time() * 1000)), retain=True)
        assert rec.wait_for(lambda m: count(m, "NBIRTH") == 2, 15)
        time.sleep(4)
        assert stop(proc) == 0, log.read_text()[-3000:]
        msgs = rec.snapshot()
    finally:
        rec.stop()
        if proc.poll() is None:
            stop(proc)
        site.stop()
        acqd.close()
        broker.stop()

    report = check_edge_node(msgs, GROUP, NODE)
    assert report.violations == [], "\n".join(report.violations[:20])
    assert report.bdseqs[1] == (report.bdseqs[0] + 1) % 256
    hist = {s.ts_ms for s in report.samples[("pump1", "P1.PRESS")] if s.historical}
    buffered = [ts for ts in site.written["P1.PRESS"] if offline_at + 1000 <= ts
                <= offline_at + 5000]
    assert buffered and set(buffered) <= hist, "samples of the offline time replayed"
    # every payload went out compressed (the DEFLATE convention) unless compressing it
    # would have made it bigger
    ddata = [m for m in msgs if "/DDATA/" in m.topic]
    packed = [m for m in ddata if b"SPBV1.0_COMPRESSED" in m.payload]
    assert packed, "DEFLATE configured: the bigger payloads go compressed"
    for m in ddata:
        if m not in packed:
            p = decode_payload(m.payload)
            assert len(compress(m.payload, "DEFLATE", seq=p.seq,
                                timestamp_ms=p.timestamp)) >= len(m.payload)
    events = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    refused = [e for e in events if e.get("event") == "Sparkplug write refused"]
    # (the fuzz may repeat the whole command: then P1.PRESS is refused again)
    assert {(e["tag"], e["user"]) for e in refused} == {("P1.PRESS", "sparkplug:scada")}
    assert any(e.get("event") == "Sparkplug command rejected" for e in events)  # the fuzz
    assert any(e.get("event") == "stale STATE ignored" for e in events)
