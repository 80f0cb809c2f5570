"""Modbus PDUs of the master side, shared by the TCP and RTU links.

Request encodings, quantity limits and reply layouts follow the MODBUS Application
Protocol Specification V1.1b3 (modbus.org 2012): read coils/discrete inputs/holding/input
registers §6.1–6.4, write single coil/register §6.5–6.6, write multiple coils/registers
§6.11–6.12, exception responses §7.  A bad argument is the caller's bug (ValueError); a
bad reply is the device's (FrameError / ExceptionResponse).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

from daemons.acqd.drivers.base import ExceptionResponse, FrameError

READ_FUNCTION = MappingProxyType({"co": 1, "di": 2, "hr": 3, "ir": 4})
BIT_TABLES = frozenset({"co", "di"})
MAX_READ = MappingProxyType({"co": 2000, "di": 2000, "hr": 125, "ir": 125})
MAX_WRITE_BITS = 1968  # §6.11
MAX_WRITE_REGISTERS = 123  # §6.12
ADDRESS_SPACE = 65536
COIL_ON = 0xFF00  # §6.5: the only two legal values of a single-coil write
COIL_OFF = 0x0000

_HEADER = struct.Struct(">BHH")
# Byte -> its 8 bits, least significant first: coils are packed LSB first (§6.1).
_BITS = tuple(tuple((byte >> i) & 1 for i in range(8)) for byte in range(256))


@dataclass(frozen=True, slots=True)
class Request:
    """One encoded request and what a valid normal reply to it looks like."""

    unit: int
    table: str
    function: int
    address: int
    count: int
    pdu: bytes
    reply_pdu_length: int  # length of the normal (non-exception) reply PDU

    @property
    def is_write(self) -> bool:
        return self.function not in (1, 2, 3, 4)


def _check_unit(unit: int) -> None:
    if not 0 <= unit <= 255:
        raise ValueError(f"unit id must be 0..255, not {unit}")


def _check_range(address: int, count: int, limit: int, what: str) -> None:
    if not 1 <= count <= limit:
        raise ValueError(f"{what}: count must be 1..{limit}, not {count}")
    if address < 0 or address + count > ADDRESS_SPACE:
        raise ValueError(f"{what}: addresses {address}..{address + count - 1} outside 0..65535")


def read_request(unit: int, table: str, address: int, count: int) -> Request:
    function = READ_FUNCTION.get(table)
    if function is None:
        raise ValueError(f"unknown table {table!r}; use one of hr, ir, co, di")
    _check_unit(unit)
    _check_range(address, count, MAX_READ[table], f"read {table}")
    nbytes = (count + 7) // 8 if table in BIT_TABLES else 2 * count
    return Request(unit, table, function, address, count,
                   _HEADER.pack(function, address, count), 2 + nbytes)


def write_request(unit: int, table: str, address: int, values: Sequence[int]) -> Request:
    """fc 6/16 for holding registers, 5/15 for coils; one value uses the single form."""
    _check_unit(unit)
    count = len(values)
    if table == "hr":
        _check_range(address, count, MAX_WRITE_REGISTERS, "write hr")
        for value in values:
            if not 0 <= value <= 0xFFFF:
                raise ValueError(f"register value must be 0..65535, not {value}")
        if count == 1:
            pdu = _HEADER.pack(6, address, values[0])
            return Request(unit, table, 6, address, 1, pdu, 5)
        pdu = _HEADER.pack(16, address, count) + struct.pack(f">B{count}H", 2 * count, *values)
        return Request(unit, table, 16, address, count, pdu, 5)
    if table == "co":
        _check_range(address, count, MAX_WRITE_BITS, "write co")
        if count == 1:
            pdu = _HEADER.pack(5, address, COIL_ON if values[0] else COIL_OFF)
            return Request(unit, table, 5, address, 1, pdu, 5)
        packed = bytearray((count + 7) // 8)
        for i, value in enumerate(values):
            if value:
                packed[i >> 3] |= 1 << (i & 7)
        pdu = _HEADER.pack(15, address, count) + bytes((len(packed),)) + packed
        return Request(unit, table, 15, address, count, pdu, 5)
    raise ValueError(f"table {table!r} cannot be written; only hr and co can")


def exception_code(request: Request, pdu: bytes | bytearray | memoryview) -> int | None:
    """The exception code if `pdu` is an exception reply to `request` (fc | 0x80)."""
    if len(pdu) >= 2 and pdu[0] == request.function | 0x80:
        return pdu[1]
    return None


def parse_reply(request: Request, pdu: bytes | bytearray | memoryview) -> list[int] | None:
    """Values of a read reply (None for a write); ExceptionResponse or FrameError if bad."""
    where = {"unit": request.unit, "function": request.function, "address": request.address}
    code = exception_code(request, pdu)
    if code is not None:
        if len(pdu) != 2:
            raise FrameError(f"exception reply of {len(pdu)} bytes, not 2", **where)
        raise ExceptionResponse(code, **where)
    if len(pdu) < 1 or pdu[0] != request.function:
        got = pdu[0] if len(pdu) else None
        raise FrameError(f"reply function {got} to a request with function "
                         f"{request.function}", **where)
    if len(pdu) != request.reply_pdu_length:
        raise FrameError(f"reply of {len(pdu)} PDU bytes, expected "
                         f"{request.reply_pdu_length}", **where)
    if request.is_write:
        # fc 5/6 echo the request; fc 15/16 echo address and quantity (§6.5, 6.6, 6.11, 6.12)
        if bytes(pdu) != request.pdu[:5]:
            raise FrameError("write reply does not echo the request", **where)
        return None
    if pdu[1] != request.reply_pdu_length - 2:
        raise FrameError(f"byte count {pdu[1]}, expected {request.reply_pdu_length - 2}",
                         **where)
    if request.table in BIT_TABLES:
        bits = _BITS
        out = [bit for byte in pdu[2:] for bit in bits[byte]]
        del out[request.count:]
        return out
    return list(struct.unpack_from(f">{request.count}H", pdu, 2))
