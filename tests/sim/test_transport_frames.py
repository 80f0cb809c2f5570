"""RTU framing and the PDU layer without any I/O: CRC, frame detection, exceptions."""

from __future__ import annotations

import struct

from daemons.sim import pdu
from daemons.sim.bank import RegisterBank
from daemons.sim.rtu import LineSettings, RtuFramer, crc16, with_crc

READ_10 = bytes.fromhex("01030000000a")  # read 10 holding registers of unit 1


def test_crc_matches_the_published_example():
    # Modbus over Serial Line V1.02 / common reference frame: 01 03 00 00 00 0A -> C5 CD.
    assert with_crc(READ_10) == READ_10 + bytes.fromhex("c5cd")
    assert crc16(with_crc(READ_10)) == 0


def test_crc_agrees_with_pymodbus():
    from pymodbus.framer.rtu import FramerRTU

    for frame in (READ_10, bytes(range(40)), b"\xff" * 7):
        # pymodbus returns the CRC as the big-endian number of the two wire bytes
        wire = FramerRTU.compute_CRC(frame).to_bytes(2, "big")
        assert with_crc(frame)[-2:] == wire


def _framer() -> RtuFramer:
    return RtuFramer(LineSettings(19200, "N", 1))


def test_split_frame_is_found_once_complete():
    framer = _framer()
    frame = with_crc(READ_10)
    framer.feed(frame[:3], 100.0)
    assert framer.next_frame() is None
    framer.feed(frame[3:], 100.001)
    found = framer.next_frame()
    assert found is not None and found[0] == frame
    assert len(framer) == 0


def test_garbage_before_a_frame_is_dropped():
    framer = _framer()
    frame = with_crc(bytes.fromhex("0210000a0002040001fffe"))  # fc 16, 2 registers
    framer.feed(b"\x55\xaa\x01\x10\x00" + frame, 0.0)
    found = framer.next_frame()
    assert found is not None and found[0] == frame


def test_bad_crc_frame_is_skipped_and_next_frame_found():
    framer = _framer()
    bad = with_crc(READ_10)[:-1] + b"\x00"
    good = with_crc(bytes.fromhex("020400000001"))
    framer.feed(bad + good, 0.0)
    found = framer.next_frame()
    assert found is not None and found[0] == good


def test_stale_partial_frame_is_dropped_byte_by_byte():
    framer = _framer()
    framer.feed(b"\x01\x10\x00\x00\x00\x01\x02", 0.0)  # fc 16 header, never completed
    assert framer.next_frame() is None
    while len(framer):
        framer.drop_stale()
        assert framer.next_frame() is None
    framer.feed(with_crc(READ_10), 1.0)
    assert framer.next_frame() is not None


def test_unknown_function_frame_is_found_by_crc():
    framer = _framer()
    frame = with_crc(b"\x01\x41\x12\x34\x56")
    framer.feed(frame, 0.0)
    found = framer.next_frame()
    assert found is not None and found[0] == frame


def test_frame_end_time_counts_line_time():
    line = LineSettings(9600, "E", 1)  # 11 bits per character
    assert line.bits_per_char == 11
    framer = RtuFramer(line)
    framer.feed(with_crc(READ_10), 10.0)
    found = framer.next_frame()
    assert found is not None
    assert abs(found[1] - (10.0 + 8 * 11 / 9600)) < 1e-9


def test_silent_interval_is_fixed_above_19200():
    assert abs(LineSettings(19200).silent_s - 3.5 * 10 / 19200) < 1e-12
    assert LineSettings(115200).silent_s == 0.00175
    assert LineSettings(38400, "N", 2).bits_per_char == 11


def _bank() -> RegisterBank:
    bank = RegisterBank()
    bank.set_registers("hr", 0, list(range(10)))
    bank.set_bit("co", 0, True)
    return bank


def test_pdu_exceptions():
    bank = _bank()
    assert pdu.process(bank, bytes.fromhex("070000")) == b"\x87\x01"
    assert pdu.process(bank, struct.pack(">BHH", 3, 5, 10)) == b"\x83\x02"  # 5..14 undeclared
    assert pdu.process(bank, struct.pack(">BHH", 3, 0, 0)) == b"\x83\x03"
    assert pdu.process(bank, struct.pack(">BHH", 3, 0, 126)) == b"\x83\x03"
    assert pdu.process(bank, struct.pack(">BHH", 1, 0, 2001)) == b"\x81\x03"
    assert pdu.process(bank, struct.pack(">BHH", 5, 0, 0x1234)) == b"\x85\x03"
    # fc 16 with a byte count that disagrees with the quantity
    assert pdu.process(bank, struct.pack(">BHHB", 16, 0, 2, 3) + b"\0\0\0") == b"\x90\x03"
    assert pdu.process(bank, struct.pack(">BHH", 8, 1, 0)) == b"\x88\x01"


def test_pdu_read_write_multiple_writes_before_reading():
    bank = _bank()
    request = struct.pack(">BHHHHB", 23, 0, 3, 1, 1, 2) + struct.pack(">H", 999)
    assert pdu.process(bank, request) == bytes((23, 6)) + struct.pack(">3H", 0, 999, 2)


def test_pdu_device_identification_basic_objects():
    reply = pdu.process(_bank(), bytes((43, 14, 1, 0)), pdu.Identity("acme", "rpc", "2.1"))
    assert reply[:7] == bytes((43, 14, 1, 0x81, 0, 0, 3))
    assert reply[7:] == b"\x00\x04acme\x01\x03rpc\x02\x032.1"
