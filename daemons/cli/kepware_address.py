"""Kepware's Modbus address notation, names and scaling, as pure functions.

See daemons/cli/kepware.py for the sources (the server's CSV help and the Modbus driver's
"Modbus Addressing" help): the first digit is the table, the rest the 1-based data item;
`.bb` a bit; `.lH` / `.lL` a string of l bytes; `[n]`, `[r][c]` arrays; an `H` prefix for
hexadecimal data items.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

from daemons.core.tagmap import ADDRESS_SPACE

TABLE_DIGITS = MappingProxyType({"0": "co", "1": "di", "3": "ir", "4": "hr"})
DATA_TYPES = MappingProxyType({
    "boolean": "bool", "short": "int16", "word": "uint16", "long": "int32",
    "dword": "uint32", "llong": "int64", "qword": "uint64", "float": "float32",
    "double": "float64", "string": "string",
})
# Kepware types our decoder has no equivalent for: (English, Spanish) reason.
UNSUPPORTED_TYPES = MappingProxyType({
    "bcd": ("BCD (binary-coded decimal) is not supported by wellgate tag maps",
            "BCD (decimal codificado en binario) no lo admiten los mapas de wellgate"),
    "lbcd": ("LBCD (32-bit binary-coded decimal) is not supported by wellgate tag maps",
             "LBCD (BCD de 32 bits) no lo admiten los mapas de wellgate"),
    "char": ("Char (one signed byte) is not supported: use a whole register (Short)",
             "Char (un byte con signo) no está admitido: use el registro entero (Short)"),
    "byte": ("Byte (one byte) is not supported: use a whole register (Word)",
             "Byte (un byte) no está admitido: use el registro entero (Word)"),
    "date": ("Date is not supported by wellgate tag maps",
             "Date no lo admiten los mapas de wellgate"),
})
# Kepware's CSV column names, as normalised by _key().
_DIMS = re.compile(r"((?:\[\s*\d+\s*\])+)$")
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*\.?$")


class AddressError(ValueError):
    """A Kepware address that does not parse, in English and Spanish."""

    def __init__(self, en: str, es: str) -> None:
        super().__init__(en)
        self.en, self.es = en, es


@dataclass(frozen=True, slots=True)
class KepwareAddress:
    """A parsed Kepware Modbus address: our table and 0-based wire address."""

    table: str
    address: int
    bit: int | None = None  # 0 = least significant
    string_bytes: int = 0  # > 0 for `.lH` / `.lL`
    low_byte_first: bool = False  # `.lL`
    dims: tuple[int, ...] = ()  # () scalar, (n,) or (rows, cols)


def parse_address(text: str, *, zero_based: bool = True,
                  zero_based_bits: bool = True) -> KepwareAddress:
    """`400001`, `40001.5`, `H40000A`, `400001.20H`, `400001[10]`, `300001[2][5]` -> parts."""
    raw = text.strip()
    s = raw.upper()
    if not s:
        raise AddressError("the Address is empty", "la dirección (Address) está vacía")
    dims: tuple[int, ...] = ()
    m = _DIMS.search(s)
    if m:
        dims = tuple(int(d) for d in re.findall(r"\d+", m[1]))
        s = s[: m.start()]
    base, dot, suffix = s.partition(".")
    hexa = base.startswith("H")
    digits = base[1:] if hexa else base
    example = ("expected e.g. 400001, 400001.5, 400001.20H or 400001[10]",
               "se esperaba p. ej. 400001, 400001.5, 400001.20H o 400001[10]")
    valid = "0123456789ABCDEF" if hexa else "0123456789"
    if len(digits) < 2 or len(digits) > 7 or any(c not in valid for c in digits) or (
            dot and not suffix) or "[" in s or "]" in s:
        raise AddressError(f"'{raw}' is not a Kepware Modbus address ({example[0]})",
                           f"'{raw}' no es una dirección Modbus de Kepware ({example[1]})")
    table = TABLE_DIGITS.get(digits[0])
    if table is None:
        raise AddressError(
            f"'{raw}': the first digit {digits[0]} is not a Modbus table (0 coils, 1 discrete "
            "inputs, 3 input registers, 4 holding registers)",
            f"'{raw}': el primer dígito {digits[0]} no es una tabla Modbus (0 bobinas, 1 "
            "entradas discretas, 3 registros de entrada, 4 registros de retención)")
    item = int(digits[1:], 16 if hexa else 10)
    first = 1 if zero_based else 0  # Kepware subtracts 1 unless the device says otherwise
    if not first <= item < ADDRESS_SPACE + first:
        raise AddressError(
            f"'{raw}': data item {item} is outside {first}-{ADDRESS_SPACE - 1 + first}",
            f"'{raw}': el dato {item} está fuera de {first}-{ADDRESS_SPACE - 1 + first}")
    address = item - first
    bit, strlen, low = None, 0, False
    if suffix:
        if table in ("co", "di"):
            raise AddressError(f"'{raw}': a coil or discrete input has no bits or strings",
                               f"'{raw}': una bobina o entrada discreta no tiene bits ni "
                               "cadenas")
        if len(suffix) >= 2 and suffix[-1] in "HLDE" and suffix[:-1].isdigit():
            if suffix[-1] in "DE":
                raise AddressError(
                    f"'{raw}': strings of one character per register (.{suffix}) are not "
                    "supported; wellgate strings hold two characters per register",
                    f"'{raw}': las cadenas de un carácter por registro (.{suffix}) no están "
                    "admitidas; las cadenas de wellgate llevan dos caracteres por registro")
            strlen, low = int(suffix[:-1]), suffix[-1] == "L"
            if strlen < 1:
                raise AddressError(f"'{raw}': a string needs at least 1 byte",
                                   f"'{raw}': una cadena necesita al menos 1 byte")
        elif all(c in valid for c in suffix):
            bit = int(suffix, 16 if hexa else 10) - (0 if zero_based_bits else 1)
            if not 0 <= bit <= 15:
                lo = 0 if zero_based_bits else 1
                raise AddressError(f"'{raw}': bit {suffix} is outside {lo}-{lo + 15}",
                                   f"'{raw}': el bit {suffix} está fuera de {lo}-{lo + 15}")
        else:
            raise AddressError(f"'{raw}': '.{suffix}' is neither a bit nor a string length "
                               f"({example[0]})",
                               f"'{raw}': '.{suffix}' no es un bit ni una longitud de cadena "
                               f"({example[1]})")
    if dims and (bit is not None or strlen):
        raise AddressError(f"'{raw}': Kepware has no arrays of bits or strings",
                           f"'{raw}': Kepware no tiene arreglos de bits ni de cadenas")
    if len(dims) > 2 or any(d < 1 for d in dims):
        raise AddressError(f"'{raw}': an array is [count] or [rows][columns], each at least 1",
                           f"'{raw}': un arreglo es [cantidad] o [filas][columnas], cada uno "
                           "al menos 1")
    return KepwareAddress(table, address, bit, strlen, low, dims)


def sanitize_name(name: str) -> str:
    """A Kepware tag name made valid for a tag map ('' when nothing usable is left).

    Accents are dropped (á -> a), each run of other characters becomes one '_', dots
    between groups are kept, and a name that would not start with a letter gets 'T_'.
    """
    ascii_name = "".join(c for c in unicodedata.normalize("NFKD", name)
                         if not unicodedata.combining(c)).encode("ascii", "ignore").decode()
    parts = []
    for part in ascii_name.split("."):
        tokens = re.split(r"[^A-Za-z0-9_]+", part.strip())
        cleaned = "_".join(t for t in tokens if t)
        if cleaned:
            parts.append(cleaned)
    text = ".".join(parts)
    if text and not text[0].isalpha():
        text = ("T" if text.startswith("_") else "T_") + text
    return text


def valid_prefix(prefix: str) -> bool:
    """Whether `--prefix` can start a tag name ('W101.', 'SEP1_', '')."""
    return not prefix or bool(_PREFIX.match(prefix))


def linear_scaling(raw_low: float, raw_high: float, scaled_low: float,
                   scaled_high: float) -> tuple[float, float]:
    """(scale, offset) with value = raw x scale + offset through both Kepware points.

    The straight line through (RL, SL) and (RH, SH): scale = (SH - SL) / (RH - RL),
    offset = SL - RL x scale (Kepware help, "Tag Properties - Scaling", Linear).
    """
    scale = (scaled_high - scaled_low) / (raw_high - raw_low)
    offset = scaled_low - raw_low * scale
    return scale, offset + 0.0  # + 0.0 turns -0.0 into 0.0


def nearest_scan(rate_ms: float, scans: Sequence[tuple[str, float]]) -> tuple[str, float]:
    """The scan class (name, seconds) nearest to a Kepware scan rate.

    Nearest by ratio, not by difference: 4 s goes to 10 s (2.5 times slower) rather than to
    1 s (4 times faster).  A tie goes to the faster class: a value read too often costs
    less than one read too late.
    """
    seconds = max(rate_ms, 1.0) / 1000.0
    return min(scans, key=lambda s: (abs(math.log(s[1] / seconds)), s[1]))
