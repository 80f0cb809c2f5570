"""forwardd with `[mqtt] batch_seconds` (the satellite-link setting) against a real
mosquitto, watched by the conformance checker (about a minute).

Held live data goes as one DDATA per device and batch, every metric in time order; alarm
states are never held; a kill -9 while samples (and cards) are held, a broker outage and a
clean stop lose nothing: every sample of every tag and every card reaches the broker, once
per timestamp.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forwardd_site import (
    CARD_TAG,
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

from daemons.core.cloudstatus import read_cloud_status
from daemons.core.sparkplug import decode_payload

pytestmark = pytest.mark.timeout(180)
BATCH_S = 6


def data_of(msgs, device):
    return [m for m in msgs if m.topic == f"spBv1.0/{GROUP}/DDATA/{NODE}/{device}"]


def live_ts(msg) -> list[int]:
    return [m.timestamp for m in decode_payload(msg.payload).metrics if not m.is_historical]


def test_batched_live_data_arrives_whole_and_alarms_are_not_held(tmp_path):
    broker = Broker(tmp_path).start()
    site = FakeSite(tmp_path / "run", card=True).start()
    config = write_config(tmp_path, broker.port, batch_seconds=BATCH_S,
                          compression="DEFLATE")
    log = tmp_path / "forwardd.log"
    wall = time.time() - time.monotonic()  # Recorder times are monotonic
    recorders = [Recorder("127.0.0.1", broker.port).start()]
    proc = start_forwardd(config, log)
    try:
        rec = recorders[0]
        assert rec.wait_for(lambda m: len(data_of(m, "pump1")) >= 2, 30), \
            log.read_text()[-2000:]
        time.sleep(BATCH_S)
        msgs = rec.snapshot()
        # Field data: one message per batch, holding several seconds of samples, each
        # sent up to BATCH_S (plus a tick) after it was taken.
        pump = data_of(msgs, "pump1")[1:]
        assert pump and all(len(set(live_ts(m))) >= BATCH_S - 1 for m in pump), \
            [sorted(set(live_ts(m))) for m in pump]
        late = max((m.at + wall) * 1000 - min(live_ts(m)) for m in pump)
        assert BATCH_S * 1000 - 1500 <= late <= BATCH_S * 1000 + 2500, late
        # Alarm states go at once, one sample each.
        alarms = data_of(msgs, "alarms")
        assert len(alarms) >= 2 * BATCH_S - 2
        for m in alarms:
            assert len(live_ts(m)) == 1
            assert (m.at + wall) * 1000 - live_ts(m)[0] < 2500
        status = read_cloud_status(tmp_path / "run")
        assert status is not None and status["uplink"]["batch_seconds"] == BATCH_S
        env = {**os.environ, "PYTHONPATH": str(TREE), "NO_COLOR": "1"}
        out = subprocess.run([sys.executable, "-m", "daemons.cli.main", "--config",
                              str(config), "--lang", "en", "cloud", "status"],
                             capture_output=True, text=True, env=env, timeout=60)
        assert re.search(rf"live data batched\s+{BATCH_S} s, \d+ samples held now",
                         out.stdout), out.stdout

        # kill -9 while samples are held: they come back (from the rings) after restart
        last = len(pump)
        assert rec.wait_for(lambda m: len(data_of(m, "pump1")) > last + 1, 3 * BATCH_S)
        time.sleep(BATCH_S / 2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        time.sleep(2)
        proc = start_forwardd(config, log)
        assert rec.wait_for(lambda m: count(m, "NBIRTH") >= 2, 20), log.read_text()[-2000:]
        time.sleep(BATCH_S)

        # a broker outage while batching: held data goes to the outbox, then replays
        broker.stop()
        time.sleep(8)
        broker.start()
        rec.stop()
        rec = Recorder("127.0.0.1", broker.port).start()
        recorders.append(rec)

        def drained() -> bool:
            s = read_cloud_status(tmp_path / "run")
            return s is not None and s["connected"] and s["outbox"]["depth"] == 0
        deadline = time.monotonic() + 40
        while not drained() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert drained(), log.read_text()[-3000:]
        time.sleep(2)
        # a clean stop sends what is held before the NDEATH
        end_ms = int(time.time()) * 1000
        assert stop(proc) == 0, log.read_text()[-3000:]
        assert rec.wait_for(lambda m: count(m, "NDEATH") >= 1, 5)
        msgs = recorders[0].snapshot() + rec.snapshot()
    finally:
        for r in recorders:
            r.stop()
        if proc.poll() is None:
            stop(proc, signal.SIGKILL)
        site.stop()
        broker.stop()

    report = check_edge_node(msgs, GROUP, NODE)
    assert report.violations == [], "\n".join(report.violations[:20])
    first_birth = min(s.ts_ms for s in report.samples[("pump1", "P1.PRESS")]
                      if s.kind == "DBIRTH")
    for device, tag in (("pump1", "P1.PRESS"), ("pump1", "P1.TEMP"), ("calc", "W1.RATE"),
                        ("alarms", "P1.PRESS.ALARM.HI"), ("calc", CARD_TAG)):
        got = report.unique((device, tag))
        expected = {ts: v for ts, v in site.written[tag].items() if first_birth <= ts <= end_ms}
        missing = sorted(set(expected) - set(got))
        assert not missing, f"{tag}: {len(missing)} samples lost, first {missing[:5]}"
        assert all(got[ts] == v for ts, v in expected.items()), tag
        for s in report.samples[(device, tag)]:  # a sample sent twice has the same value
            assert got[s.ts_ms] == s.value, (tag, s)
