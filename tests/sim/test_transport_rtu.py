"""Modbus RTU on a socat pty pair: function codes, units on one bus, broadcast, framing
robustness and the line-timing model (lower bounds only: behaviour, not speed)."""

from __future__ import annotations

import struct
import time

import pytest
from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ModbusIOException

from daemons.sim.background import SiteThread
from daemons.sim.rtu import LineSettings, with_crc

from .conftest import (
    HR_BASE,
    MODELS,
    check_all_function_codes,
    make_site,
    site_text,
    wait_for,
)


def _client(link, baud: int = 19200) -> ModbusSerialClient:
    client = ModbusSerialClient(str(link), baudrate=baud, timeout=0.5, retries=0)
    assert client.connect()
    return client


def test_all_function_codes_over_rtu(site):
    client = _client(site.pty_links["rs485-1"])
    try:
        check_all_function_codes(client, 2, 100, site.models["rtu2"])
    finally:
        client.close()


def test_units_on_a_shared_bus_answer_only_for_themselves(master):
    for unit, base in ((1, HR_BASE), (2, HR_BASE + 100)):
        master.send(with_crc(struct.pack(">BBHH", unit, 3, 0, 1)))
        assert master.receive(7) == with_crc(struct.pack(">BBBH", unit, 3, 2, base))
    master.send(with_crc(struct.pack(">BBHH", 5, 3, 0, 1)))  # nobody is unit 5
    assert master.receive(7, timeout=0.3) == b""


def test_exceptions_01_02_03_over_rtu(master):
    cases = [
        (bytes((1, 0x41, 0, 0)), bytes((1, 0xC1, 1))),
        (struct.pack(">BBHH", 1, 3, 250, 2), bytes((1, 0x83, 2))),
        (struct.pack(">BBHH", 1, 3, 0, 126), bytes((1, 0x83, 3))),
        (struct.pack(">BBHH", 1, 1, 0, 2001), bytes((1, 0x81, 3))),
    ]
    for request, reply in cases:
        master.send(with_crc(request))
        assert master.receive(5) == with_crc(reply)


def test_broadcast_write_reaches_every_unit_without_reply(master):
    master.send(with_crc(struct.pack(">BBHH", 0, 6, 7, 4321)))
    assert master.receive(8, timeout=0.3) == b""  # no slave answers a broadcast
    for unit in (1, 2):
        master.send(with_crc(struct.pack(">BBHH", unit, 3, 7, 1)))
        assert master.receive(7) == with_crc(struct.pack(">BBBH", unit, 3, 2, 4321))


def test_garbage_and_split_frames_are_survived(master):
    request = with_crc(struct.pack(">BBHH", 2, 3, 4, 2))
    expected = with_crc(struct.pack(">BBBHH", 2, 3, 4, HR_BASE + 104, HR_BASE + 105))
    master.send(b"\x13\x37\xff\x01\x10")  # line noise, even a plausible frame start
    master.send(request)
    assert master.receive(len(expected)) == expected
    for cut in (1, 3, 7):  # the same request arriving in two pieces
        master.send(request[:cut])
        time.sleep(0.01)
        master.send(request[cut:])
        assert master.receive(len(expected)) == expected
    master.send(request[:-1] + bytes((request[-1] ^ 0x55,)))  # bad CRC: ignored
    assert master.receive(9, timeout=0.3) == b""
    master.send(request)
    assert master.receive(len(expected)) == expected


def test_125_register_read_takes_at_least_its_line_time(site):
    line = LineSettings(19200, "N", 1)
    # request 8 bytes, reply 5 + 250 bytes, the slave's turnaround and two silent intervals
    floor = line.frame_s(8 + 255) + 2 * line.silent_s + 0.010
    client = _client(site.pty_links["rs485-1"])
    try:
        client.read_holding_registers(0, count=1, device_id=1)
        for _ in range(3):
            t0 = time.monotonic()
            rr = client.read_holding_registers(0, count=125, device_id=1)
            elapsed = time.monotonic() - t0
            assert not rr.isError()
            assert elapsed >= floor, (elapsed, floor)
    finally:
        client.close()


def test_reply_is_paced_not_sent_at_once(master):
    # 125 registers: the first bytes may arrive early, the last only after the frame time
    master.send(with_crc(struct.pack(">BBHH", 1, 3, 0, 125)))
    t0 = time.monotonic()
    first = master.receive(1)
    t_first = time.monotonic() - t0
    rest = master.receive(254)
    t_last = time.monotonic() - t0
    assert len(first + rest) == 255
    assert t_last >= LineSettings(19200).frame_s(8 + 255)
    # the reply trickles out as the line would carry it, rather than all at the end (a
    # loose bound: a busy machine may delay the first chunk, never the line time)
    assert t_last - t_first > LineSettings(19200).frame_s(254) / 4


def test_slow_baud_and_turnaround_lengthen_the_transaction(tmp_path, need_socat):
    text = site_text(baud=2400, turnaround_ms=50)
    with SiteThread(make_site(text), state_dir=tmp_path, models=MODELS, isolated=True) as site:
        line = LineSettings(2400, "N", 1)
        client = _client(site.pty_links["rs485-1"], baud=2400)
        try:
            t0 = time.monotonic()
            rr = client.read_holding_registers(0, count=10, device_id=1)
            elapsed = time.monotonic() - t0
        finally:
            client.close()
        assert rr.registers == [HR_BASE + i for i in range(10)]
        assert elapsed >= line.frame_s(8 + 25) + 2 * line.silent_s + 0.050


def test_other_units_keep_answering_while_one_is_dead(runner, site):
    runner.call(site.fault("rs485-1", "drop", unit=1))
    client = _client(site.pty_links["rs485-1"])
    try:
        with pytest.raises(ModbusIOException):
            client.read_holding_registers(0, count=1, device_id=1)
        assert wait_for(lambda: not client.read_holding_registers(
            0, count=1, device_id=2).isError())
    finally:
        client.close()
