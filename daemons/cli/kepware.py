"""Kepware tag exports -> wellgate tag-map rows (pure functions, no I/O).

KEPServerEX and Kepware Edge export a device's or tag group's tags as CSV: one heading
record, then one record per tag with `Tag Name, Address, Data Type, Respect Data Type,
Client Access, Scan Rate, Scaling, Raw Low, Raw High, Scaled Low, Scaled High, Scaled Data
Type, Clamp Low, Clamp High, Eng Units, Description, Negate Value` (columns may be missing
or reordered; `;` between fields when the server is set so).  Sources:
- the server's CSV import/export help (kepware.com, "CSV Import/Export"): Client Access
  RO/RW/WO, Scaling Linear/Square Root, Clamp Low/High as 1/0 flags that hold the value
  within Scaled Low/High, Scan Rate in milliseconds;
- the Modbus driver's "Modbus Addressing" help (support.ptc.com, Kepware drivers, MODBUS):
  the first digit is the table (0 output coils, 1 input coils, 3 internal = input
  registers, 4 holding registers), the rest the 1-based data item, padded to 5 or 6 digits
  (41, 40001 and 400001 are one address); `4xxxxx.bb` a bit; `4xxxxx.lH` / `.lL` a string
  of l bytes, high or low byte first; `[n]` and `[r][c]` arrays; an `H` prefix for
  hexadecimal data items; the device properties "Zero-Based Addressing" and "Zero-Based
  Bit Addressing" (both on by default: 400001 is wire address 0, bits count from 0).

A row is either converted exactly or skipped with its reason, never guessed.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from daemons.cli.kepware_address import (  # noqa: F401 - part of this module's API
    DATA_TYPES,
    TABLE_DIGITS,
    UNSUPPORTED_TYPES,
    AddressError,
    KepwareAddress,
    linear_scaling,
    nearest_scan,
    parse_address,
    sanitize_name,
    valid_prefix,
)
from daemons.core.problems import Problem, ValidationError
from daemons.core.tagmap import ADDRESS_SPACE, DeviceRef, TagDef
from daemons.core.tagmap.model import MAX_TAG_LENGTH, REGISTERS
from daemons.core.tagmap.parse import decode

COLUMNS = ("tagname", "address", "datatype", "respectdatatype", "clientaccess", "scanrate",
           "scaling", "rawlow", "rawhigh", "scaledlow", "scaledhigh", "scaleddatatype",
           "clamplow", "clamphigh", "engunits", "description", "negatevalue")
_SEP_LINE = re.compile(r"sep=(.)[ \t]*(\r\n|\r|\n|$)")


@dataclass(frozen=True, slots=True)
class ImportSettings:
    """What the command line adds to an export: where the tags live and how to name them."""

    device: DeviceRef
    unit: int
    scans: tuple[tuple[str, float], ...]  # (name, seconds), fastest first
    order: str = "ABCD"  # the Kepware device's word/byte order
    well: str | None = None
    prefix: str = ""
    zero_based: bool = True
    zero_based_bits: bool = True


@dataclass(frozen=True, slots=True)
class Finding:
    """A skipped row or a note: the Kepware row (physical line), the tag, why."""

    line: int
    tag: str
    en: str
    es: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Converted tags (TagDef.line = the Kepware row), skipped rows and notes."""

    tags: tuple[TagDef, ...]
    skipped: tuple[Finding, ...]
    notes: tuple[Finding, ...]
    rows: int


# --- reading the export ---------------------------------------------------------------------

def _key(name: str) -> str:
    return re.sub(r"[\s._]", "", name.strip().lower())


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, fields); blank records skipped, csv.Error propagates."""
    lines = io.StringIO(text, newline="")
    state = {"line": 0, "start": 0, "fresh": True}

    def feed() -> Iterator[str]:
        for physical in lines:
            state["line"] += 1
            if state["fresh"]:
                state["start"], state["fresh"] = state["line"], False
            yield physical

    for fields in csv.reader(feed(), delimiter=delimiter, strict=True):
        start, state["fresh"] = state["start"], True
        if any(f.strip() for f in fields):
            yield start, fields


def _split(data: bytes, file: str) -> tuple[str, int, list[str], list[tuple[int, list[str]]]]:
    """(delimiter, header line, header, records) of an export; ValidationError if unusable."""
    text = decode(data)
    m = _SEP_LINE.match(text)
    if m:  # Excel's `sep=;` line: keep its line break so line numbers still match
        delimiter, text = m[1], m[2] + text[m.end():]
    else:
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        counts = [first.count(d) for d in (",", ";", "\t")]
        delimiter = (",", ";", "\t")[counts.index(max(counts))]
    try:
        records = list(_records(text, delimiter))
    except csv.Error as exc:
        raise ValidationError([Problem(
            file, 0, 0, en=f"the file cannot be read as CSV: {exc}",
            es=f"el archivo no se puede leer como CSV: {exc}")]) from exc
    if not records:
        raise ValidationError([Problem(file, 0, 0, en="the file is empty",
                                       es="el archivo está vacío")])
    (line, header), rest = records[0], records[1:]
    keys = [_key(h) for h in header]
    missing = [name for name, k in (("Tag Name", "tagname"), ("Address", "address"))
               if k not in keys]
    if missing:
        raise ValidationError([Problem(
            file, line, 0,
            en=f"not a Kepware tag export: no '{col}' column in the header",
            es=f"no es una exportación de etiquetas de Kepware: falta la columna '{col}'")
            for col in missing])
    return delimiter, line, header, rest


# --- converting ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Row:
    """One Kepware record by column key."""

    line: int
    values: dict[str, str]
    decimal_comma: bool

    def text(self, key: str) -> str:
        return self.values.get(key, "").strip()

    def flag(self, key: str) -> bool:
        return self.text(key).lower() in ("1", "true", "yes", "on")

    def number(self, key: str) -> float | None:
        raw = self.text(key)
        if self.decimal_comma and "," in raw and "." not in raw:
            raw = raw.replace(",", ".")
        try:
            value = float(raw)
        except ValueError:
            return None
        return value if math.isfinite(value) else None


class _Skip(Exception):
    """A row that cannot be converted, and why (caught in convert_kepware)."""

    def __init__(self, en: str, es: str) -> None:
        super().__init__(en)
        self.en, self.es = en, es


def _swap_only(order: str) -> str:
    # A one-register value has no word order; only Kepware's byte order applies to it.
    return "BADC" if order in ("BADC", "DCBA") else "ABCD"


def _data_type(row: _Row, addr: KepwareAddress) -> tuple[str, bool]:
    """(our base type, declared as an array) of the Data Type column."""
    raw = row.text("datatype")
    key = " ".join(raw.lower().split())
    array = key.endswith("array")
    key = key.removesuffix("array").strip()
    if key in ("", "default"):  # Kepware's "Default": the natural type of the address
        if addr.bit is not None or addr.table in ("co", "di"):
            return "bool", array
        return ("string" if addr.string_bytes else "uint16"), array
    if key in UNSUPPORTED_TYPES:
        raise _Skip(*UNSUPPORTED_TYPES[key])
    if key not in DATA_TYPES:
        known = "Boolean, Short, Word, Long, DWord, LLong, QWord, Float, Double, String"
        raise _Skip(f"unknown Kepware Data Type '{raw}' (known: {known})",
                    f"tipo de dato de Kepware desconocido '{raw}' (conocidos: {known})")
    return DATA_TYPES[key], array


def _layout(row: _Row, addr: KepwareAddress, s: ImportSettings,
            note: list[tuple[str, str]]) -> tuple[str, int | None, int, int, str]:
    """(base type, bit, string registers, count, order) of a row, or _Skip."""
    base, array = _data_type(row, addr)
    shown = row.text("datatype") or "Default"
    if addr.table in ("co", "di"):
        if base != "bool":
            raise _Skip(f"Data Type {shown} on a coil or discrete input: they hold one bit "
                        "(Boolean)", f"tipo {shown} en una bobina o entrada discreta: "
                        "contienen un bit (Boolean)")
        if addr.dims:
            raise _Skip("arrays of coils or discrete inputs are not supported: define one "
                        "bool tag per bit", "no se admiten arreglos de bobinas o entradas "
                        "discretas: defina una etiqueta bool por bit")
        return "bool", None, 0, 1, "ABCD"
    if addr.bit is not None:
        if base != "bool":
            raise _Skip(f"Data Type {shown} on a bit address: a bit is Boolean",
                        f"tipo {shown} en una dirección de bit: un bit es Boolean")
        return "bit", addr.bit, 0, 1, _swap_only(s.order)
    if addr.string_bytes:
        if base != "string":
            raise _Skip(f"Data Type {shown} on a string address (.{addr.string_bytes}H/L)",
                        f"tipo {shown} en una dirección de cadena (.{addr.string_bytes}H/L)")
        registers = (addr.string_bytes + 1) // 2
        if addr.string_bytes % 2:
            note.append((f"{addr.string_bytes} bytes -> string:{registers} (whole registers; "
                         "the last byte is read too)",
                         f"{addr.string_bytes} bytes -> string:{registers} (registros "
                         "enteros; también se lee el último byte)"))
        if addr.low_byte_first:
            note.append(("string low byte first (.L) -> order BADC",
                         "cadena con el byte bajo primero (.L) -> orden BADC"))
        return "string", None, registers, 1, "BADC" if addr.low_byte_first else "ABCD"
    if base == "bool":
        raise _Skip("Boolean on a register needs a bit number, e.g. 400001.0",
                    "Boolean en un registro necesita un número de bit, p. ej. 400001.0")
    if base == "string":
        raise _Skip("String needs its length and byte order in the address, e.g. 400001.20H",
                    "String necesita la longitud y el orden de bytes en la dirección, p. ej. "
                    "400001.20H")
    if array and not addr.dims:
        raise _Skip(f"{shown} needs the element count in the address, e.g. 400001[10]",
                    f"{shown} necesita la cantidad de elementos en la dirección, p. ej. "
                    "400001[10]")
    count = math.prod(addr.dims)
    if len(addr.dims) == 2:
        rows, cols = addr.dims
        note.append((f"{rows}x{cols} array flattened row by row into {count} elements",
                     f"arreglo {rows}x{cols} aplanado fila a fila en {count} elementos"))
    elif addr.dims and not array:
        note.append((f"the address has [{count}]: read as an array of {count}",
                     f"la dirección tiene [{count}]: se lee como arreglo de {count}"))
    order = s.order if REGISTERS[base] > 1 else _swap_only(s.order)
    return base, None, 0, count, order


def _scaling(row: _Row, base: str,
             note: list[tuple[str, str]]) -> tuple[float, float, float | None, float | None]:
    """(scale, offset, min, max) from Kepware's scaling columns, or _Skip."""
    mode = row.text("scaling")
    key = mode.lower().replace(" ", "")
    if key in ("", "none"):
        return 1.0, 0.0, None, None
    if key == "squareroot":
        raise _Skip("Square Root scaling cannot be written as scale and offset; map this tag "
                    "by hand (raw value) and compute the root in a calculation",
                    "el escalado Square Root no se puede expresar como escala y offset; "
                    "mapee esta etiqueta a mano (valor crudo) y calcule la raíz aparte")
    if key != "linear":
        raise _Skip(f"unknown Scaling '{mode}' (known: None, Linear, Square Root)",
                    f"escalado desconocido '{mode}' (conocidos: None, Linear, Square Root)")
    if base in ("bool", "bit", "string"):
        note.append(("Linear scaling ignored: it means nothing for this type",
                     "escalado Linear ignorado: no tiene sentido para este tipo"))
        return 1.0, 0.0, None, None
    rl, rh, sl, sh = (row.number(k) for k in ("rawlow", "rawhigh", "scaledlow", "scaledhigh"))
    if rl is None or rh is None or sl is None or sh is None:
        raise _Skip("Linear scaling needs numbers in Raw Low, Raw High, Scaled Low and "
                    "Scaled High", "el escalado Linear necesita números en Raw Low, Raw "
                    "High, Scaled Low y Scaled High")
    if rl == rh or sl == sh:
        raise _Skip("Linear scaling with Raw Low = Raw High or Scaled Low = Scaled High "
                    "defines no scale", "un escalado Linear con Raw Low = Raw High o Scaled "
                    "Low = Scaled High no define escala")
    scale, offset = linear_scaling(rl, rh, sl, sh)
    lo = sl if row.flag("clamplow") else None
    hi = sh if row.flag("clamphigh") else None
    if (lo is not None or hi is not None) and sl > sh:
        note.append(("clamps dropped: Scaled Low is above Scaled High",
                     "límites descartados: Scaled Low es mayor que Scaled High"))
        lo = hi = None
    if row.flag("negatevalue"):
        # Kepware negates the scaled (and clamped) value: -(raw x k + b), range mirrored.
        scale, offset = -scale, -offset + 0.0
        lo, hi = (-hi if hi is not None else None), (-lo if lo is not None else None)
        note.append(("Negate Value: scale and offset negated",
                     "Negate Value: escala y offset con signo cambiado"))
    return scale, offset, lo, hi


def _access(row: _Row, table: str, note: list[tuple[str, str]]) -> str:
    raw = row.text("clientaccess")
    key = re.sub(r"[\s/_-]", "", raw.lower())
    if key in ("", "ro", "r", "readonly"):
        return "r"
    if key not in ("rw", "readwrite", "wo", "w", "writeonly"):
        raise _Skip(f"unknown Client Access '{raw}' (known: RO, RW, WO)",
                    f"Client Access desconocido '{raw}' (conocidos: RO, RW, WO)")
    if table in ("ir", "di"):
        note.append((f"Client Access {raw} on a read-only Modbus table -> r",
                     f"Client Access {raw} en una tabla Modbus de solo lectura -> r"))
        return "r"
    if key.startswith("w"):
        note.append(("Client Access WO (write only) -> rw: wellgate reads back what it writes",
                     "Client Access WO (solo escritura) -> rw: wellgate relee lo que escribe"))
    return "rw"


def _name(row: _Row, s: ImportSettings, note: list[tuple[str, str]]) -> str:
    raw = row.text("tagname")
    if not raw:
        raise _Skip("the Tag Name is empty", "el nombre de etiqueta (Tag Name) está vacío")
    clean = sanitize_name(raw)
    if not clean:
        raise _Skip("the Tag Name has no letters or digits to keep",
                    "el nombre de etiqueta no tiene letras ni dígitos utilizables")
    name = s.prefix + clean
    if clean != raw:
        note.append((f"renamed to {name}", f"renombrada a {name}"))
    if len(name) > MAX_TAG_LENGTH:
        raise _Skip(f"the name is {len(name)} characters long; at most {MAX_TAG_LENGTH}",
                    f"el nombre tiene {len(name)} caracteres; máximo {MAX_TAG_LENGTH}")
    return name


def _convert(row: _Row, s: ImportSettings, file: str,
             note: list[tuple[str, str]]) -> TagDef:
    name = _name(row, s, note)
    try:
        addr = parse_address(row.text("address"), zero_based=s.zero_based,
                             zero_based_bits=s.zero_based_bits)
    except AddressError as exc:
        raise _Skip(exc.en, exc.es) from exc
    base, bit, strings, count, order = _layout(row, addr, s, note)
    end = addr.address + (strings or REGISTERS[base]) * count
    if end > ADDRESS_SPACE:
        raise _Skip(f"the value runs past the last address {ADDRESS_SPACE - 1}",
                    f"el valor pasa de la última dirección {ADDRESS_SPACE - 1}")
    scale, offset, lo, hi = _scaling(row, base, note)
    access = _access(row, addr.table, note)
    return TagDef(name=name, device=s.device.name, unit=s.unit, table=addr.table,
                  address=addr.address, type=base, bit=bit, count=count,
                  string_registers=strings, order=order, scale=scale, offset=offset,
                  units=row.text("engunits"), scan="", access=access, min=lo, max=hi,
                  well=s.well, description=row.text("description"), file=file,
                  line=row.line)


def _span(t: TagDef) -> str:
    if t.type == "bit":
        return f"{t.table} {t.address} bit {t.bit}"
    last = t.end_address - 1
    return f"{t.table} {t.address}" + (f"-{last}" if last != t.address else "")


def _cross_check(tags: list[tuple[TagDef, str]], skipped: list[Finding]) -> list[TagDef]:
    """Drop later rows that reuse a name (ignoring case) or a register, as our tag maps do."""
    kept: list[TagDef] = []
    names: dict[str, tuple[TagDef, str]] = {}
    # (table, register) -> the tag using it whole, or {bit: tag} for bit:N tags.
    used: dict[tuple[str, int], TagDef | dict[int, TagDef]] = {}
    for t, raw in tags:
        prev = names.get(t.name.casefold())
        if prev is not None:
            p, p_raw = prev
            skipped.append(Finding(
                t.line, raw, f"the name {t.name} is already taken by row {p.line} ('{p_raw}')",
                f"el nombre {t.name} ya lo tiene la fila {p.line} ('{p_raw}')"))
            continue
        clash: TagDef | None = None
        for register in range(t.address, t.end_address):
            other = used.get((t.table, register))
            if isinstance(other, dict):
                clash = other.get(t.bit) if t.type == "bit" else next(iter(other.values()))
            else:
                clash = other
            if clash is not None:
                break
        if clash is not None:
            skipped.append(Finding(
                t.line, raw, f"{_span(t)} overlaps {clash.name} ({_span(clash)}, row "
                f"{clash.line}); wellgate maps each register once",
                f"{_span(t)} se solapa con {clash.name} ({_span(clash)}, fila {clash.line}); "
                "wellgate mapea cada registro una sola vez"))
            continue
        names[t.name.casefold()] = (t, raw)
        for register in range(t.address, t.end_address):
            if t.type == "bit":
                bits = used.setdefault((t.table, register), {})
                assert isinstance(bits, dict)
                bits[t.bit or 0] = t
            else:
                used[(t.table, register)] = t
        kept.append(t)
    return kept


def convert_kepware(data: bytes, file: str, settings: ImportSettings) -> ImportResult:
    """Every row of a Kepware export, converted or skipped with its reason.

    Raises ValidationError when the file as a whole is unusable (not CSV, empty, no Tag
    Name or Address column).
    """
    delimiter, header_line, header, records = _split(data, file)
    keys = [_key(h) for h in header]
    notes: list[Finding] = [
        Finding(header_line, "", f"column '{h.strip()}' is not a Kepware tag column; ignored",
                f"la columna '{h.strip()}' no es de etiquetas de Kepware; se ignora")
        for k, h in zip(keys, header, strict=True) if k and k not in COLUMNS]
    skipped: list[Finding] = []
    converted: list[tuple[TagDef, str, float | None]] = []  # tag, Kepware name, scan rate
    fastest = settings.scans[0] if settings.scans else ("", 1.0)
    for line, fields in records:
        values: dict[str, str] = {}
        for k, v in zip(keys, fields, strict=False):
            values.setdefault(k, v)  # a repeated column: the first one counts
        row = _Row(line, values, delimiter != ",")
        raw_name = row.text("tagname")
        said: list[tuple[str, str]] = []
        try:
            tag = _convert(row, settings, file, said)
        except _Skip as skip:  # its notes would only distract from the reason
            skipped.append(Finding(line, raw_name, skip.en, skip.es))
            continue
        notes.extend(Finding(line, raw_name, en, es) for en, es in said)
        rate = row.number("scanrate")
        scan = fastest
        if rate is not None and rate > 0 and settings.scans:
            scan = nearest_scan(rate, settings.scans)
        elif row.text("scanrate"):
            rate = None
            notes.append(Finding(
                line, raw_name, f"Scan Rate '{row.text('scanrate')}' is not a positive number "
                f"-> the fastest scan class {fastest[0]}", f"Scan Rate "
                f"'{row.text('scanrate')}' no es un número positivo -> la clase más rápida "
                f"{fastest[0]}"))
        converted.append((replace(tag, scan=scan[0]), raw_name, rate))
    kept = _cross_check([(t, raw) for t, raw, _ in converted], skipped)
    # One note per Kepware scan rate, over the rows that made it into the output.
    rates: dict[float, list] = {}  # rate -> [first row, rows, (class, seconds)]
    kept_rows = {t.line for t in kept}
    for t, _, rate in converted:
        if rate is not None and t.line in kept_rows:
            seconds = next(sec for name, sec in settings.scans if name == t.scan)
            rates.setdefault(rate, [t.line, 0, (t.scan, seconds)])[1] += 1
    for rate, (line, count, (name, seconds)) in rates.items():
        rows_en = f"{count} row" + ("s" if count != 1 else "")
        rows_es = f"{count} fila" + ("s" if count != 1 else "")
        notes.append(Finding(
            line, "", f"Scan Rate {rate:g} ms ({rows_en}) -> scan class {name} (every "
            f"{seconds:g} s), the nearest configured", f"Scan Rate {rate:g} ms ({rows_es}) -> "
            f"clase de escaneo {name} (cada {seconds:g} s), la más cercana configurada"))
    return ImportResult(tuple(kept), tuple(sorted(skipped, key=lambda f: f.line)),
                        tuple(sorted(notes, key=lambda f: f.line)), len(records))
