"""Several servers tried in turn, MQTT 5: a refused server costs no bdSeq (no CONNECT
left), the next one is used, and a clean stop sends NDEATH with the same bdSeq."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forwardd_site import (
    GROUP,
    NODE,
    Broker,
    FakeSite,
    free_port,
    start_forwardd,
    stop,
    write_config,
)
from sparkplug_checker import Recorder, check_edge_node, count

from daemons.core.cloudstatus import read_cloud_status

pytestmark = pytest.mark.timeout(60)


def test_next_server_after_a_refused_one_mqtt5(tmp_path):
    broker = Broker(tmp_path).start()
    site = FakeSite(tmp_path / "run").start()
    dead = free_port()
    config = write_config(tmp_path, broker.port, version="5", servers=[
        f"mqtt://127.0.0.1:{dead}", f"mqtt://127.0.0.1:{broker.port}"])
    log = tmp_path / "forwardd.log"
    rec = Recorder("127.0.0.1", broker.port).start()
    proc = start_forwardd(config, log)
    try:
        assert rec.wait_for(lambda m: count(m, "DDATA") >= 3, 20), log.read_text()[-2000:]
        status = read_cloud_status(tmp_path / "run")
        assert status is not None and status["server"] == f"mqtt://127.0.0.1:{broker.port}"
        assert stop(proc) == 0, log.read_text()[-2000:]
        assert rec.wait_for(lambda m: count(m, "NDEATH") == 1, 5)
        msgs = rec.snapshot()
    finally:
        rec.stop()
        if proc.poll() is None:
            stop(proc)
        site.stop()
        broker.stop()
    report = check_edge_node(msgs, GROUP, NODE)
    assert report.violations == [], "\n".join(report.violations[:10])
    assert report.bdseqs == [0]  # the refused attempt did not use a bdSeq
