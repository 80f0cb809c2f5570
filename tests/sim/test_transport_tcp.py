"""Modbus TCP server: every function code, exceptions, unit routing, concurrent clients."""

from __future__ import annotations

import socket
import struct
import threading

import pytest
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusIOException

from daemons.sim.background import SiteThread

from .conftest import HR_BASE, MODELS, check_all_function_codes, make_site, site_text


def _client(port: int) -> ModbusTcpClient:
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=0.5, retries=0)
    assert client.connect()
    return client


def _raw(port: int, tid: int, unit: int, pdu: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu)
        header = s.recv(7, socket.MSG_WAITALL)
        length = struct.unpack(">H", header[4:6])[0]
        body = s.recv(length - 1, socket.MSG_WAITALL)
    assert header[:2] == struct.pack(">H", tid)  # transaction id echoed
    assert header[6] == unit  # unit id echoed
    return body


def test_all_function_codes_over_tcp(site):
    client = _client(site.tcp_ports["gw1"])
    try:
        check_all_function_codes(client, 1, 0, site.models["gw1"])
    finally:
        client.close()


def test_units_sharing_a_port_are_routed_to_their_own_banks(site):
    assert site.tcp_ports["gw1"] == site.tcp_ports["gw2"]
    assert site.tcp_ports["solo"] != site.tcp_ports["gw1"]
    client = _client(site.tcp_ports["gw1"])
    try:
        assert client.read_holding_registers(0, count=2, device_id=1).registers == [
            HR_BASE, HR_BASE + 1]
        assert client.read_holding_registers(0, count=2, device_id=2).registers == [
            HR_BASE + 100, HR_BASE + 101]
        assert client.write_register(3, 4242, device_id=2)
        assert client.read_holding_registers(3, count=1, device_id=1).registers == [HR_BASE + 3]
        # a unit that is not behind this port: no reply, like a gateway's dead serial side
        with pytest.raises(ModbusIOException):
            client.read_holding_registers(0, count=1, device_id=3)
    finally:
        client.close()


def test_single_device_port_also_answers_unit_0_and_255(site):
    port = site.tcp_ports["solo"]
    for unit in (9, 0, 255):
        body = _raw(port, 0x1234 + unit, unit, struct.pack(">BHH", 3, 0, 1))
        assert body == bytes((3, 2)) + struct.pack(">H", HR_BASE)


def test_exceptions_01_02_03_over_tcp(site):
    port = site.tcp_ports["gw1"]
    assert _raw(port, 1, 1, bytes((0x41, 0, 0))) == b"\xc1\x01"
    assert _raw(port, 2, 1, struct.pack(">BHH", 3, 250, 2)) == b"\x83\x02"
    assert _raw(port, 3, 1, struct.pack(">BHH", 3, 0, 126)) == b"\x83\x03"
    assert _raw(port, 4, 1, struct.pack(">BHH", 4, 0, 0)) == b"\x84\x03"
    client = _client(port)
    try:
        rr = client.read_holding_registers(249, count=2, device_id=1)  # 250 is undeclared
        assert rr.isError() and rr.exception_code == 2
        rr = client.write_register(250, 1, device_id=1)
        assert rr.isError() and rr.exception_code == 2
    finally:
        client.close()


def test_unknown_unit_exception_0b_when_configured(tmp_path, need_socat):
    text = site_text().replace('truth_interval_s = 0.2',
                               'truth_interval_s = 0.2\ntcp_unknown_unit = "exception"')
    with SiteThread(make_site(text), state_dir=tmp_path, models=MODELS, isolated=True) as site:
        assert _raw(site.tcp_ports["gw1"], 77, 5, struct.pack(">BHH", 3, 0, 1)) == b"\x83\x0b"


def test_many_concurrent_clients_get_their_own_answers(site):
    port = site.tcp_ports["gw1"]
    errors: list[str] = []

    def worker(unit: int, n: int) -> None:
        client = _client(port)
        try:
            for i in range(n):
                address = (i * 7) % 120
                rr = client.read_holding_registers(address, count=5, device_id=unit)
                base = HR_BASE + (0 if unit == 1 else 100)
                if rr.registers != [base + address + k for k in range(5)]:
                    errors.append(f"unit {unit}: {rr.registers}")
        except Exception as exc:  # collected and asserted below
            errors.append(repr(exc))
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(1 + i % 2, 30)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    served = {d["name"]: d["served"] for d in site.status()["devices"]}
    assert served["gw1"] >= 120 and served["gw2"] >= 120  # 4 clients x 30 requests each


def test_pipelined_requests_are_answered_in_order(site):
    with socket.create_connection(("127.0.0.1", site.tcp_ports["gw1"]), timeout=2) as s:
        frames = b"".join(struct.pack(">HHHBBHH", tid, 0, 6, 1, 3, tid, 1)
                          for tid in range(10, 20))
        s.sendall(frames)
        for tid in range(10, 20):
            reply = s.recv(11, socket.MSG_WAITALL)
            assert struct.unpack(">HHHBBBH", reply) == (tid, 0, 5, 1, 3, 2, HR_BASE + tid)


def test_bad_mbap_protocol_id_closes_the_connection(site):
    with socket.create_connection(("127.0.0.1", site.tcp_ports["gw1"]), timeout=2) as s:
        s.sendall(struct.pack(">HHHBBHH", 1, 7, 6, 1, 3, 0, 1))
        assert s.recv(100) == b""
