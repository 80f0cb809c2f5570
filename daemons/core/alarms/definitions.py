"""Alarm definition files: CSV rows validated into frozen `AlarmDef`s.

The files are read with the tag maps' own CSV reader (`csv_records`: encodings, `sep=`,
`;` with a decimal comma, comment rows) and checked with their `RowReader`, so a
technician gets the same file:line:column messages in Spanish and English.  Installed
versions and rollback use daemons/core/tagmap/store.py on the alarm directory.
docs/alarms.md documents every column.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from daemons.core.alarms.condition import ConditionError, Node, condition_tags, parse_condition
from daemons.core.config.model import ALARM_PRIORITIES
from daemons.core.problems import Problem, ValidationError
from daemons.core.tagmap.parse import csv_records
from daemons.core.tagmap.rows import RowReader

COLUMNS = ("tag", "type", "limit", "priority", "deadband", "on_delay", "off_delay",
           "message_es", "message_en", "suppress_when", "group", "description")
REQUIRED_COLUMNS = ("tag", "type", "priority")
TYPES = ("hihi", "hi", "lo", "lolo", "deviation", "roc", "state", "quality", "event")
LIMIT_TYPES = ("hihi", "hi", "lo", "lolo")  # a number, or a set-point tag
PRIORITIES = ALARM_PRIORITIES
MAX_DELAY_S = 86_400.0
ALARM_DIR_NAME = "alarms"  # next to the tag-map directory: /etc/wellgate/alarms

_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*$")
_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DEVIATION = re.compile(r"^(?P<tag>[A-Za-z][A-Za-z0-9_.]*)\s*(?:\+-|±|\+/-)\s*(?P<band>\S+)$")


@dataclass(frozen=True, slots=True)
class AlarmDef:
    """One alarm: `id` is `TAG:type`, stable across reloads so state survives them."""

    tag: str
    type: str
    priority: str
    limit: float | None = None  # the number (hi…lolo, roc per minute, state value, event)
    limit_tag: str | None = None  # a set-point tag instead of a number (hi…lolo, deviation)
    band: float | None = None  # deviation: allowed distance from the set point
    deadband: float = 0.0
    on_delay: float = 0.0
    off_delay: float = 0.0
    message_es: str = ""
    message_en: str = ""
    suppress_when: str = ""
    condition: Node | None = None
    group: str = ""
    description: str = ""
    file: str = ""
    line: int = 0

    @property
    def id(self) -> str:
        return f"{self.tag}:{self.type}"

    @property
    def well(self) -> str:
        """The tag's first part (W101 of W101.THP); the site's tags have their own."""
        return self.tag.split(".", 1)[0]

    def inputs(self) -> tuple[str, ...]:
        """Every tag this alarm reads."""
        extra = (self.limit_tag,) if self.limit_tag else ()
        return (self.tag, *extra, *condition_tags(self.condition))

    def message(self, lang: str) -> str:
        text = self.message_es if lang == "es" else self.message_en
        return text or self.message_en or self.message_es or f"{self.tag} {self.type}"

    def same_definition(self, other: AlarmDef) -> bool:
        """Equal apart from where it was written (a moved row keeps its state)."""
        return all(getattr(self, f) == getattr(other, f) for f in _COMPARED)


_COMPARED = tuple(f for f in AlarmDef.__dataclass_fields__ if f not in ("file", "line"))


@dataclass(frozen=True, slots=True)
class AlarmSet:
    alarms: tuple[AlarmDef, ...]
    version: int = 0
    files: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.alarms)

    def by_id(self) -> dict[str, AlarmDef]:
        return {a.id: a for a in self.alarms}


KnownTag = Callable[[str], bool]


def alarm_dir(tagmap_dir: Path) -> Path:
    """Where alarm files are installed: beside the tag maps (both are site configuration)."""
    return tagmap_dir.parent / ALARM_DIR_NAME


def _header(fields: list[str], file: str, line: int,
            problems: list[Problem]) -> dict[str, int] | None:
    columns: dict[str, int] = {}
    for i, raw in enumerate(fields, start=1):
        name = raw.strip().lower()
        if not name:
            continue
        if name in columns:
            problems.append(Problem(file, line, i, en=f"column '{name}' appears twice",
                                    es=f"la columna '{name}' aparece dos veces"))
        elif name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1, cutoff=0.75)
            hint_en = f" (did you mean '{close[0]}'?)" if close else ""
            hint_es = f" (¿quiso decir '{close[0]}'?)" if close else ""
            known = ", ".join(COLUMNS)
            problems.append(Problem(
                file, line, i, en=f"unknown column '{raw.strip()}'{hint_en}; known: {known}",
                es=f"columna desconocida '{raw.strip()}'{hint_es}; conocidas: {known}"))
        else:
            columns[name] = i
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    for name in missing:
        problems.append(Problem(file, line, 0,
                                en=f"required column '{name}' is missing from the header",
                                es=f"falta la columna obligatoria '{name}' en el encabezado"))
    return None if missing else columns


def _choice(r: RowReader, name: str, choices: Sequence[str]) -> str | None:
    value = r.required(name).lower()
    if not value:
        return None
    if value not in choices:
        listing = ", ".join(choices)
        r.error(name, f"{name} '{value}' is not one of: {listing}",
                f"{name} '{value}' no es uno de: {listing}")
        return None
    return value


def _tag(r: RowReader, name: str, value: str, known: KnownTag | None) -> bool:
    if not _TAG.match(value):
        r.error(name, f"'{value}' is not a tag name (letters, digits, '_' and dots, "
                "e.g. W101.THP)", f"'{value}' no es un nombre de etiqueta (letras, dígitos, "
                "'_' y puntos, p. ej. W101.THP)")
        return False
    if known is not None and not known(value):
        r.error(name, f"tag '{value}' is neither in the installed tag maps nor a calculated "
                "tag (<WELL>.CALC.<NAME> of a configured well)",
                f"la etiqueta '{value}' no está en los mapas instalados ni es una etiqueta "
                "calculada (<POZO>.CALC.<NOMBRE> de un pozo configurado)")
        return False
    return True


def _non_negative(r: RowReader, name: str, top: float | None = None) -> float:
    value = r.number(name, 0.0) or 0.0
    if value < 0 or (top is not None and value > top):
        top_en, top_es = (f" and at most {top:g}", f" y como máximo {top:g}") if top else ("", "")
        r.error(name, f"{name} {value:g} must not be negative{top_en}",
                f"{name} {value:g} no puede ser negativo{top_es}")
        return 0.0
    return value


def _limit(r: RowReader, kind: str, known: KnownTag | None
           ) -> tuple[float | None, str | None, float | None]:
    """(number, set-point tag, deviation band) as the type requires."""
    raw = r.text("limit")
    if kind == "deviation":
        m = _DEVIATION.match(raw)
        if not m:
            r.error("limit", f"a deviation limit is 'SETPOINT_TAG +- BAND' (e.g. "
                    f"W103.INJ_SETPOINT +- 50), not '{raw}'",
                    f"el límite de desviación es 'ETIQUETA_CONSIGNA +- BANDA' (p. ej. "
                    f"W103.INJ_SETPOINT +- 50), no '{raw}'")
            return None, None, None
        _tag(r, "limit", m["tag"], known)
        text = m["band"].replace(",", ".") if r.decimal_comma else m["band"]
        try:
            band: float | None = float(text)
        except ValueError:
            band = None
            r.error("limit", f"deviation band '{m['band']}' is not a number",
                    f"la banda de desviación '{m['band']}' no es un número")
        if band is not None and not band > 0:
            r.error("limit", "the deviation band must be above 0",
                    "la banda de desviación debe ser mayor que 0")
        return None, m["tag"], band
    if kind == "quality":
        if raw:
            r.error("limit", "a quality alarm takes no limit (on_delay is how long the "
                    "tag may stay Bad)", "una alarma de calidad no lleva límite (on_delay es "
                    "cuánto tiempo puede estar la etiqueta en Bad)")
        return None, None, None
    if kind == "event":
        return r.number("limit", None), None, None
    if not raw:
        r.error("limit", f"a {kind} alarm needs a limit", f"una alarma {kind} necesita límite")
        return None, None, None
    if kind in LIMIT_TYPES and raw[0].isalpha():
        return None, raw if _tag(r, "limit", raw, known) else None, None
    value = r.number("limit", None)
    if kind == "roc" and value is not None and value <= 0:
        r.error("limit", "a rate-of-change limit (units per minute) must be above 0",
                "el límite de tasa de cambio (unidades por minuto) debe ser mayor que 0")
    return value, None, None


def _row(r: RowReader, known: KnownTag | None) -> AlarmDef | None:
    before = len(r.problems)
    tag = r.required("tag")
    if tag:
        _tag(r, "tag", tag, known)
    kind = _choice(r, "type", TYPES)
    priority = _choice(r, "priority", PRIORITIES)
    number, limit_tag, band = _limit(r, kind, known) if kind else (None, None, None)
    deadband = _non_negative(r, "deadband")
    on_delay = _non_negative(r, "on_delay", MAX_DELAY_S)
    off_delay = _non_negative(r, "off_delay", MAX_DELAY_S)
    text = r.text("suppress_when")
    condition = None
    try:
        condition = parse_condition(text)
    except ConditionError as e:
        r.error("suppress_when", f"suppress_when, at character {e.position + 1}: {e.en}",
                f"suppress_when, en el carácter {e.position + 1}: {e.es}")
    for t in condition_tags(condition):
        _tag(r, "suppress_when", t, known)
    group = r.text("group")
    if group and not _GROUP.match(group):
        r.error("group", f"group '{group}' may use letters, digits, '_', '.' and '-'",
                f"el grupo '{group}' solo admite letras, dígitos, '_', '.' y '-'")
    if len(r.problems) != before or not tag or kind is None or priority is None:
        return None
    return AlarmDef(tag, kind, priority, number, limit_tag, band, deadband, on_delay,
                    off_delay, r.text("message_es"), r.text("message_en"), text, condition,
                    group, r.text("description"), r.file, r.line)


def _read(path: Path, known: KnownTag | None) -> tuple[list[AlarmDef], list[Problem]]:
    problems: list[Problem] = []
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        en, es = ("the file does not exist", "el archivo no existe") \
            if isinstance(e, FileNotFoundError) else \
            (f"cannot read the file: {e.strerror}", f"no se puede leer el archivo: {e.strerror}")
        return [], [Problem(file, 0, 0, en=en, es=es)]
    delimiter_comma = b";" in data.split(b"\n", 1)[0]
    records = csv_records(data, file, problems)
    first = next(records, None)
    if first is None:
        problems.append(Problem(file, 0, 0, en="the file has no header row (it is empty)",
                                es="el archivo no tiene fila de encabezado (está vacío)"))
        return [], problems
    columns = _header(first[1], file, first[0], problems)
    if columns is None:
        return [], problems
    alarms = []
    for line, fields in records:
        found = _row(RowReader(file, line, columns, fields, delimiter_comma, problems), known)
        if found is not None:
            alarms.append(found)
    return alarms, problems


def _duplicates(alarms: list[AlarmDef]) -> tuple[list[AlarmDef], list[Problem]]:
    first: dict[str, AlarmDef] = {}
    problems: list[Problem] = []
    kept = []
    for a in alarms:
        prev = first.setdefault(a.id.casefold(), a)
        if prev is a:
            kept.append(a)
            continue
        where = f"line {prev.line}" if prev.file == a.file else f"{prev.file}:{prev.line}"
        where_es = f"línea {prev.line}" if prev.file == a.file else f"{prev.file}:{prev.line}"
        problems.append(Problem(a.file, a.line, 1,
                                en=f"alarm {a.id} is defined twice (first at {where})",
                                es=f"la alarma {a.id} está definida dos veces (primera: "
                                   f"{where_es})"))
    return kept, problems


def parse_alarm_files(paths: Sequence[Path], known: KnownTag | None = None
                      ) -> tuple[list[AlarmDef], list[Problem]]:
    """The valid alarms of every file and every problem found (bad rows left out)."""
    alarms: list[AlarmDef] = []
    problems: list[Problem] = []
    for p in paths:
        found, probs = _read(Path(p), known)
        alarms += found
        problems += probs
    alarms, dup = _duplicates(alarms)
    order = {str(p): i for i, p in enumerate(paths)}
    problems = sorted(problems + dup, key=lambda p: (order.get(p.file, -1), p.line, p.column))
    return alarms, problems


def load_alarms(paths: Sequence[Path], known: KnownTag | None = None, *,
                version: int = 0) -> AlarmSet:
    """One AlarmSet from several files; raises ValidationError with every problem."""
    alarms, problems = parse_alarm_files(paths, known)
    if problems:
        raise ValidationError(problems)
    return AlarmSet(tuple(alarms), version, tuple(str(p) for p in paths))
