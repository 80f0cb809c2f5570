"""Driver parts without a peer: CRC, PDU encoding/decoding, line timing, backoff, registry."""

from __future__ import annotations

import struct

import pytest

from daemons.acqd.drivers import DRIVERS, open_link, protocols
from daemons.acqd.drivers import pdu as modbus
from daemons.acqd.drivers.base import (
    Backoff,
    ConnectionLost,
    ExceptionResponse,
    FrameError,
    Link,
    ModbusError,
    NoResponse,
)
from daemons.acqd.drivers.crc import append_crc, check_crc, crc16
from daemons.acqd.drivers.modbus_rtu import LineTiming, RtuLink
from daemons.acqd.drivers.modbus_tcp import TcpLink
from daemons.core.config.model import DeviceConfig


def _device(protocol: str, **kw) -> DeviceConfig:
    base = dict(name="d1", protocol=protocol, unit=1, timeout=0.5, retries=1,
                max_registers=125, max_bits=2000, max_gap=None, demote_after=3,
                demote_period=30.0, enabled=True, description="")
    base.update(kw)
    return DeviceConfig(**base)


# --- CRC ---------------------------------------------------------------------------
def test_crc_matches_published_frames():
    # Read 1 holding register of unit 1 at 0: the classic example frame 01 03 00 00 00 01 84 0A
    assert append_crc(bytes.fromhex("010300000001")) == bytes.fromhex("010300000001840a")
    # Modbus over Serial Line V1.02 §6.2.2 worked example (CRC of 02 07 is 0x1241, sent 41 12)
    assert crc16(bytes.fromhex("0207")) == 0x1241
    assert crc16(b"123456789") == 0x4B37  # the CRC-16/MODBUS check value
    frame = append_crc(b"\x11\x03\x00\x6b\x00\x03")
    assert check_crc(frame) and crc16(frame) == 0
    assert not check_crc(frame[:-1] + bytes((frame[-1] ^ 1,)))


# --- PDUs --------------------------------------------------------------------------
@pytest.mark.parametrize(("table", "fc"), [("co", 1), ("di", 2), ("hr", 3), ("ir", 4)])
def test_read_requests_use_the_table_function(table, fc):
    req = modbus.read_request(7, table, 0x1234, 10)
    assert req.pdu == struct.pack(">BHH", fc, 0x1234, 10)
    assert req.reply_pdu_length == (2 + 2 if table in ("co", "di") else 2 + 20)


def test_write_requests_choose_single_or_multiple_forms():
    assert modbus.write_request(1, "hr", 5, [0xBEEF]).pdu == bytes.fromhex("060005beef")
    assert modbus.write_request(1, "hr", 5, [1, 2]).pdu == bytes.fromhex(
        "10000500020400010002")
    assert modbus.write_request(1, "co", 3, [1]).pdu == bytes.fromhex("050003ff00")
    assert modbus.write_request(1, "co", 3, [0]).pdu == bytes.fromhex("0500030000")
    # 10 coils 1,0,1,1,0,0,1,1,1,0 -> CD 01 (spec §6.11 example)
    req = modbus.write_request(1, "co", 19, [1, 0, 1, 1, 0, 0, 1, 1, 1, 0])
    assert req.pdu == bytes.fromhex("0f0013000a02cd01")


@pytest.mark.parametrize(("call", "args"), [
    (modbus.read_request, (1, "hr", 0, 126)),
    (modbus.read_request, (1, "co", 0, 2001)),
    (modbus.read_request, (1, "hr", 65530, 10)),
    (modbus.read_request, (1, "xx", 0, 1)),
    (modbus.read_request, (256, "hr", 0, 1)),
    (modbus.write_request, (1, "ir", 0, [1])),
    (modbus.write_request, (1, "hr", 0, [70000])),
    (modbus.write_request, (1, "hr", 0, [0] * 124)),
    (modbus.write_request, (1, "hr", 0, [])),
])
def test_bad_arguments_are_the_callers_bug(call, args):
    with pytest.raises(ValueError):
        call(*args)


def test_parse_replies():
    req = modbus.read_request(1, "hr", 0, 2)
    assert modbus.parse_reply(req, bytes.fromhex("0304000a0102")) == [10, 258]
    bits = modbus.read_request(1, "co", 19, 10)  # spec §6.1 example: CD 01
    assert modbus.parse_reply(bits, b"\x01\x02\xcd\x01") == [1, 0, 1, 1, 0, 0, 1, 1, 1, 0]
    with pytest.raises(ExceptionResponse) as exc:
        modbus.parse_reply(req, b"\x83\x02")
    assert exc.value.code == 2 and exc.value.unit == 1 and exc.value.function == 3
    assert isinstance(exc.value, ModbusError) and not exc.value.no_communication
    for bad in (b"\x04\x04\x00\x0a\x01\x02", b"\x03\x02\x00\x0a", b"\x03\x05\x00\x0a\x01\x02",
                b"\x83\x02\x00", b""):
        with pytest.raises(FrameError):
            modbus.parse_reply(req, bad)
    write = modbus.write_request(1, "hr", 5, [7])
    assert modbus.parse_reply(write, write.pdu) is None
    with pytest.raises(FrameError):
        modbus.parse_reply(write, bytes.fromhex("0600050008"))


def test_error_hierarchy():
    assert issubclass(ConnectionLost, NoResponse)
    assert issubclass(NoResponse, ModbusError) and issubclass(FrameError, ModbusError)
    assert ExceptionResponse(0x0B).no_communication


# --- timing and backoff ------------------------------------------------------------
def test_line_timing_follows_the_serial_line_spec():
    # 8E1 at 9600: 11 bits per character; t3.5 = 3.5 characters
    assert LineTiming(9600, "E", 1).char_s == pytest.approx(11 / 9600)
    assert LineTiming(9600, "E", 1).silent_s == pytest.approx(3.5 * 11 / 9600)
    assert LineTiming(19200, "N", 1).silent_s == pytest.approx(3.5 * 10 / 19200)
    assert LineTiming(19200, "N", 2).bits_per_char == 11
    # above 19200 the silent interval is fixed at 1.75 ms
    assert LineTiming(38400, "E", 1).silent_s == 0.00175
    assert LineTiming(115200, "N", 1).silent_s == 0.00175


def test_backoff_doubles_to_thirty_seconds_and_resets():
    b = Backoff()
    assert b.wait_s(100.0) == 0
    delays = [b.failed(100.0) for _ in range(9)]
    assert delays == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert b.wait_s(100.0) == 30 and b.wait_s(131.0) == 0
    b.succeeded()
    assert b.wait_s(100.0) == 0 and b.failed(100.0) == 0.5


# --- registry ----------------------------------------------------------------------
def test_open_link_by_protocol():
    assert set(protocols()) == {"modbus-tcp", "modbus-rtu"}
    tcp = open_link(_device("modbus-tcp", host="10.0.0.5", port=1502))
    assert isinstance(tcp, TcpLink) and isinstance(tcp, Link)
    assert (tcp.host, tcp.port, tcp.name) == ("10.0.0.5", 1502, "tcp:10.0.0.5:1502")
    rtu = open_link(_device("modbus-rtu", serial_port="/dev/ttyS1", baud=9600, parity="N",
                            stop_bits=2, turnaround_ms=100))
    assert isinstance(rtu, RtuLink) and isinstance(rtu, Link)
    assert rtu.line == LineTiming(9600, "N", 2) and rtu.turnaround_s == pytest.approx(0.1)
    with pytest.raises(ValueError, match="wits0"):
        open_link(_device("wits0"))
    # a new protocol plugs in through its own table, no global state touched
    drivers = {**DRIVERS, "wits0": lambda d: TcpLink("127.0.0.1", 1, name="wits")}
    assert open_link(_device("wits0"), drivers).name == "wits"
    assert "wits0" not in DRIVERS
