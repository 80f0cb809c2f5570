"""Tag-map CSV files: read, validate every row and every cross-row rule, write canonically.

Technicians write tag maps in Excel or LibreOffice, so the reader accepts what those save:
a UTF-8 BOM, Windows-1252/Latin-1 text, `;` as delimiter with a decimal comma (Spanish
locale), Excel's `sep=;` first line, stray spaces and empty trailing columns.  Every problem
of every file is collected (file:line:column, English and Spanish) before one
`ValidationError` is raised, so a technician fixes a whole map in one pass.  Checks of one
row are in daemons/core/tagmap/rows.py, rules between rows (duplicates, overlaps, shared roles) in
`_cross_check`; docs/tagmap-reference.md lists every message.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from daemons.core.problems import Problem, ValidationError
from daemons.core.tagmap.model import COLUMNS, REQUIRED_COLUMNS, TagDef, TagMap, TagMapContext
from daemons.core.tagmap.rows import RowReader, parse_row

_SEP_LINE = re.compile(r"sep=(.)[ \t]*(\r\n|\r|\n|$)")
_DELIMITERS = (",", ";", "\t")
_MAX_OVERLAPS_PER_ROW = 3


@dataclass
class _Row:
    """One data row while cross-checks run (mutable on purpose: cross-checks mark it bad)."""

    file: str
    order: int  # index of the file in the batch, for sorting problems
    line: int
    columns: Mapping[str, int]
    name: str | None  # a syntactically valid tag name, for the duplicate check
    tag: TagDef | None  # set when the register layout is valid, for the overlap check
    ok: bool  # no problem found in this row so far

    def col(self, name: str) -> int:
        return self.columns.get(name, 0)

    def where(self, other: _Row) -> tuple[str, str]:
        """How `self`'s message names `other`'s position, English and Spanish."""
        if other.file == self.file:
            return f"line {other.line}", f"línea {other.line}"
        return f"{other.file}:{other.line}", f"{other.file}:{other.line}"


@dataclass
class _Sheet:
    file: str
    rows: list[_Row]
    problems: list[Problem]


class _LineFeed:
    """Feeds physical lines to csv.reader, skipping blank and `#` lines between records.

    csv.reader only reports where a record *ends*; counting here gives where it starts,
    which is the line a technician must look at (a quoted description may span lines).
    """

    def __init__(self, text: str) -> None:
        self._lines = io.StringIO(text, newline="")
        self.line = 0
        self.start = 0
        self.at_start = True

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        while True:
            text = next(self._lines)
            self.line += 1
            if self.at_start:
                bare = text.strip()
                if not bare or bare.startswith("#"):
                    continue
                self.start = self.line
                self.at_start = False
            return text


def decode(raw: bytes) -> str:
    """Text of a tag-map file as Excel or LibreOffice may have saved it."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Excel on Windows saves "CSV" in the ANSI code page, 1252 in the Americas; it is
        # Latin-1 plus printable characters in 0x80-0x9F (dashes, curly quotes).
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _delimiter(text: str) -> tuple[str, str]:
    """(delimiter, text) from Excel's `sep=` line or the header line's most common one."""
    m = _SEP_LINE.match(text)
    if m:
        # Keep the line itself (now empty) so line numbers still match the file.
        return m[1], m[2] + text[m.end():]
    for line in io.StringIO(text, newline=""):
        bare = line.strip()
        if bare and not bare.startswith("#"):
            counts = [bare.count(d) for d in _DELIMITERS]
            return _DELIMITERS[counts.index(max(counts))], text
    return ",", text


def _records(text: str, delimiter: str, file: str,
             problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    feed = _LineFeed(text)
    # strict: a quote that is never closed is an error, not the rest of the file silently
    # read into one description.
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    while True:
        feed.at_start = True
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            if "end of data" in str(e):
                en = 'a quote (") opened in this record is never closed'
                es = 'una comilla (") abierta en este registro nunca se cierra'
            elif "expected after" in str(e):
                en = ('after a closing quote (") only the delimiter or the end of the line may '
                      'follow; write "" for a quote inside a field')
                es = ('tras una comilla de cierre (") solo puede venir el separador o el fin de '
                      'línea; escriba "" para una comilla dentro de un campo')
            else:
                en = f"this record cannot be read as CSV: {e}"
                es = f"este registro no se puede leer como CSV: {e}"
            problems.append(Problem(file, feed.start or feed.line, 0, en=en, es=es))
            continue
        if all(not f.strip() for f in fields) or fields[0].strip().startswith("#"):
            continue  # Excel saves blank and comment rows as ",,,," or '"# a, b",,'
        yield feed.start, fields


def _header(fields: list[str], file: str, line: int,
            problems: list[Problem]) -> tuple[dict[str, int], bool]:
    """Column name -> 1-based column, and whether every required column is present."""
    columns: dict[str, int] = {}
    known = ", ".join(COLUMNS)
    for i, raw in enumerate(fields, start=1):
        name = raw.strip().lower()
        if not name:
            continue  # empty trailing columns that spreadsheets add; values there are flagged
        if name in columns:
            problems.append(Problem(
                file, line, i,
                en=f"column '{name}' appears twice (first at column {columns[name]})",
                es=f"la columna '{name}' aparece dos veces (primero en la columna "
                   f"{columns[name]})"))
        elif name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1, cutoff=0.75)
            en_hint = f" (did you mean '{close[0]}'?)" if close else ""
            es_hint = f" (¿quiso decir '{close[0]}'?)" if close else ""
            problems.append(Problem(
                file, line, i,
                en=f"unknown column '{raw.strip()}'{en_hint}; known columns: {known}",
                es=f"columna desconocida '{raw.strip()}'{es_hint}; columnas conocidas: {known}"))
        else:
            columns[name] = i
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    for name in missing:
        problems.append(Problem(
            file, line, 0,
            en=f"required column '{name}' is missing from the header",
            es=f"falta la columna obligatoria '{name}' en el encabezado"))
    return columns, not missing


# --- rules between rows ---------------------------------------------------------------------

def _span(t: TagDef) -> str:
    if t.type == "bit":
        return f"{t.table} {t.address} bit {t.bit}"
    last = t.end_address - 1
    return f"{t.table} {t.address}" + (f"-{last}" if last != t.address else "")


def _duplicates(rows: Sequence[_Row], problems: list[Problem]) -> None:
    # Case-insensitive: OPC-UA browse names and HMI searches would confuse W1.THP and W1.thp.
    first: dict[str, _Row] = {}
    for row in rows:
        if row.name is None:
            continue
        prev = first.setdefault(row.name.casefold(), row)
        if prev is row:
            continue
        row.ok, row.tag = False, None  # out of the overlap check: it would repeat the news
        en_at, es_at = row.where(prev)
        if prev.name == row.name:
            en = f"duplicate tag '{row.name}' (first defined at {en_at})"
            es = f"etiqueta duplicada '{row.name}' (primera definición: {es_at})"
        else:
            en = f"tag '{row.name}' differs only in case from '{prev.name}' ({en_at})"
            es = (f"la etiqueta '{row.name}' solo difiere en mayúsculas de '{prev.name}' "
                  f"({es_at})")
        problems.append(Problem(row.file, row.line, row.col("tag"), en=en, es=es))


def _overlap(row: _Row, other: _Row, problems: list[Problem]) -> None:
    """Report on whichever of the two rows comes later in the files, naming the other."""
    if (other.order, other.line) > (row.order, row.line):
        row, other = other, row
    t, o = row.tag, other.tag
    assert t is not None and o is not None
    en_at, es_at = row.where(other)
    if t.type == o.type == "bit" and t.address == o.address:
        en = f"bit {t.bit} of {t.table} {t.address} is already used by '{o.name}' ({en_at})"
        es = f"el bit {t.bit} de {t.table} {t.address} ya lo usa '{o.name}' ({es_at})"
    else:
        en = (f"'{t.name}' ({_span(t)}) overlaps '{o.name}' ({_span(o)}, {en_at}) on device "
              f"'{t.device}' unit {t.unit}")
        es = (f"'{t.name}' ({_span(t)}) se solapa con '{o.name}' ({_span(o)}, {es_at}) en el "
              f"equipo '{t.device}' unidad {t.unit}")
    row.ok = False
    problems.append(Problem(row.file, row.line, row.col("address"), en=en, es=es))


def _overlaps(rows: Sequence[_Row], problems: list[Problem]) -> None:
    groups: dict[tuple[str, int, str], list[_Row]] = {}
    for row in rows:
        if row.tag is not None:
            groups.setdefault((row.tag.device, row.tag.unit, row.tag.table), []).append(row)
    for group in groups.values():
        # Sweep by start address, keeping the rows whose registers reach the current one;
        # every overlapping pair is met once.  Capped per row so one misplaced block of a
        # thousand tags gives a readable list, not a million lines.
        group.sort(key=lambda r: (r.tag.address, r.order, r.line))
        active: list[_Row] = []
        for row in group:
            t = row.tag
            active = [a for a in active if a.tag.end_address > t.address]
            found = 0
            for other in active:
                o = other.tag
                if t.type == o.type == "bit" and t.address == o.address and t.bit != o.bit:
                    continue  # different bits of one register: the one allowed sharing
                if found < _MAX_OVERLAPS_PER_ROW:
                    _overlap(row, other, problems)
                found += 1
            active.append(row)


def _shared_roles(rows: Sequence[_Row], problems: list[Problem]) -> None:
    # calcd finds its inputs by (well, role): two tags with one role would be a coin toss.
    first: dict[tuple[str | None, str], _Row] = {}
    for row in rows:
        t = row.tag
        if not row.ok or t is None or t.role is None:
            continue
        prev = first.setdefault((t.well, t.role), row)
        if prev is row:
            continue
        row.ok = False
        en_at, es_at = row.where(prev)
        owner_en = f"well {t.well}" if t.well else "the site"
        owner_es = f"del pozo {t.well}" if t.well else "del sitio"
        problems.append(Problem(
            row.file, row.line, row.col("role"),
            en=f"role '{t.role}' of {owner_en} is already given to '{prev.name}' ({en_at})",
            es=f"el rol '{t.role}' {owner_es} ya lo tiene '{prev.name}' ({es_at})"))


def _cross_check(rows: Sequence[_Row]) -> list[Problem]:
    problems: list[Problem] = []
    _duplicates(rows, problems)
    _shared_roles(rows, problems)  # before overlaps: a row they mark bad still holds its role
    _overlaps(rows, problems)
    return problems


# --- files ----------------------------------------------------------------------------------

def csv_records(data: bytes, file: str,
                problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of each record of a spreadsheet-saved CSV, with the tag maps'
    tolerance (encodings, `sep=`, `;`, comment and blank rows); for other CSV inputs such
    as the permission matrix (daemons/core/access/matrix.py)."""
    delimiter, text = _delimiter(decode(data))
    return _records(text, delimiter, file, problems)


def _read_sheet(data: bytes, file: str, order: int, ctx: TagMapContext) -> _Sheet:
    problems: list[Problem] = []
    rows: list[_Row] = []
    delimiter, text = _delimiter(decode(data))
    records = _records(text, delimiter, file, problems)
    first = next(records, None)
    if first is None:
        if not problems:
            problems.append(Problem(
                file, 0, 0, en="the file has no header row (it is empty)",
                es="el archivo no tiene fila de encabezado (está vacío)"))
        return _Sheet(file, rows, problems)
    header_line, header_fields = first
    columns, complete = _header(header_fields, file, header_line, problems)
    if not complete:
        return _Sheet(file, rows, problems)  # every row would repeat the same complaint
    width = len(header_fields)
    named = frozenset(columns.values())
    for line, fields in records:
        before = len(problems)
        for i, value in enumerate(fields, start=1):
            if value.strip() and i not in named and (i > width or not header_fields[i - 1]
                                                     .strip()):
                problems.append(Problem(
                    file, line, i,
                    en=f"value '{value.strip()}' is in a column without a name in the header",
                    es=f"el valor '{value.strip()}' está en una columna sin nombre en el "
                       "encabezado"))
                break
        reader = RowReader(file, line, columns, fields, delimiter != ",", problems)
        name, tag = parse_row(reader, ctx)
        rows.append(_Row(file, order, line, columns, name, tag, len(problems) == before))
    return _Sheet(file, rows, problems)


def _read_path(path: Path, order: int, ctx: TagMapContext) -> _Sheet:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        # The one boundary where the OS error becomes a technician's message.
        if isinstance(e, FileNotFoundError):
            en, es = "the file does not exist", "el archivo no existe"
        elif isinstance(e, IsADirectoryError):
            en, es = "this is a folder, not a file", "es una carpeta, no un archivo"
        elif isinstance(e, PermissionError):
            en, es = "permission denied", "permiso denegado"
        else:
            reason = e.strerror or type(e).__name__
            en, es = f"cannot read the file: {reason}", f"no se puede leer el archivo: {reason}"
        return _Sheet(str(path), [], [Problem(str(path), 0, 0, en=en, es=es)])
    return _read_sheet(data, str(path), order, ctx)


def _finish(sheets: Sequence[_Sheet]) -> tuple[list[TagDef], list[Problem]]:
    rows = [r for s in sheets for r in s.rows]
    problems = [p for s in sheets for p in s.problems] + _cross_check(rows)
    order: dict[str, int] = {}
    for i, s in enumerate(sheets):
        order.setdefault(s.file, i)
    # Stable: within one line, problems keep the order the checks found them.
    problems.sort(key=lambda p: (order.get(p.file, -1), p.line, p.column))
    tags = [r.tag for r in rows if r.ok and r.tag is not None]
    return tags, problems


def parse_tagmap_bytes(data: bytes, file: str,
                       ctx: TagMapContext) -> tuple[list[TagDef], list[Problem]]:
    """Like parse_tagmap_file for an upload held in memory; `file` names it in problems."""
    return _finish([_read_sheet(data, file, 0, ctx)])


def parse_tagmap_file(path: Path, ctx: TagMapContext) -> tuple[list[TagDef], list[Problem]]:
    """The valid tags of one file and every problem found in it (rows with problems left out)."""
    return _finish([_read_path(path, 0, ctx)])


def load_tagmaps(paths: Sequence[Path], ctx: TagMapContext, *, version: int = 0) -> TagMap:
    """One TagMap from several files; raises ValidationError with every problem of all files."""
    sheets = [_read_path(Path(p), i, ctx) for i, p in enumerate(paths)]
    tags, problems = _finish(sheets)
    if problems:
        raise ValidationError(problems)
    return TagMap(tuple(tags), version, tuple(str(p) for p in paths))


def _number(value: float | None, decimal_comma: bool) -> str:
    if value is None:
        return ""
    # Shortest text that reads back to the same float; integral values without ".0".
    text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return text.replace(".", ",") if decimal_comma else text


def tag_row(tag: TagDef, decimal_comma: bool = False) -> list[str]:
    """A TagDef as the canonical CSV fields, in COLUMNS order."""
    def num(v: float | None) -> str:
        return _number(v, decimal_comma)

    return [tag.name, tag.device, str(tag.unit), tag.table, str(tag.address), tag.type_spec,
            tag.order, num(tag.scale), num(tag.offset), tag.units, tag.scan, num(tag.deadband),
            tag.access, num(tag.min), num(tag.max), tag.well or "", tag.role or "",
            tag.description]


def write_tagmap_csv(tags: Iterable[TagDef], path_or_stream: Path | str | IO[str], *,
                     delimiter: str = ",", bom: bool = False) -> None:
    """Write tags as a canonical CSV: every column, defaults spelt out, units resolved.

    delimiter=';' writes a decimal comma, as a Spanish-locale spreadsheet expects; bom=True
    adds the UTF-8 BOM that makes Excel read accents correctly (files only).
    """
    if delimiter not in (",", ";"):
        raise ValueError(f"delimiter must be ',' or ';', not {delimiter!r}")

    def write(stream: IO[str]) -> None:
        out = csv.writer(stream, delimiter=delimiter, lineterminator="\n")
        out.writerow(COLUMNS)
        for t in tags:
            out.writerow(tag_row(t, decimal_comma=delimiter == ";"))

    if isinstance(path_or_stream, (str, Path)):
        encoding = "utf-8-sig" if bom else "utf-8"
        with open(path_or_stream, "w", encoding=encoding, newline="") as f:
            write(f)
    else:
        write(path_or_stream)
