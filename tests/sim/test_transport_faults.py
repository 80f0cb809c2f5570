"""Every fault kind, as a master sees it, on TCP and RTU; and recovery after clear."""

from __future__ import annotations

import errno
import socket
import struct
import time

import pytest
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException

from daemons.core.problems import ValidationError
from daemons.sim.rtu import crc16, with_crc

from .conftest import HR_BASE, wait_for


def _tcp(port: int, timeout: float = 0.3) -> ModbusTcpClient:
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=timeout, retries=0)
    assert client.connect()
    return client


def _rtu(link, timeout: float = 0.3) -> ModbusSerialClient:
    client = ModbusSerialClient(str(link), baudrate=19200, timeout=timeout, retries=0)
    assert client.connect()
    return client


def _mbap(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def test_slow_delays_the_reply_past_a_short_timeout(runner, site):
    runner.call(site.fault("gw1", "slow", delay_ms=400))
    client = _tcp(site.tcp_ports["gw1"], timeout=0.2)
    try:
        with pytest.raises(ModbusIOException):
            client.read_holding_registers(0, count=1, device_id=1)
    finally:
        client.close()
    patient = _tcp(site.tcp_ports["gw1"], timeout=3)
    try:
        t0 = time.monotonic()
        assert patient.read_holding_registers(0, count=1, device_id=1).registers == [HR_BASE]
        assert time.monotonic() - t0 >= 0.4
    finally:
        patient.close()
    rtu = _rtu(site.pty_links["rs485-1"], timeout=3)
    runner.call(site.fault("rtu1", "slow", delay_ms=300))
    try:
        t0 = time.monotonic()
        assert rtu.read_holding_registers(0, count=1, device_id=1).registers == [HR_BASE]
        assert time.monotonic() - t0 >= 0.3
    finally:
        rtu.close()


def test_exception_fault_with_and_without_address_range(runner, site):
    runner.call(site.fault("gw2", "exception", code=6, first=100, last=110))
    client = _tcp(site.tcp_ports["gw2"])
    try:
        assert not client.read_holding_registers(0, count=5, device_id=2).isError()
        rr = client.read_holding_registers(95, count=10, device_id=2)  # overlaps 100
        assert rr.isError() and rr.exception_code == 6
    finally:
        client.close()
    runner.call(site.fault("rtu1", "exception"))  # default code 4, every address
    rtu = _rtu(site.pty_links["rs485-1"])
    try:
        rr = rtu.read_holding_registers(0, count=1, device_id=1)
        assert rr.isError() and rr.exception_code == 4
        assert not rtu.read_holding_registers(0, count=1, device_id=2).isError()
    finally:
        rtu.close()


def test_drop_with_probability_loses_some_replies(runner, site):
    runner.call(site.fault("solo", "drop", probability=0.5))
    answered = 0
    with socket.create_connection(("127.0.0.1", site.tcp_ports["solo"]), timeout=0.1) as s:
        for tid in range(20):
            s.sendall(_mbap(tid, 9, struct.pack(">BHH", 3, 0, 1)))
            try:
                reply = s.recv(11, socket.MSG_WAITALL)
            except TimeoutError:
                continue
            assert struct.unpack(">H", reply[:2])[0] == tid
            answered += 1
    assert 0 < answered < 20


def test_crc_fault_corrupts_only_the_crc(runner, site, master):
    runner.call(site.fault("rtu2", "crc"))
    master.send(with_crc(struct.pack(">BBHH", 2, 3, 0, 1)))
    reply = master.receive(7)
    assert reply[:5] == struct.pack(">BBBH", 2, 3, 2, HR_BASE + 100)
    assert crc16(reply) != 0
    client = _rtu(site.pty_links["rs485-1"])
    try:
        with pytest.raises(ModbusIOException):
            client.read_holding_registers(0, count=1, device_id=2)
    finally:
        client.close()


def test_crc_fault_is_refused_for_tcp(runner, site):
    with pytest.raises(ValidationError, match="RTU"):
        runner.call(site.fault("gw1", "crc"))


def test_garbage_comes_before_the_reply(runner, site, master):
    runner.call(site.fault("rtu1", "garbage", bytes=5))
    master.send(with_crc(struct.pack(">BBHH", 1, 3, 0, 1)))
    reply = master.receive(12)
    assert reply[5:] == with_crc(struct.pack(">BBBH", 1, 3, 2, HR_BASE))
    runner.call(site.fault("gw1", "garbage", bytes=3))
    with socket.create_connection(("127.0.0.1", site.tcp_ports["gw1"]), timeout=2) as s:
        s.sendall(_mbap(42, 1, struct.pack(">BHH", 3, 0, 1)))
        reply = s.recv(14, socket.MSG_WAITALL)
    assert reply[3:] == struct.pack(">HHHBBBH", 42, 0, 5, 1, 3, 2, HR_BASE)


def test_tcp_disconnect_closes_refuses_and_recovers_at_the_same_port(runner, site):
    port = site.tcp_ports["solo"]
    conn = socket.create_connection(("127.0.0.1", port), timeout=2)
    runner.call(site.fault("solo", "disconnect"))
    assert conn.recv(10) == b""  # the open connection was closed by the device
    conn.close()
    with pytest.raises(OSError) as refused:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert refused.value.errno == errno.ECONNREFUSED
    client = _tcp(site.tcp_ports["gw1"])  # another port is unaffected
    assert not client.read_holding_registers(0, count=1, device_id=1).isError()
    client.close()
    runner.call(site.clear("solo"))
    assert site.tcp_ports["solo"] == port
    client = _tcp(port)
    try:
        assert client.read_holding_registers(0, count=1, device_id=9).registers == [HR_BASE]
    finally:
        client.close()


def test_rtu_disconnect_pulls_the_cable_and_clear_restores_the_link(runner, site):
    link = site.pty_links["rs485-1"]
    client = _rtu(link)
    assert not client.read_holding_registers(0, count=1, device_id=1).isError()
    runner.call(site.fault("rtu2", "disconnect"))  # any device on the bus: the whole bus
    assert not link.exists()
    with pytest.raises((ModbusIOException, ConnectionException)):
        client.read_holding_registers(0, count=1, device_id=1)
    client.close()
    runner.call(site.clear())
    assert link.exists()
    client = _rtu(link)
    try:
        assert client.read_holding_registers(0, count=1, device_id=2).registers == [
            HR_BASE + 100]
    finally:
        client.close()


def test_fault_duration_expires_by_itself(runner, site):
    runner.call(site.fault("solo", "disconnect", duration_s=0.3))
    port = site.tcp_ports["solo"]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()

    def answers() -> bool:
        client = ModbusTcpClient("127.0.0.1", port=port, timeout=0.3, retries=0)
        try:
            return client.connect() and not client.read_holding_registers(
                0, count=1, device_id=9).isError()
        finally:
            client.close()

    assert wait_for(answers, timeout=3)
    assert site.status()["faults"] == []
