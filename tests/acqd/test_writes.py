"""Writes go only through acqd: checked, journalled, written, read back, journalled."""

import os
import sqlite3

import pytest

from daemons.core.commands import request

pytestmark = pytest.mark.timeout(90)




def journal(site):
    conn = sqlite3.connect(site.root / "state" / "commands.db")
    try:
        return conn.execute("SELECT tag, value, state, reason, source, registers, readback,"
                            " error, uid FROM commands ORDER BY id").fetchall()
    finally:
        conn.close()


@pytest.fixture
def running(acqd_site):
    acqd_site.start()
    assert acqd_site.wait(lambda s: s.get("G.SET")[2] == 0 and s.get("R1.HR0")[2] == 0,
                          timeout=15), acqd_site.log()
    return acqd_site


def test_write_is_confirmed_by_read_back_and_journalled(running):
    out = running.cli("write", "G.SET", "21", "--reason", "commissioning test")
    assert out.returncode == 0, out.stderr
    assert "G.SET = 21 confirmed by read-back" in out.stdout
    rows = journal(running)
    assert rows[-1][:7] == ("G.SET", 21.0, "confirmed", "commissioning test", "cli",
                            "0x0015", 21.0)
    assert rows[-1][8] == os.getuid()
    # The device really got it: the test slave doubles hr 300 into ir 20.
    model = running.sim.sim.models["gw1"]
    assert ("hr", 300, [21]) in model.writes
    listing = running.cli("commands")
    assert "G.SET" in listing.stdout and "confirmed" in listing.stdout


def test_bit_write_keeps_the_other_bits(running):
    bank = running.sim.sim.models["rtu1"].bank
    bank.set_registers("hr", 300, [0x8001])
    out = running.cli("write", "R1.FLAG", "1", "--reason", "set bit 3")
    assert out.returncode == 0, out.stderr
    assert int(bank.hr[300]) == 0x8009
    # While acqd owns the serial port, a direct test says so instead of colliding on the bus.
    busy = running.cli("modbus", "read", "--device", "rtu1", "--table", "hr",
                    "--address", "300")
    assert busy.returncode == 1 and "in use" in busy.stderr


@pytest.mark.parametrize(("tag", "value", "expected"), [
    ("G.SET", "5000", "above the maximum 1000"),
    ("G.SET", "-1", "below the minimum 0"),
    ("R1.HR0", "3", "read-only"),
    ("NOPE", "1", "unknown tag 'NOPE'"),
])
def test_bad_writes_are_rejected_and_journalled(running, tag, value, expected):
    out = running.cli("write", tag, value, "--reason", "should fail")
    assert out.returncode == 1
    assert expected in out.stderr and "rejected" in out.stderr
    last = journal(running)[-1]
    assert last[0] == tag and last[2] == "rejected" and expected in last[7]


def test_reason_is_required(running):
    assert running.cli("write", "G.SET", "1").returncode == 2
    reply = request(running.root / "run", {"op": "write", "tag": "G.SET", "value": 1,
                                           "reason": " ", "source": "test"})
    assert reply["ok"] is False and "reason" in reply["error"]["en"]


def test_write_to_a_dead_device_fails_cleanly(running):
    sim = running.sim
    sim.call(sim.sim.fault("gw1", "drop"))
    out = running.cli("write", "G.SET", "7", "--reason", "device is down")
    assert out.returncode == 1 and "failed" in out.stderr
    assert journal(running)[-1][2] == "failed"
    assert running.proc.poll() is None


def test_malformed_messages_do_not_hurt_acqd(running):
    import socket
    import struct

    path = str(running.root / "run" / "acqd.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(struct.pack(">I", 5) + b"\xc1\xc1\xc1\xc1\xc1")  # not msgpack
        assert s.recv(4096)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(struct.pack(">I", 10_000_000))  # absurd length
        assert s.recv(4096)
    reply = request(running.root / "run", {"op": "explode"})
    assert reply["ok"] is False
    assert request(running.root / "run", {"op": "ping"}) == {"ok": True}


def test_write_without_acqd_is_a_clear_error(acqd_site):
    out = acqd_site.cli("write", "G.SET", "1", "--reason", "nobody home")
    assert out.returncode == 1 and "acqd is not reachable" in out.stderr
