"""acqd as a real process against the simulated site: values, quality, faults, recovery."""

import signal
import struct
import time

import numpy as np
import pytest

from daemons.core.quality import detail, severity
from daemons.core.ring import RingDirectory

pytestmark = pytest.mark.timeout(90)


def good(snap, name):
    value, _ts, q = snap.get(name)
    return value if severity(q) == "good" else None


def test_reads_every_type_and_table_with_good_quality(acqd_site):
    acqd_site.start()
    names = ["R1.HR0", "R1.PAIR", "R1.SCALED", "R1.COUNTER", "R1.C3", "R2.HR0", "G.HR0",
             "G.SWAPPED"]
    snap = acqd_site.wait(lambda s: s if all(good(s, n) is not None for n in names) else None)
    assert snap is not None, acqd_site.log()
    assert good(snap, "R1.HR0") == 1000
    assert good(snap, "R1.PAIR") == (1002 << 16) | 1003
    assert good(snap, "R1.SCALED") == pytest.approx(100.5)
    assert good(snap, "R1.C3") == 1.0
    assert good(snap, "R2.HR0") == 1100
    assert good(snap, "G.HR0") == 1000
    expected = struct.unpack(">f", struct.pack(">HH", 1010, 1011))[0]
    assert good(snap, "G.SWAPPED") == pytest.approx(expected)
    # Timestamps are scan ticks: whole seconds of UTC for the 1 s class.
    _, ts, _ = snap.get("R1.HR0")
    assert ts % 1_000_000_000 == 0
    # The 200-register array spans two requests and arrives whole.
    with RingDirectory(acqd_site.root / "run") as rings:
        arr = acqd_site.wait(lambda s: rings.array("G.ARRAY")
                             if severity(rings.array("G.ARRAY")[2]) == "good" else None)
    assert arr is not None
    assert np.array_equal(arr[0], np.arange(1020, 1220))
    assert acqd_site.stop() == 0


def test_counter_advances_at_scan_rate(acqd_site):
    acqd_site.start()
    first = acqd_site.wait(lambda s: s.get("R2.COUNTER") if good(s, "R2.COUNTER") else None)
    assert first is not None, acqd_site.log()
    time.sleep(3.2)
    later = acqd_site.snapshot().get("R2.COUNTER")
    assert later[1] - first[1] >= 2_000_000_000  # at least two more 1 s ticks sampled
    assert later[0] != first[0]


def test_dead_slave_is_bad_within_one_scan_and_others_keep_their_rate(acqd_site):
    acqd_site.start()
    assert acqd_site.wait(lambda s: good(s, "R1.HR0") and good(s, "R2.HR0")), acqd_site.log()
    sim = acqd_site.sim
    sim.call(sim.sim.fault("rtu1", "drop", unit=1))
    t0 = time.monotonic()
    snap = acqd_site.wait(lambda s: s if severity(s.get("R1.HR0")[2]) == "bad" else None)
    assert snap is not None
    assert time.monotonic() - t0 < 3.0  # one 1 s scan plus its 0.2 s timeout, with margin
    assert detail(snap.get("R1.HR0")[2]) == "no-communication"
    # rtu1 gets demoted; rtu2 on the same bus keeps being sampled every second.
    demoted = acqd_site.wait(lambda s: s.get("_sys.rtu1.1.demoted")[0] == 1.0)
    assert demoted
    ts = []
    for _ in range(4):
        ts.append(acqd_site.snapshot().get("R2.COUNTER")[1])
        time.sleep(1.0)
    assert len(set(ts)) >= 3, "rtu2 stopped being polled while rtu1 was dead"
    assert good(acqd_site.snapshot(), "R2.COUNTER") is not None
    # Recovery is automatic once the slave answers again (after its demotion period).
    sim.call(sim.sim.clear("rtu1"))
    assert acqd_site.wait(lambda s: good(s, "R1.HR0") == 1000, timeout=15), acqd_site.log()
    snap = acqd_site.snapshot()
    assert snap.get("_sys.rtu1.1.demoted")[0] == 0.0
    assert snap.get("_sys.rtu1.1.demotions")[0] >= 1
    assert snap.get("_sys.rtu1.1.timeouts")[0] >= 1
    log = acqd_site.log()
    assert log.count("slave unavailable") == 1 and log.count("slave recovered") == 1
    assert acqd_site.proc.poll() is None


def test_tcp_disconnect_and_recovery(acqd_site):
    acqd_site.start()
    assert acqd_site.wait(lambda s: good(s, "G.HR0")), acqd_site.log()
    sim = acqd_site.sim
    sim.call(sim.sim.fault("gw1", "disconnect"))
    assert acqd_site.wait(lambda s: severity(s.get("G.HR0")[2]) == "bad")
    assert good(acqd_site.snapshot(), "R2.HR0") == 1100  # other buses unaffected
    sim.call(sim.sim.clear("gw1"))
    assert acqd_site.wait(lambda s: good(s, "G.HR0") == 1000, timeout=40), acqd_site.log()
    assert acqd_site.proc.poll() is None


def test_sighup_applies_a_new_map_and_keeps_live_values(acqd_site):
    acqd_site.start()
    assert acqd_site.wait(lambda s: good(s, "R1.HR0")), acqd_site.log()
    before = acqd_site.snapshot().get("R1.HR0")
    maps = acqd_site.root / "tagmaps" / "test.csv"
    maps.write_text(maps.read_text() + "R1.HR7,rtu1,hr,7,uint16,,,\n")
    acqd_site.proc.send_signal(signal.SIGHUP)
    snap = acqd_site.wait(lambda s: s if good(s, "R1.HR7") == 1007 else None)
    assert snap is not None, acqd_site.log()
    value, ts, q = snap.get("R1.HR0")
    assert value == before[0] and ts >= before[1] and severity(q) == "good"
    # The TCP connection to gw1 was kept: one connection accepted since start.
    status = acqd_site.sim.sim.status()
    assert [d["connections"] for d in status["devices"] if d["name"] == "gw1"] == [1]
    # A broken map is refused; the daemon keeps polling the last good one.
    maps.write_text("tag,device,table,address,type\nX,nodevice,hr,0,uint16\n")
    acqd_site.proc.send_signal(signal.SIGHUP)
    time.sleep(2.5)
    assert acqd_site.proc.poll() is None
    assert good(acqd_site.snapshot(), "R1.HR7") == 1007
    assert "keeping the running ones" in acqd_site.log()


def test_illegal_address_splits_the_block(acqd_site):
    maps = acqd_site.root / "tagmaps" / "test.csv"
    # hr 250..299 do not exist on the test slave: a block 240..262 gets exception 02.
    maps.write_text(maps.read_text() + "R1.NEAR,rtu1,hr,240,uint16,,,\n"
                                       "R1.MISSING,rtu1,hr,262,uint16,,,\n")
    acqd_site.start()
    snap = acqd_site.wait(lambda s: s if good(s, "R1.NEAR") == 1240 else None)
    assert snap is not None, acqd_site.log()
    snap = acqd_site.wait(lambda s: s if detail(s.get("R1.MISSING")[2]) == "config-error"
                          else None)
    assert snap is not None
    assert good(snap, "R1.HR0") == 1000


def test_new_card_flag_reads_the_card_at_once(acqd_site):
    """G.CARD is on a 1-hour scan, but its controller's card counter (G.SEQ) changes
    every second: each change must bring a fresh card within about one scan."""
    acqd_site.start()
    with RingDirectory(acqd_site.root / "run") as rings:
        first = acqd_site.wait(lambda s: rings.array("G.CARD")
                               if severity(rings.array("G.CARD")[2]) == "good" else None)
        assert first is not None, acqd_site.log()
        time.sleep(3.5)
        values, ts, q, seq = rings.array("G.CARD")
    assert severity(q) == "good"
    assert np.array_equal(values, np.arange(1220, 1240))
    assert ts - first[1] >= 2_000_000_000 and seq > first[3]


def test_metrics_endpoint_reports_requests_and_scan_timing(acqd_site):
    import re
    import tomllib
    import urllib.request

    port = tomllib.loads(acqd_site.config.read_text())["service"]["acqd"]["metrics_port"]
    acqd_site.start()
    assert acqd_site.wait(lambda s: good(s, "G.HR0")), acqd_site.log()
    text = ""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
        requests = re.search(r'wellgate_acq_requests_total\{bus="rtu:[^"]+"\} (\S+)', text)
        if requests and float(requests[1]) > 0:
            break
        time.sleep(1)
    assert requests and float(requests[1]) > 0, text
    assert re.search(r'wellgate_acq_scan_cycles_total\{bus="tcp:127.0.0.1:\d+",scan="fast"\}',
                     text)
    assert "wellgate_acq_scan_jitter_max_seconds" in text
    assert "wellgate_loops_total" in text  # the standard daemon metrics too


def test_every_sample_goes_to_history_with_its_raw_value(acqd_site):
    import json

    from daemons.core.history.reader import HistoryReader

    acqd_site.start()
    assert acqd_site.wait(lambda s: good(s, "R1.SCALED")), acqd_site.log()
    time.sleep(4.5)  # several 1 s scans and at least two 1 s history flushes
    now = time.time_ns()
    with HistoryReader([acqd_site.root / "state" / "history.db"]) as reader:
        ts, values, quality = reader.raw("R2.COUNTER", now - 60 * 10**9, now)
        assert len(ts) >= 3, acqd_site.log()
        assert np.all(np.diff(values) > 0)  # the slave's step counter only grows
        assert np.all(np.diff(ts) == 1_000_000_000)  # aligned ticks, none missing
        assert np.all(quality == 0)
        _, scaled, _ = reader.raw("R1.SCALED", now - 60 * 10**9, now)
        assert np.allclose(scaled, 100.5)  # stored raw (1005) with the tag's scale 0.1
        _, comm, _ = reader.raw("_sys.rtu1.1.comm", now - 60 * 10**9, now)
        assert len(comm) >= 3 and np.all(comm == 1.0)
    assert acqd_site.stop() == 0
    # [[history.filter]] in the configuration made R1.SCALED's storage a 0.5 deadband.
    import sqlite3

    with sqlite3.connect(acqd_site.root / "state" / "history.db") as conn:
        rows = conn.execute("SELECT s.tag, c.method, c.tolerance FROM compression c "
                            "JOIN series s ON s.id = c.series_id").fetchall()
    assert rows == [("R1.SCALED", "deadband", 0.5)]
    out = acqd_site.cli("history", "R1.SCALED", "--start", "-1h", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert rows and all(abs(r["value"] - 100.5) < 1e-9 for r in rows)


def test_crc_errors_and_exception_replies_set_their_own_quality(acqd_site):
    acqd_site.start()
    assert acqd_site.wait(lambda s: good(s, "R2.HR0") and good(s, "G.HR0")), acqd_site.log()
    sim = acqd_site.sim
    sim.call(sim.sim.fault("rtu2", "crc", unit=2))
    sim.call(sim.sim.fault("gw1", "exception", code=4))
    snap = acqd_site.wait(lambda s: s if detail(s.get("R2.HR0")[2]) == "no-communication"
                          and detail(s.get("G.HR0")[2]) == "device-failure" else None)
    assert snap is not None, acqd_site.log()
    assert snap.get("_sys.rtu2.2.crc_errors")[0] >= 1
    assert snap.get("_sys.gw1.1.exceptions")[0] >= 1
    assert good(snap, "R1.HR0") == 1000  # the other slave on the same line is unaffected
    sim.call(sim.sim.clear())
    assert acqd_site.wait(lambda s: good(s, "R2.HR0") == 1100 and good(s, "G.HR0") == 1000,
                          timeout=20), acqd_site.log()
    assert acqd_site.proc.poll() is None


def test_tagmap_apply_tells_the_running_acqd(acqd_site):
    from daemons.core.ring import RingReader

    acqd_site.start()
    assert acqd_site.wait(lambda s: good(s, "R1.HR0")), acqd_site.log()
    new_dir = acqd_site.root / "new"
    new_dir.mkdir()
    new = new_dir / "test.csv"
    new.write_text((acqd_site.root / "tagmaps" / "test.csv").read_text()
                   + "G.HR9,gw1,hr,9,uint16,,,,,,,,\n")
    # acqd has just written its status file; wait until it says ready, then apply.
    assert acqd_site.wait(lambda s: "ready" in acqd_site.cli("status").stdout)
    out = acqd_site.cli("tagmap", "apply", str(new), "--note", "add G.HR9")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "installed as version 1" in out.stdout and "told to reload: acqd" in out.stdout
    assert acqd_site.wait(lambda s: good(s, "G.HR9") == 1009), acqd_site.log()
    with RingReader(acqd_site.root / "run" / "acq.ring") as ring:
        assert ring.tagmap_version == 1
