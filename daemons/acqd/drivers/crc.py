"""CRC-16/MODBUS, table driven (Modbus over Serial Line V1.02, modbus.org 2006, §6.2.2).

Polynomial 0xA001 (0x8005 reflected), initial value 0xFFFF, no final XOR; the CRC is sent
low byte first.  The 256-entry table is the spec's "table-driven" variant: one lookup per
byte instead of eight shifts.
"""

from __future__ import annotations

POLYNOMIAL = 0xA001
INITIAL = 0xFFFF


def _table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ POLYNOMIAL if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


TABLE = _table()


def crc16(data: bytes | bytearray | memoryview) -> int:
    """The CRC of `data`; over a frame *including* its CRC the result is 0 when it matches."""
    crc = INITIAL
    table = TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def append_crc(frame: bytes) -> bytes:
    """`frame` followed by its CRC, low byte first (§2.5.1.2)."""
    return frame + crc16(frame).to_bytes(2, "little")


def check_crc(frame: bytes | bytearray | memoryview) -> bool:
    """True when the last two bytes of `frame` are the CRC of the rest."""
    return len(frame) >= 3 and crc16(frame) == 0
