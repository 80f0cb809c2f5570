"""forwardd against a real mosquitto, watched by the conformance checker.

One run (about 2.5 minutes, most of it the outage the issue asks for):
births → device loss and return (DDEATH/DBIRTH) → Rebirth command → the broker stopped
for 2 minutes during 1 Hz data → replay → kill -9 of forwardd and restart → clean stop.
Then: no rule violated, bdSeq continued across the kill, nothing retained, and every
sample of every tag reached the broker (exactly once per timestamp, as a host stores it,
with the same value when sent twice), in order per tag, outage samples flagged historical.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

import pytest
from gmqtt import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forwardd_site import GROUP, NODE, Broker, FakeSite, start_forwardd, stop, write_config
from sparkplug_checker import Recorder, check_edge_node, count

from daemons.core.cloudstatus import read_cloud_status
from daemons.core.sparkplug import REBIRTH, DataType, add_metric, encode_payload, new_payload

pytestmark = pytest.mark.timeout(280)
OUTAGE_S = 120


def publish(port: int, topic: str, payload: bytes, retain: bool = False) -> None:
    async def go() -> None:
        c = Client(f"test-{time.monotonic_ns()}")
        await c.connect("127.0.0.1", port, version=4)
        c.publish(topic, payload, qos=1, retain=retain)
        await asyncio.sleep(0.3)
        await c.disconnect()

    asyncio.run(go())


def publish_many(port: int, items: list[tuple[str, bytes]]) -> None:
    async def go() -> None:
        c = Client(f"test-{time.monotonic_ns()}")
        await c.connect("127.0.0.1", port, version=4)
        for topic, payload in items:
            c.publish(topic, payload, qos=1)
        await asyncio.sleep(1.0)
        await c.disconnect()

    asyncio.run(go())


def retained(port: int) -> list[str]:
    got: list[str] = []

    async def go() -> None:
        c = Client(f"late-{time.monotonic_ns()}")
        c.on_message = lambda _c, topic, _p, _q, props: got.append(topic) or 0
        await c.connect("127.0.0.1", port, version=4)
        c.subscribe("spBv1.0/#", qos=1)
        await asyncio.sleep(1.0)
        await c.disconnect()

    asyncio.run(go())
    return got


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_outage_kill_and_conformance(tmp_path):
    broker = Broker(tmp_path).start()
    site = FakeSite(tmp_path / "run").start()
    config = write_config(tmp_path, broker.port)
    log = tmp_path / "forwardd.log"
    recorders = [Recorder("127.0.0.1", broker.port).start()]
    proc = start_forwardd(config, log)
    try:
        rec = recorders[0]
        assert rec.wait_for(lambda m: count(m, "DDATA") >= 9, 20), log.read_text()[-2000:]

        # A device that stops answering dies, and is born again when it answers.
        site.comm = 0.0
        assert rec.wait_for(lambda m: count(m, "DDEATH") == 1, 10)
        site.comm = 1.0
        assert rec.wait_for(lambda m: count(m, "DBIRTH") == 4, 10)

        # Rebirth: every birth again, same bdSeq.
        cmd = new_payload(int(time.time() * 1000))
        add_metric(cmd, DataType.Boolean, True, name=REBIRTH)
        publish(broker.port, f"spBv1.0/{GROUP}/NCMD/{NODE}", encode_payload(cmd))
        assert rec.wait_for(lambda m: count(m, "NBIRTH") == 2, 10)

        # The broker goes away for two minutes; samples keep coming at 1 Hz.
        time.sleep(2)
        before = rec.snapshot()
        broker.stop()
        time.sleep(OUTAGE_S)
        status = read_cloud_status(tmp_path / "run")
        assert status is not None and not status["connected"]
        assert status["outbox"]["depth"] >= 4 * (OUTAGE_S - 5), status
        broker.start()
        rec.stop()
        rec = Recorder("127.0.0.1", broker.port).start()
        recorders.append(rec)
        assert rec.wait_for(lambda m: count(m, "NBIRTH") >= 1, 30), log.read_text()[-3000:]

        def drained() -> bool:
            s = read_cloud_status(tmp_path / "run")
            return s is not None and s["connected"] and s["outbox"]["depth"] == 0
        wait(drained, 30, "the backlog to drain")

        # kill -9: the broker sends the Will; the next start uses the next bdSeq.
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert rec.wait_for(lambda m: count(m, "NDEATH") >= 1, 10)
        time.sleep(2)
        proc = start_forwardd(config, log)
        assert rec.wait_for(lambda m: count(m, "NBIRTH") >= 2, 20)
        time.sleep(6)
        assert stop(proc) == 0, log.read_text()[-3000:]
        assert rec.wait_for(lambda m: count(m, "NDEATH") >= 2, 5)
        end_ms = (int(time.time()) - 3) * 1000
        msgs = before + recorders[1].snapshot()
    except BaseException:
        broker.stop()  # on failure; on success it serves the retained-message check
        raise
    finally:
        for r in recorders:
            r.stop()
        if proc.poll() is None:
            stop(proc, signal.SIGKILL)
        site.stop()

    try:
        assert retained(broker.port) == []
    finally:
        broker.stop()
    check(msgs, site, end_ms, log)


def check(msgs, site, end_ms, log) -> None:
    """The recorded stream against the rules and against what the site wrote."""
    report = check_edge_node(msgs, GROUP, NODE)
    assert report.violations == [], "\n".join(report.violations[:20])
    # bdSeq: a new session per connect (start, reconnect after the outage, restart after
    # kill -9), one more each time, persisted across the kill.
    sessions = sorted(set(report.bdseqs), key=report.bdseqs.index)
    assert sessions == list(range(sessions[0], sessions[0] + len(sessions)))
    assert len(sessions) >= 3

    first_birth = min(s.ts_ms for s in report.samples[("pump1", "P1.PRESS")]
                      if s.kind == "DBIRTH")
    outage_samples = 0
    for device, tag in (("pump1", "P1.PRESS"), ("pump1", "P1.TEMP"), ("calc", "W1.RATE"),
                        ("alarms", "P1.PRESS.ALARM.HI")):
        samples = report.samples[(device, tag)]
        got = report.unique((device, tag))
        for s in samples:  # a sample sent twice carries the same value
            assert got[s.ts_ms] == s.value, (tag, s)
        expected = {ts: v for ts, v in site.written[tag].items() if first_birth <= ts <= end_ms}
        missing = sorted(set(expected) - set(got))
        assert not missing, f"{tag}: {len(missing)} samples lost, first {missing[:5]}"
        assert all(got[ts] == v for ts, v in expected.items()), tag
        hist = [s.ts_ms for s in samples if s.historical]
        live = [s.ts_ms for s in samples if not s.historical and s.kind.endswith("DATA")]
        assert hist == sorted(hist) or _runs_sorted(hist), f"{tag}: replay out of order"
        assert live == sorted(live), f"{tag}: live data out of order"
        outage_samples += len(set(hist))
    # the two minutes of the outage came back as historical data
    assert outage_samples >= 4 * (OUTAGE_S - 5)
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    unavailable = [e for e in events if e.get("event") == "mqtt unavailable"]
    assert len(unavailable) == 1, "the outage is logged once, not per attempt"


def _runs_sorted(ts: list[int]) -> bool:
    """Replays after different outages are each in order (a later replay may resend the
    window before a dead link was noticed, which starts again from older samples)."""
    runs, current = [], [ts[0]] if ts else []
    for t in ts[1:]:
        if t < current[-1]:
            runs.append(current)
            current = [t]
        else:
            current.append(t)
    runs.append(current)
    return len(runs) <= 3
