"""What the ring shows must follow the device at once (issue 8, parts 2 and 3).

- A write confirmed by read-back is published to the ring and the historian immediately,
  not at the tag's next scan (the tags here scan hourly, so only the read-back can do it).
- A slave declared down marks every one of its tags Bad in every scan class at that
  moment; a neighbour on the same RS-485 line is unaffected; after recovery every tag,
  hourly ones included, comes back Good.
"""

import time

import numpy as np
import pytest

from daemons.core.commands import request
from daemons.core.history.reader import HistoryReader
from daemons.core.quality import detail, severity
from daemons.core.ring import RingDirectory, RingError

pytestmark = pytest.mark.timeout(120)

# Appended to the fixture's map (tests/acqd/conftest.py).  On the test slave hr[i] is
# 1000 + offset + i: hr 200 of rtu1 = 1200 = 0x04B0 (bit 0 clear, bit 5 set).
EXTRA_TAGS = """\
G.SLOWSET,gw1,hr,4,uint16,,hourly,,rw,0,5000,,
G.SLOWNEXT,gw1,hr,5,uint16,,hourly,,,,,,
R1.B0,rtu1,hr,200,bit:0,,hourly,,rw,,,,
R1.B5,rtu1,hr,200,bit:5,,hourly,,,,,,
R1.MID,rtu1,hr,100,uint16,,slow,,,,,,
R1.SLOW,rtu1,hr,120,uint16,,hourly,,,,,,
R1.SLOWARR,rtu1,hr,130,uint16[4],,hourly,,,,,,
"""
RTU1_SCALARS = ["R1.HR0", "R1.PAIR", "R1.SCALED", "R1.COUNTER", "R1.C3", "R1.FLAG", "R1.B0",
                "R1.B5", "R1.MID", "R1.SLOW"]


def good(snap, name):
    value, _ts, q = snap.get(name)
    return value if severity(q) == "good" else None


def array(site, name):
    try:
        with RingDirectory(site.root / "run") as rings:
            return rings.array(name)
    except (RingError, KeyError):
        return None


@pytest.fixture
def running(acqd_site):
    maps = acqd_site.root / "tagmaps" / "test.csv"
    maps.write_text(maps.read_text() + EXTRA_TAGS)
    acqd_site.start()
    names = [*RTU1_SCALARS, "G.SLOWSET", "G.SLOWNEXT", "R2.HR0"]
    assert acqd_site.wait(lambda s: all(good(s, n) is not None for n in names),
                          timeout=20), acqd_site.log()
    return acqd_site


def write(site, tag, value):
    reply = request(site.root / "run", {"op": "write", "tag": tag, "value": value,
                                        "reason": "issue 8 test", "source": "test"})
    assert reply["ok"] and reply["state"] == "confirmed", reply
    return reply


def test_confirmed_write_of_a_slow_tag_is_in_ring_and_history_at_once(running):
    before = running.snapshot()
    assert good(before, "G.SLOWSET") == 1004
    _, next_ts, _ = before.get("G.SLOWNEXT")
    t0 = time.time_ns()
    write(running, "G.SLOWSET", 1234)
    replied = time.monotonic()
    snap = running.wait(lambda s: s if good(s, "G.SLOWSET") == 1234 else None, timeout=1.0)
    assert snap is not None, "the confirmed value is not in the ring 1 s after the reply"
    assert time.monotonic() - replied < 1.0
    _, ts, q = snap.get("G.SLOWSET")
    assert t0 <= ts <= time.time_ns() and detail(q) == "good"  # the read-back's own time
    # G.SLOWNEXT shares the tag's block but was not read back: it keeps its scan sample.
    assert snap.get("G.SLOWNEXT")[1] == next_ts and good(snap, "G.SLOWNEXT") == 1005
    # The historian gets the same sample (acqd flushes history every 1 s here).
    deadline = time.monotonic() + 15
    found = False
    while not found and time.monotonic() < deadline:
        time.sleep(0.5)
        with HistoryReader([running.root / "state" / "history.db"]) as reader:
            hts, values, quality = reader.raw("G.SLOWSET", t0 - 3600 * 10**9,
                                              time.time_ns() + 10**9)
        found = bool(np.any((hts == ts) & (values == 1234) & (quality == 0)))
    assert found, (hts, values, quality)


def test_bit_write_publishes_the_whole_register_it_read_back(running):
    bank = running.sim.sim.models["rtu1"].bank
    # The device clears bit 5 on its own; the hourly scan has not seen it yet.
    bank.set_registers("hr", 200, [0x0490])
    assert good(running.snapshot(), "R1.B5") == 1.0
    t0 = time.time_ns()
    write(running, "R1.B0", 1)
    assert int(bank.hr[200]) == 0x0491  # bit 0 set, the others kept as read
    snap = running.wait(lambda s: s if good(s, "R1.B0") == 1.0 else None, timeout=1.0)
    assert snap is not None, running.log()
    # Bit 5 lives in the register just read back: it is published too, with its new value.
    value, ts, q = snap.get("R1.B5")
    assert (value, detail(q)) == (0.0, "good") and ts >= t0


def test_a_down_slave_marks_every_tag_bad_and_they_all_come_back(running):
    assert severity(array(running, "R1.SLOWARR")[2]) == "good"
    sim = running.sim
    sim.call(sim.sim.fault("rtu1", "drop", unit=1))
    t0 = time.monotonic()
    # The first unanswered request declares rtu1 down: the fast tags and the 2 s and
    # hourly ones go Bad in the same ring batch, within one fast scan.
    snap = running.wait(lambda s: s if any(severity(s.get(n)[2]) == "bad"
                                           for n in RTU1_SCALARS) else None, timeout=5)
    assert snap is not None and time.monotonic() - t0 < 2.5, running.log()
    for name in RTU1_SCALARS:
        assert detail(snap.get(name)[2]) == "no-communication", name
    assert detail(array(running, "R1.SLOWARR")[2]) == "no-communication"
    # Health tags stay what they are: Good samples saying "not communicating".
    value, _, q = snap.get("_sys.rtu1.1.comm")
    assert (value, severity(q)) == (0.0, "good")
    # The neighbour on the same line keeps its values, quality and scan rate.
    assert good(snap, "R2.HR0") == 1100 and good(snap, "_sys.rtu2.2.comm") == 1.0
    first = snap.get("R2.COUNTER")[1]
    later = running.wait(lambda s: s if s.get("R2.COUNTER")[1] >= first + 2 * 10**9
                         and good(s, "R2.COUNTER") is not None else None, timeout=5)
    assert later is not None
    assert all(severity(later.get(n)[2]) == "bad" for n in RTU1_SCALARS)
    # Recovery (after the 4 s demotion period): every tag is read again at once, the
    # hourly ones included, instead of waiting for the next hour.
    sim.call(sim.sim.clear("rtu1"))
    back = running.wait(lambda s: s if all(good(s, n) is not None for n in RTU1_SCALARS)
                        else None, timeout=15)
    assert back is not None, running.log()
    assert good(back, "R1.SLOW") == 1120 and good(back, "R1.MID") == 1100
    assert good(back, "_sys.rtu1.1.comm") == 1.0
    assert running.wait(lambda s: severity(array(running, "R1.SLOWARR")[2]) == "good",
                        timeout=5)
    assert np.array_equal(array(running, "R1.SLOWARR")[0], [1130, 1131, 1132, 1133])
