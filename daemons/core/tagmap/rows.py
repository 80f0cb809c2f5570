"""Checks of one tag-map row: each field parsed, defaulted and validated on its own.

Every check reports a `Problem` at the row's line and the offending field's column, with
the English and Spanish text side by side; the rules between rows (duplicate names,
overlapping registers, shared roles) are in daemons/core/tagmap/parse.py.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence

from daemons.core import roles
from daemons.core.problems import Problem
from daemons.core.tagmap.model import (
    ACCESS,
    ADDRESS_SPACE,
    BIT_TABLES,
    BITS_PER_REGISTER,
    INPUT_TABLES,
    MAX_TAG_LENGTH,
    ORDERS,
    REGISTER_TABLES,
    REGISTERS,
    RESERVED_PREFIX,
    TABLE_NAMES,
    TABLE_NAMES_ES,
    TABLES,
    TYPE_SYNTAX,
    DeviceRef,
    TagDef,
    TagMapContext,
    unit_range,
)

_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*$")
_TYPE = re.compile(r"^(?P<base>[a-z0-9_]+)(?::(?P<arg>[+-]?\d+))?(?:\[(?P<count>[+-]?\d+)\])?$")
_INT = re.compile(r"^[+-]?\d+$")
_HEX = re.compile(r"^0x[0-9a-f]+$", re.IGNORECASE)
_FLOAT = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$", re.IGNORECASE)


class RowReader:
    """The fields of one record by column name, and a place to report their problems."""

    def __init__(self, file: str, line: int, columns: Mapping[str, int], fields: list[str],
                 decimal_comma: bool, problems: list[Problem]) -> None:
        self.file, self.line, self.columns = file, line, columns
        self.fields, self.decimal_comma, self.problems = fields, decimal_comma, problems

    def col(self, name: str) -> int:
        return self.columns.get(name, 0)

    def text(self, name: str) -> str:
        i = self.columns.get(name, 0)
        return self.fields[i - 1].strip() if 0 < i <= len(self.fields) else ""

    def error(self, name: str, en: str, es: str) -> None:
        self.problems.append(Problem(self.file, self.line, self.col(name), en=en, es=es))

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            self.error(name, f"'{name}' is empty; it is required",
                       f"'{name}' está vacío; es obligatorio")
        return value

    def integer(self, name: str, lo: int, hi: int, why: tuple[str, str] = ("", "")) -> int | None:
        """A whole number (decimal, or hex as 0x1F) within lo..hi; None when blank or bad.

        `why` ends the out-of-range message, e.g. (" for modbus-rtu device 'pump1'", ...).
        """
        raw = self.text(name)
        if not raw:
            return None
        if _INT.match(raw):
            value = int(raw)
        elif _HEX.match(raw):
            value = int(raw, 16)
        else:
            self.error(name, f"{name} '{raw}' is not a whole number",
                       f"{name} '{raw}' no es un número entero")
            return None
        if not lo <= value <= hi:
            self.error(name, f"{name} {value} is out of range {lo}-{hi}{why[0]}",
                       f"{name} {value} está fuera del rango {lo}-{hi}{why[1]}")
            return None
        return value

    def number(self, name: str, default: float | None) -> float | None:
        """A decimal number (a decimal comma when the delimiter is ';'); default when blank.

        A bad value is reported and also returns the default: the row is rejected anyway,
        and the checks that compare numbers then see nothing to compare.
        """
        raw = self.text(name)
        if not raw:
            return default
        text = raw
        if self.decimal_comma and "," in raw and "." not in raw:
            text = raw.replace(",", ".")
        if not _FLOAT.match(text):
            hint_en = hint_es = ""
            if "," in raw:
                hint_en = " (no thousands separators; a decimal comma only with ';' files)"
                hint_es = (" (sin separador de miles; coma decimal solo en archivos "
                           "separados por ';')")
            self.error(name, f"{name} '{raw}' is not a number{hint_en}",
                       f"{name} '{raw}' no es un número{hint_es}")
            return default
        value = float(text)
        if not math.isfinite(value):
            self.error(name, f"{name} '{raw}' is too large", f"{name} '{raw}' es demasiado grande")
            return default
        return value


def _listing(names: Iterable[str], limit: int = 10) -> str:
    """'a, b, c, …' (a dash, the same in both languages, when there are none)."""
    items = list(names)
    more = ", …" if len(items) > limit else ""
    return (", ".join(items[:limit]) + more) if items else "—"


def _suggest(value: str, names: Iterable[str]) -> tuple[str, str]:
    """' (did you mean …?)' in English and Spanish, or empty strings."""
    close = difflib.get_close_matches(value, list(names), n=1, cutoff=0.6)
    if not close:
        return "", ""
    return f" (did you mean '{close[0]}'?)", f" (¿quiso decir '{close[0]}'?)"


def _resolve(value: str, names: Iterable[str]) -> str | None:
    """The configured name `value` refers to: exact, else the only case-insensitive match."""
    names = list(names)
    if value in names:
        return value
    folded = [n for n in names if n.casefold() == value.casefold()]
    return folded[0] if len(folded) == 1 else None


def _tag_name(r: RowReader) -> str | None:
    name = r.required("tag")
    if not name:
        return None
    if name.casefold().startswith(RESERVED_PREFIX):
        r.error("tag", f"tag '{name}': the prefix '{RESERVED_PREFIX}' is reserved for the "
                "health tags acqd generates",
                f"etiqueta '{name}': el prefijo '{RESERVED_PREFIX}' está reservado para las "
                "etiquetas de estado que genera acqd")
        return None
    if len(name) > MAX_TAG_LENGTH:
        r.error("tag", f"tag name is {len(name)} characters long; at most {MAX_TAG_LENGTH}",
                f"el nombre de la etiqueta tiene {len(name)} caracteres; máximo {MAX_TAG_LENGTH}")
        return None
    if not _TAG.match(name):
        r.error("tag", f"tag name '{name}' must start with a letter and use only letters, "
                "digits, '_' and single dots between parts (e.g. W101.THP)",
                f"el nombre de etiqueta '{name}' debe empezar con una letra y usar solo letras, "
                "dígitos, '_' y puntos simples entre partes (p. ej. W101.THP)")
        return None
    return name


def _device(r: RowReader, ctx: TagMapContext) -> DeviceRef | None:
    raw = r.required("device")
    if not raw:
        return None
    name = _resolve(raw, ctx.devices)
    if name is None:
        en, es = _suggest(raw, ctx.devices)
        known = _listing(ctx.devices)
        r.error("device", f"unknown device '{raw}'{en}; devices in the gateway config: {known}",
                f"equipo desconocido '{raw}'{es}; equipos en la configuración: {known}")
        return None
    return ctx.devices[name]


def _unit(r: RowReader, dev: DeviceRef | None) -> int | None:
    if r.text("unit"):
        if dev is None:
            return r.integer("unit", 0, 255)
        lo, hi = unit_range(dev.protocol)
        return r.integer("unit", lo, hi, (f" for {dev.protocol} device '{dev.name}'",
                                          f" para el equipo {dev.protocol} '{dev.name}'"))
    if dev is None:
        return None
    if dev.unit is None:
        column = "unit" if r.col("unit") else "device"
        r.error(column, f"unit is missing: device '{dev.name}' has no unit id in the gateway "
                "config, so each row must give one",
                f"falta la unidad: el equipo '{dev.name}' no tiene unit id en la "
                "configuración, así que cada fila debe indicarla")
    return dev.unit


def _table(r: RowReader) -> str | None:
    raw = r.required("table")
    table = raw.lower()
    if raw and table not in TABLES:
        en = ", ".join(f"{t} ({TABLE_NAMES[t]})" for t in TABLES)
        es = ", ".join(f"{t} ({TABLE_NAMES_ES[t]})" for t in TABLES)
        r.error("table", f"unknown table '{raw}'; valid tables: {en}",
                f"tabla desconocida '{raw}'; tablas válidas: {es}")
    return table if table in TABLES else None


def _type(r: RowReader, table: str | None) -> tuple[str, int | None, int, int] | None:
    """(base, bit, string registers, count) of the type column, checked against the table."""
    raw = r.required("type")
    if not raw:
        return None
    m = _TYPE.match(re.sub(r"\s+", "", raw).lower())
    if not m or m["base"] not in REGISTERS:
        valid = ", ".join(TYPE_SYNTAX)
        r.error("type", f"unknown type '{raw}'; valid types: {valid}; an array is TYPE[COUNT], "
                "e.g. int16[200]",
                f"tipo desconocido '{raw}'; tipos válidos: {valid}; un arreglo se escribe "
                "TIPO[CANTIDAD], p. ej. int16[200]")
        return None
    before = len(r.problems)
    base, arg = m["base"], m["arg"]
    count = int(m["count"]) if m["count"] is not None else 1
    bit, strings = None, 0
    if base == "bit":
        bit = int(arg) if arg is not None else None
        if bit is None or not 0 <= bit < BITS_PER_REGISTER:
            r.error("type", f"'{raw}': bit:N needs a bit number N from 0 to 15",
                    f"'{raw}': bit:N necesita un número de bit N de 0 a 15")
    elif base == "string":
        strings = int(arg) if arg is not None else 0
        if strings <= 0:
            r.error("type", f"'{raw}': the string length string:N must be at least 1 register",
                    f"'{raw}': la longitud string:N debe ser de al menos 1 registro")
    elif arg is not None:
        r.error("type", f"'{raw}': only bit:N and string:N take ':N'",
                f"'{raw}': solo bit:N y string:N llevan ':N'")
    if count <= 0:
        r.error("type", f"'{raw}': the array count must be at least 1",
                f"'{raw}': la cantidad del arreglo debe ser al menos 1")
    if len(r.problems) > before:
        return None
    total = (strings or REGISTERS[base]) * count
    if total > ADDRESS_SPACE:
        r.error("type", f"'{raw}' needs {total} addresses, more than a table has ({ADDRESS_SPACE})",
                f"'{raw}' necesita {total} direcciones, más de las que tiene una tabla "
                f"({ADDRESS_SPACE})")
    elif table in BIT_TABLES and base == "bit":
        r.error("type", f"bit:N selects a bit of a 16-bit register (hr, ir); table {table} "
                "holds single bits already: use bool",
                f"bit:N elige un bit de un registro de 16 bits (hr, ir); la tabla {table} ya "
                "contiene bits sueltos: use bool")
    elif table in BIT_TABLES and base != "bool":
        r.error("type", f"table {table} holds single bits: the type must be bool, not '{raw}'",
                f"la tabla {table} contiene bits sueltos: el tipo debe ser bool, no '{raw}'")
    elif table in BIT_TABLES and count > 1:
        r.error("type", f"arrays are not supported on bit tables (co, di): define one bool tag "
                f"per {TABLE_NAMES[table]}",
                "no se admiten arreglos en tablas de bits (co, di): defina una etiqueta bool "
                "por cada bit")
    elif table in REGISTER_TABLES and base == "bool":
        r.error("type", "bool is for coils and discrete inputs (co, di); for one bit of a "
                "register (hr, ir) use bit:N",
                "bool es para bobinas y entradas discretas (co, di); para un bit de un "
                "registro (hr, ir) use bit:N")
    elif base == "bit" and count > 1:
        r.error("type", "arrays of bit:N are not supported: define one tag per bit",
                "no se admiten arreglos de bit:N: defina una etiqueta por cada bit")
    if len(r.problems) > before:
        return None
    return base, bit, strings, count


def _choice(r: RowReader, name: str, valid: Sequence[str], default: str) -> str:
    raw = r.text(name)
    value = raw.upper() if name == "order" else raw.lower()
    if not raw:
        return default
    if value not in valid:
        r.error(name, f"unknown {name} '{raw}'; valid: {', '.join(valid)}",
                f"valor de {name} desconocido '{raw}'; válidos: {', '.join(valid)}")
        return default
    return value


def _scan(r: RowReader, ctx: TagMapContext) -> str:
    raw = r.text("scan")
    if not raw:
        if not ctx.scans:
            r.error("scan", "no scan class is configured in the gateway config",
                    "no hay clases de escaneo en la configuración")
            return ""
        return ctx.scans[0]  # the fastest
    scan = _resolve(raw, ctx.scans)
    if scan is None:
        en, es = _suggest(raw, ctx.scans)
        r.error("scan", f"unknown scan class '{raw}'{en}; scan classes: {_listing(ctx.scans)}",
                f"clase de escaneo desconocida '{raw}'{es}; clases: {_listing(ctx.scans)}")
        return raw
    return scan


def _well_role(r: RowReader, ctx: TagMapContext,
               count: int | None) -> tuple[str | None, str | None]:
    raw_well, raw_role = r.text("well"), r.text("role")
    well = _resolve(raw_well, ctx.wells) if raw_well else None
    if raw_well and well is None:
        en, es = _suggest(raw_well, ctx.wells)
        r.error("well", f"unknown well '{raw_well}'{en}; wells in the gateway config: "
                f"{_listing(ctx.wells)}",
                f"pozo desconocido '{raw_well}'{es}; pozos en la configuración: "
                f"{_listing(ctx.wells)}")
        return raw_well, raw_role.lower() or None
    if not raw_role:
        return well, None
    role = raw_role.lower()
    well_type = ctx.wells[well] if well else None
    found = roles.lookup(role, well_type)
    if found is None:
        valid = roles.valid_roles(well_type)
        near = difflib.get_close_matches(role, valid, n=3, cutoff=0.6)
        some = _listing([*near, *(v for v in valid if v not in near)], limit=8)
        if well_type is None:
            en = (f"role '{raw_role}' is not a site role (this tag has no well); site roles "
                  "include: ")
            es = (f"el rol '{raw_role}' no es un rol de sitio (esta etiqueta no tiene pozo); "
                  "roles de sitio: ")
        else:
            en = (f"role '{raw_role}' is not valid for well {well} (type {well_type}); valid "
                  "roles include: ")
            es = (f"el rol '{raw_role}' no es válido para el pozo {well} (tipo {well_type}); "
                  "roles válidos: ")
        r.error("role", en + some, es + some)
    elif count is not None and found.array != (count > 1):
        if found.array:
            r.error("role", f"role '{role}' ({found.en}) needs an array tag, e.g. float32[200]",
                    f"el rol '{role}' ({found.es}) necesita una etiqueta de tipo arreglo, "
                    "p. ej. float32[200]")
        else:
            r.error("role", f"role '{role}' ({found.en}) takes a single value, not an array",
                    f"el rol '{role}' ({found.es}) lleva un solo valor, no un arreglo")
    return well, role


def parse_row(r: RowReader, ctx: TagMapContext) -> tuple[str | None, TagDef | None]:
    """(valid tag name, definition) of one row; the definition is None unless its register
    layout is valid, and holds placeholders where other fields were reported bad."""
    name = _tag_name(r)
    dev = _device(r, ctx)
    unit = _unit(r, dev)
    table = _table(r)
    address = r.integer("address", 0, ADDRESS_SPACE - 1) if r.required("address") else None
    spec = _type(r, table)
    if address is not None and spec is not None:
        base, _, strings, count = spec
        end = address + (strings or REGISTERS[base]) * count
        if end > ADDRESS_SPACE:
            r.error("address", f"{r.text('type')} at address {address} runs past the last "
                    f"address {ADDRESS_SPACE - 1} (ends at {end - 1})",
                    f"{r.text('type')} en la dirección {address} pasa de la última dirección "
                    f"{ADDRESS_SPACE - 1} (termina en {end - 1})")
            address = None
    order = _choice(r, "order", ORDERS, "ABCD")
    scale = r.number("scale", 1.0)
    if scale == 0:
        r.error("scale", "scale must not be 0 (every value would read as the offset)",
                "la escala no puede ser 0 (todo valor se leería como el offset)")
    offset = r.number("offset", 0.0)
    deadband = r.number("deadband", 0.0)
    if deadband is not None and deadband < 0:
        r.error("deadband", f"deadband {r.text('deadband')} must be 0 or more",
                f"la banda muerta {r.text('deadband')} debe ser 0 o mayor")
    lo, hi = r.number("min", None), r.number("max", None)
    if lo is not None and hi is not None and lo >= hi:
        r.error("max", f"max {r.text('max')} must be greater than min {r.text('min')}",
                f"max {r.text('max')} debe ser mayor que min {r.text('min')}")
    scan = _scan(r, ctx)
    access = _choice(r, "access", ACCESS, "r")
    if access == "rw" and table in INPUT_TABLES:
        r.error("access", f"access rw on table {table}: {TABLE_NAMES[table]}s are read-only "
                "in Modbus (use hr or co to write)",
                f"acceso rw en la tabla {table}: esa tabla es de solo lectura en Modbus (use "
                "hr o co para escribir)")
    well, role = _well_role(r, ctx, spec[3] if spec else None)
    if dev is None or unit is None or table is None or address is None or spec is None:
        return name, None
    base, bit, strings, count = spec
    return name, TagDef(
        name=name or "", device=dev.name, unit=unit, table=table, address=address, type=base,
        bit=bit, count=count, string_registers=strings, order=order,
        scale=scale if scale else 1.0, offset=offset or 0.0, units=r.text("units"), scan=scan,
        deadband=deadband or 0.0, access=access, min=lo, max=hi, well=well, role=role,
        description=r.text("description"), file=r.file, line=r.line)
