"""Modbus application layer (PDU) of the simulated slaves, shared by the TCP and RTU servers.

Written by hand rather than with pymodbus's server so that every byte is ours to corrupt,
delay or drop when a fault is injected, and so that pymodbus can act as an independent
master in the tests.  Function codes, limits and exception rules follow the MODBUS
Application Protocol Specification V1.1b3 (modbus.org, 2012), §6 and §7.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from daemons.sim.bank import RegisterBank

# Exception codes (spec §7).
ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02
ILLEGAL_DATA_VALUE = 0x03
SERVER_DEVICE_FAILURE = 0x04
GATEWAY_TARGET_FAILED = 0x0B

# Quantity limits (spec §6.1–6.4, §6.11, §6.12, §6.17).
MAX_READ_BITS = 2000
MAX_READ_REGISTERS = 125
MAX_WRITE_BITS = 1968
MAX_WRITE_REGISTERS = 123
MAX_RW_WRITE_REGISTERS = 121

READ_FUNCTIONS = {1: "co", 2: "di", 3: "hr", 4: "ir"}
WRITE_FUNCTIONS = frozenset({5, 6, 15, 16})
SUPPORTED_FUNCTIONS = frozenset({1, 2, 3, 4, 5, 6, 8, 15, 16, 23, 43})

# Read Device Identification (spec §6.21): MEI type 14, basic objects 0..2.
MEI_DEVICE_ID = 0x0E
CONFORMITY_BASIC_INDIVIDUAL = 0x81  # basic stream + individual access


@dataclass(frozen=True, slots=True)
class Identity:
    """The basic device identification objects answered to function 43/14."""

    vendor: str = "wellgate"
    product_code: str = "sim"
    revision: str = "0.1"

    def objects(self) -> list[bytes]:
        # Object values must fit the 253-byte PDU together with their headers.
        return [s.encode("ascii", "replace")[:64]
                for s in (self.vendor, self.product_code, self.revision)]


@dataclass(frozen=True, slots=True)
class Span:
    """The table and addresses a request touches (for address-range faults)."""

    table: str
    address: int
    count: int

    def overlaps(self, first: int, last: int) -> bool:
        return self.address <= last and first < self.address + self.count


def exception_pdu(function: int, code: int) -> bytes:
    return bytes(((function & 0x7F) | 0x80, code))


def spans(pdu: bytes) -> list[Span]:
    """Every (table, address range) a well-formed request reads or writes; [] otherwise."""
    if len(pdu) < 5:
        return []
    fc = pdu[0]
    address, count = struct.unpack_from(">HH", pdu, 1)
    if fc in READ_FUNCTIONS:
        return [Span(READ_FUNCTIONS[fc], address, count)]
    if fc == 5:
        return [Span("co", address, 1)]
    if fc == 6:
        return [Span("hr", address, 1)]
    if fc == 15:
        return [Span("co", address, count)]
    if fc == 16:
        return [Span("hr", address, count)]
    if fc == 23 and len(pdu) >= 9:
        w_address, w_count = struct.unpack_from(">HH", pdu, 5)
        return [Span("hr", address, count), Span("hr", w_address, w_count)]
    return []


def _pack_bits(bits: Sequence[int]) -> bytes:
    """Coils/inputs packed LSB first, the first bit in the lowest bit of the first byte."""
    out = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def _unpack_bits(data: bytes, count: int) -> list[int]:
    return [(data[i // 8] >> (i % 8)) & 1 for i in range(count)]


def _read(bank: RegisterBank, fc: int, pdu: bytes) -> bytes:
    if len(pdu) != 5:
        return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    address, count = struct.unpack_from(">HH", pdu, 1)
    table = READ_FUNCTIONS[fc]
    limit = MAX_READ_BITS if table in ("co", "di") else MAX_READ_REGISTERS
    if not 1 <= count <= limit:
        return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    values = bank.read(table, address, count)
    if values is None:
        return exception_pdu(fc, ILLEGAL_DATA_ADDRESS)
    bits = table in ("co", "di")
    data = _pack_bits(values) if bits else struct.pack(f">{count}H", *values)
    return bytes((fc, len(data))) + data


def _write_single_coil(bank: RegisterBank, pdu: bytes) -> bytes:
    if len(pdu) != 5:
        return exception_pdu(5, ILLEGAL_DATA_VALUE)
    address, value = struct.unpack_from(">HH", pdu, 1)
    if value not in (0x0000, 0xFF00):  # spec §6.5: only these two encodings are legal
        return exception_pdu(5, ILLEGAL_DATA_VALUE)
    if not bank.write("co", address, [1 if value else 0]):
        return exception_pdu(5, ILLEGAL_DATA_ADDRESS)
    return pdu


def _write_single_register(bank: RegisterBank, pdu: bytes) -> bytes:
    if len(pdu) != 5:
        return exception_pdu(6, ILLEGAL_DATA_VALUE)
    address, value = struct.unpack_from(">HH", pdu, 1)
    if not bank.write("hr", address, [value]):
        return exception_pdu(6, ILLEGAL_DATA_ADDRESS)
    return pdu


def _write_multiple(bank: RegisterBank, fc: int, pdu: bytes) -> bytes:
    if len(pdu) < 6:
        return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    address, count, byte_count = struct.unpack_from(">HHB", pdu, 1)
    data = pdu[6:]
    if fc == 15:
        ok = 1 <= count <= MAX_WRITE_BITS and byte_count == (count + 7) // 8
    else:
        ok = 1 <= count <= MAX_WRITE_REGISTERS and byte_count == 2 * count
    if not ok or len(data) != byte_count:
        return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    if fc == 15:
        written = bank.write("co", address, _unpack_bits(data, count))
    else:
        written = bank.write("hr", address, list(struct.unpack(f">{count}H", data)))
    if not written:
        return exception_pdu(fc, ILLEGAL_DATA_ADDRESS)
    return struct.pack(">BHH", fc, address, count)


def _read_write_multiple(bank: RegisterBank, pdu: bytes) -> bytes:
    fc = 23
    if len(pdu) < 10:
        return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    r_address, r_count, w_address, w_count, byte_count = struct.unpack_from(">HHHHB", pdu, 1)
    data = pdu[10:]
    if (not 1 <= r_count <= MAX_READ_REGISTERS or not 1 <= w_count <= MAX_RW_WRITE_REGISTERS
            or byte_count != 2 * w_count or len(data) != byte_count):
        return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    # Spec §6.17: the write is performed before the read.  Check the read range first so a
    # request that would fail does not leave a half-done write behind.
    if bank.read("hr", r_address, r_count) is None:
        return exception_pdu(fc, ILLEGAL_DATA_ADDRESS)
    if not bank.write("hr", w_address, list(struct.unpack(f">{w_count}H", data))):
        return exception_pdu(fc, ILLEGAL_DATA_ADDRESS)
    values = bank.read("hr", r_address, r_count)
    if values is None:
        return exception_pdu(fc, ILLEGAL_DATA_ADDRESS)
    return bytes((fc, 2 * r_count)) + struct.pack(f">{r_count}H", *values)


def _diagnostics(pdu: bytes) -> bytes:
    # Only sub-function 0x0000 "Return Query Data" (spec §6.8.1): echo the request.
    if len(pdu) < 3:
        return exception_pdu(8, ILLEGAL_DATA_VALUE)
    if struct.unpack_from(">H", pdu, 1)[0] != 0:
        return exception_pdu(8, ILLEGAL_FUNCTION)
    return pdu


def _device_identification(pdu: bytes, identity: Identity) -> bytes:
    fc = 43
    if len(pdu) != 4 or pdu[1] != MEI_DEVICE_ID:
        return exception_pdu(fc, ILLEGAL_DATA_VALUE if len(pdu) != 4 else ILLEGAL_FUNCTION)
    code, object_id = pdu[2], pdu[3]
    objects = identity.objects()
    if code not in (1, 2, 3, 4):
        return exception_pdu(fc, ILLEGAL_DATA_VALUE)
    if code == 4:
        if object_id >= len(objects):
            return exception_pdu(fc, ILLEGAL_DATA_ADDRESS)
        chosen = [(object_id, objects[object_id])]
    else:
        # Spec §6.21: codes 2 and 3 above our conformity level are answered at our level,
        # and an unknown start object restarts the stream at object 0.
        start = object_id if object_id < len(objects) else 0
        chosen = list(enumerate(objects))[start:]
    body = bytearray((fc, MEI_DEVICE_ID, code, CONFORMITY_BASIC_INDIVIDUAL, 0, 0, len(chosen)))
    for oid, value in chosen:
        body += bytes((oid, len(value))) + value
    return bytes(body)


def process(bank: RegisterBank, pdu: bytes, identity: Identity | None = None) -> bytes:
    """Execute one request PDU against `bank` and return the response PDU (or an exception).

    Exceptions follow spec §7 in the order its state diagrams check them: function code
    (01), then quantity and byte count (03), then address (02).
    """
    if not pdu:
        return exception_pdu(0, ILLEGAL_FUNCTION)
    fc = pdu[0]
    if fc not in SUPPORTED_FUNCTIONS:
        return exception_pdu(fc, ILLEGAL_FUNCTION)
    try:
        if fc in READ_FUNCTIONS:
            return _read(bank, fc, pdu)
        if fc == 5:
            return _write_single_coil(bank, pdu)
        if fc == 6:
            return _write_single_register(bank, pdu)
        if fc in (15, 16):
            return _write_multiple(bank, fc, pdu)
        if fc == 23:
            return _read_write_multiple(bank, pdu)
        if fc == 8:
            return _diagnostics(pdu)
        return _device_identification(pdu, identity or Identity())
    except Exception:
        # A device model's write hook failing is a device failure, not a dead server.
        return exception_pdu(fc, SERVER_DEVICE_FAILURE)


def is_broadcastable(pdu: bytes) -> bool:
    """Serial-line broadcast (unit 0) is defined for writes only (Modbus over serial §2.1)."""
    return bool(pdu) and pdu[0] in WRITE_FUNCTIONS
