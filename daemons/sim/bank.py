"""The register image of one simulated Modbus slave, and value encoders for it.

Device models (daemons/sim/devices) write engineering values into a `RegisterBank`; the
Modbus servers (TCP and RTU) answer requests from it.  The encoders here are written with
`struct` on purpose, independently of acqd's decoders, so that a word-order mistake on one
side is caught by the tests instead of cancelling out.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Sequence

import numpy as np

TABLE_SIZE = 65536
REGISTER_TABLES = ("hr", "ir")
BIT_TABLES = ("co", "di")
WORD_ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")

# type name -> (struct code, registers)
_NUMERIC = {
    "int16": (">h", 1),
    "uint16": (">H", 1),
    "int32": (">i", 2),
    "uint32": (">I", 2),
    "int64": (">q", 4),
    "uint64": (">Q", 4),
    "float32": (">f", 2),
    "float64": (">d", 4),
}

WriteHook = Callable[[str, int, Sequence[int]], None]


def registers_of(type_name: str) -> int:
    """How many 16-bit registers one value of a numeric type occupies."""
    return _NUMERIC[type_name][1]


def encode(type_name: str, value: float, order: str = "ABCD") -> list[int]:
    """Engineering-free raw value -> registers in the given byte/word order.

    ABCD is big-endian (Modbus standard); CDAB swaps 16-bit words; BADC swaps the bytes
    inside each word; DCBA is fully little-endian.
    """
    code, count = _NUMERIC[type_name]
    if type_name.startswith(("int", "uint")):
        value = int(np.rint(value))
    raw = struct.pack(code, value)
    words = [raw[i : i + 2] for i in range(0, len(raw), 2)]
    if order in ("CDAB", "DCBA"):
        words.reverse()
    if order in ("BADC", "DCBA"):
        words = [w[::-1] for w in words]
    if order not in WORD_ORDERS:
        raise ValueError(f"unknown word order {order!r}")
    return [int.from_bytes(w, "big") for w in words][:count]


def encode_string(text: str, registers: int) -> list[int]:
    """ASCII, two characters per register, first character in the high byte, NUL padded."""
    raw = text.encode("ascii", "replace")[: registers * 2].ljust(registers * 2, b"\0")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


class RegisterBank:
    """hr/ir as uint16 arrays, co/di as bool arrays, each with 65,536 addresses (0-based).

    The physics thread writes, the server's event loop reads; a lock keeps multi-register
    values whole, as a real controller's firmware does between scans.
    """

    def __init__(self, on_write: WriteHook | None = None) -> None:
        self.hr = np.zeros(TABLE_SIZE, dtype=np.uint16)
        self.ir = np.zeros(TABLE_SIZE, dtype=np.uint16)
        self.co = np.zeros(TABLE_SIZE, dtype=bool)
        self.di = np.zeros(TABLE_SIZE, dtype=bool)
        self.lock = threading.Lock()
        self.on_write = on_write
        # Address ranges that exist; reading outside them is Modbus exception 02.
        self.valid: dict[str, np.ndarray] = {t: np.zeros(TABLE_SIZE, dtype=bool) for t in
                                             REGISTER_TABLES + BIT_TABLES}

    def table(self, name: str) -> np.ndarray:
        return getattr(self, name)

    def declare(self, table: str, address: int, count: int = 1) -> None:
        """Mark addresses as implemented by the device (reads elsewhere raise exception 02)."""
        self.valid[table][address : address + count] = True

    # --- writes by the device model -------------------------------------------------
    def set_registers(self, table: str, address: int, words: Sequence[int]) -> None:
        with self.lock:
            self.table(table)[address : address + len(words)] = words
            self.valid[table][address : address + len(words)] = True

    def set_value(self, table: str, address: int, type_name: str, value: float,
                  order: str = "ABCD", scale: float = 1.0, offset: float = 0.0) -> None:
        """Store engineering `value` as raw = (value - offset) / scale of `type_name`."""
        raw = (value - offset) / scale
        self.set_registers(table, address, encode(type_name, raw, order))

    def set_array(self, table: str, address: int, type_name: str, values: Sequence[float],
                  order: str = "ABCD", scale: float = 1.0, offset: float = 0.0) -> None:
        words: list[int] = []
        for v in values:
            words.extend(encode(type_name, (v - offset) / scale, order))
        self.set_registers(table, address, words)

    def set_string(self, table: str, address: int, text: str, registers: int) -> None:
        self.set_registers(table, address, encode_string(text, registers))

    def set_bit(self, table: str, address: int, value: bool) -> None:
        """A coil or discrete input."""
        with self.lock:
            self.table(table)[address] = bool(value)
            self.valid[table][address] = True

    def set_register_bit(self, table: str, address: int, bit: int, value: bool) -> None:
        """Bit `bit` (0 = least significant) of a 16-bit register."""
        with self.lock:
            word = int(self.table(table)[address])
            word = word | (1 << bit) if value else word & ~(1 << bit)
            self.table(table)[address] = word
            self.valid[table][address] = True

    # --- access by the Modbus server ------------------------------------------------
    def read(self, table: str, address: int, count: int) -> list[int] | None:
        """Values, or None when any address in the range is not implemented (exception 02)."""
        if address < 0 or count <= 0 or address + count > TABLE_SIZE:
            return None
        with self.lock:
            if not self.valid[table][address : address + count].all():
                return None
            return [int(v) for v in self.table(table)[address : address + count]]

    def write(self, table: str, address: int, values: Sequence[int]) -> bool:
        """A master's write to hr or co; False when an address is not implemented."""
        if table not in ("hr", "co") or address < 0 or address + len(values) > TABLE_SIZE:
            return False
        with self.lock:
            if not self.valid[table][address : address + len(values)].all():
                return False
            self.table(table)[address : address + len(values)] = values
        if self.on_write is not None:
            self.on_write(table, address, list(values))
        return True
