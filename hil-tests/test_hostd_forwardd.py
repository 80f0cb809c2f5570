"""End to end: the real forwardd → our own mosquitto → hostd → the real PostgreSQL.

Issue 14's outage test from the cloud's side: a fake site writes four tags at 1 Hz
(hil-tests/forwardd_site.py), forwardd publishes them with hostd as its primary host,
the broker is stopped for longer than forwardd needs to notice (1.5 × keep-alive), and
after recovery hostd's database holds every sample of every tag exactly once, with its
value, in order per tag, and the outage's samples flagged historical.
"""

from __future__ import annotations

import signal
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forwardd_site import GROUP, NODE, Broker, FakeSite, start_forwardd, stop, write_config

from daemons.core.cloudstatus import read_cloud_status

pytestmark = pytest.mark.timeout(150)
TREE = Path(__file__).resolve().parents[1]
ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
OUTAGE_S = 15  # forwardd's keep-alive is 5 s: it notices within 7.5 s
TAGS = {"P1.PRESS": "pump1/P1.PRESS", "P1.TEMP": "pump1/P1.TEMP",
        "W1.RATE": "calc/W1.RATE", "P1.PRESS.ALARM.HI": "alarms/P1.PRESS.ALARM.HI"}


@pytest.fixture
def database():
    name = f"hostd_e2e_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(ADMIN, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    yield name, f"host=127.0.0.1 port=5432 user=postgres dbname={name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'DROP ROLE IF EXISTS "e2e_{name[-8:]}_reader"')
    admin.close()


def start_hostd(tmp: Path, port: int, dsn: str, host_id: str, role: str):
    import os
    import subprocess

    cfg = tmp / "hostd.toml"
    cfg.write_text(f'[hostd]\nhost_id = "{host_id}"\nmetrics_port = 0\n'
                   f'[mqtt]\nport = {port}\nkeepalive = 5\n'
                   f'[database]\ndsn = "{dsn}"\nflush_ms = 50\n[[tenant]]\n'
                   f'group_id = "{GROUP}"\nschema = "site"\nreader_role = "{role}"\n')
    env = {**os.environ, "PYTHONPATH": str(TREE)}
    env.pop("NOTIFY_SOCKET", None)
    log = tmp / "hostd.log"
    proc = subprocess.Popen([sys.executable, "-m", "daemons.hostd", "--config", str(cfg),
                             "--log-format", "json"], env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)
    return proc, log


def stored(dsn: str) -> dict[str, list[tuple[int, float, bool]]]:
    with psycopg.connect(dsn) as conn:
        try:
            rows = conn.execute(
                "SELECT metric, (extract(epoch FROM time) * 1000)::bigint, value, "
                "is_historical FROM site.samples_named WHERE node = %s ORDER BY metric, time",
                (NODE,)).fetchall()
        except psycopg.errors.UndefinedTable:
            return {}  # hostd has not created the tenant's schema yet
    out: dict[str, list[tuple[int, float, bool]]] = {}
    for metric, ms, value, hist in rows:
        out.setdefault(metric, []).append((ms, value, hist))
    return out


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_broker_outage_every_sample_once_in_order_in_postgresql(tmp_path, database):
    name, dsn = database
    host_id = f"cloud-{name[-8:]}"
    broker = Broker(tmp_path).start()
    site = FakeSite(tmp_path / "run").start()
    hostd, hostd_log = start_hostd(tmp_path, broker.port, dsn, host_id,
                                   f"e2e_{name[-8:]}_reader")
    config = write_config(tmp_path, broker.port, primary_host_id=host_id)
    fwd_log = tmp_path / "forwardd.log"
    forwardd = start_forwardd(config, fwd_log)
    try:
        wait(lambda: len(stored(dsn).get(TAGS["P1.PRESS"], ())) >= 5, 30,
             "live data in PostgreSQL")
        first_ms = min(ms for rows in stored(dsn).values() for ms, _v, _h in rows)
        broker.stop()
        time.sleep(OUTAGE_S)
        broker.start()

        def drained() -> bool:
            s = read_cloud_status(tmp_path / "run")
            return bool(s) and s["connected"] and s["outbox"]["depth"] == 0
        wait(drained, 45, "forwardd's backlog to drain")
        end_ms = (int(time.time()) - 2) * 1000
        wait(lambda: all(any(ms >= end_ms for ms, _v, _h in stored(dsn).get(m, ()))
                         for m in TAGS.values()), 15, "hostd to catch up")
        got = stored(dsn)
    finally:
        if forwardd.poll() is None:
            stop(forwardd)
        site.stop()
        if hostd.poll() is None:
            hostd.send_signal(signal.SIGTERM)
            hostd.wait(10)
        broker.stop()

    outage_hist = 0
    for tag, metric in TAGS.items():
        rows = got[metric]
        times = [ms for ms, _v, _h in rows]
        assert len(times) == len(set(times)), f"{metric}: a sample stored twice"
        assert times == sorted(times)
        by_time = {ms: v for ms, v, _h in rows}
        expected = {ms: v for ms, v in site.written[tag].items() if first_ms <= ms <= end_ms}
        missing = sorted(set(expected) - set(by_time))
        assert not missing, f"{metric}: {len(missing)} samples lost, first {missing[:5]}"
        wrong = [ms for ms, v in expected.items() if by_time[ms] != v]
        assert not wrong, f"{metric}: wrong values at {wrong[:5]}"
        invented = [ms for ms in by_time if first_ms <= ms <= end_ms and ms not in expected]
        assert not invented, (f"{metric}: samples the site never wrote at {invented[:5]}: "
                              f"{[r for r in rows if r[0] in invented[:5]]}")
        outage_hist += sum(1 for ms, _v, h in rows if h and first_ms <= ms <= end_ms)
    # the outage's seconds came back as history (4 tags, most of the outage)
    assert outage_hist >= 4 * (OUTAGE_S - 8), outage_hist
    out = hostd_log.read_text()
    assert "Traceback" not in out
    assert out.count('"broker unavailable"') == 1 and out.count('"broker recovered"') == 1
    with psycopg.connect(dsn) as conn:
        node = conn.execute("SELECT online, bdseq, historical_received FROM site.node_status "
                            "WHERE node = %s", (NODE,)).fetchone()
    assert node[2] >= outage_hist


def test_kill_9_of_hostd_loses_nothing_the_site_wrote(tmp_path, database):
    """hostd dies with samples received but not committed; its Will tells forwardd, which
    buffers, and replays when hostd is back: the database ends up complete all the same."""
    name, dsn = database
    host_id = f"cloud-{name[-8:]}"
    broker = Broker(tmp_path).start()
    site = FakeSite(tmp_path / "run").start()
    role = f"e2e_{name[-8:]}_reader"
    hostd, hostd_log = start_hostd(tmp_path, broker.port, dsn, host_id, role)
    forwardd = start_forwardd(write_config(tmp_path, broker.port, primary_host_id=host_id),
                              tmp_path / "forwardd.log")
    try:
        wait(lambda: len(stored(dsn).get(TAGS["P1.PRESS"], ())) >= 4, 30, "live data")
        first_ms = min(ms for rows in stored(dsn).values() for ms, _v, _h in rows)
        hostd.send_signal(signal.SIGKILL)
        hostd.wait(10)
        time.sleep(5)
        hostd, hostd_log = start_hostd(tmp_path, broker.port, dsn, host_id, role)

        def drained() -> bool:
            s = read_cloud_status(tmp_path / "run")
            return bool(s) and s["connected"] and s["outbox"]["depth"] == 0
        wait(drained, 45, "forwardd's backlog to drain")
        end_ms = (int(time.time()) - 2) * 1000
        wait(lambda: all(any(ms >= end_ms for ms, _v, _h in stored(dsn).get(m, ()))
                         for m in TAGS.values()), 15, "hostd to catch up")
        got = stored(dsn)
    finally:
        if forwardd.poll() is None:
            stop(forwardd)
        site.stop()
        if hostd.poll() is None:
            hostd.send_signal(signal.SIGTERM)
            hostd.wait(10)
        broker.stop()

    for tag, metric in TAGS.items():
        by_time = {ms: v for ms, v, _h in got[metric]}
        expected = {ms: v for ms, v in site.written[tag].items() if first_ms <= ms <= end_ms}
        missing = sorted(set(expected) - set(by_time))
        assert not missing, f"{metric}: {len(missing)} samples lost, first {missing[:5]}"
        assert all(by_time[ms] == v for ms, v in expected.items()), metric
    assert "Traceback" not in hostd_log.read_text()  # both runs of hostd, one log
