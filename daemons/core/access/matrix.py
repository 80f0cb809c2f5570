"""The permission matrix as data: module × operation → allowed roles, from CSV files.

The shipped file (config/permissions.csv) holds every row; a site file named by
`[access] permissions` holds only the rows it changes, each replacing the shipped row
whole.  Both are read with the tag maps' CSV reader (Excel and LibreOffice files, `;`,
comment rows) and every problem is reported as file:line:column in both languages.

    module,operation,field_operator,production_engineer,…,contractor
    production,write,x,x,,,x,,,

A cell is `x` (also yes, sí, si, 1, true) for allowed, empty (also -, no, 0, false) for
not.  `render_markdown` prints the same data as the table of docs/access.md.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from daemons.core.access.model import MODULES, OPERATIONS, ROLES, role_mask
from daemons.core.problems import Problem, ValidationError
from daemons.core.tagmap.parse import csv_records

# config/permissions.csv is the shipped matrix; the package carries it too (a link in the
# source tree, a copy in a wheel), so an installed wellgate finds it beside this module.
_BESIDE = Path(__file__).with_name("permissions.csv")
SHIPPED = (_BESIDE if _BESIDE.is_file()
           else Path(__file__).resolve().parents[3] / "config" / "permissions.csv")
HEADER = ("module", "operation", *ROLES)
_YES = frozenset({"x", "yes", "sí", "si", "1", "true", "y", "s"})
_NO = frozenset({"", "-", "no", "0", "false", "n"})

Key = tuple[str, str]  # (module, operation)


@dataclass(frozen=True)
class Matrix:
    """Allowed roles per (module, operation); `masks` holds the same as role bit masks."""

    allowed: Mapping[Key, frozenset[str]]
    sources: tuple[str, ...] = ()  # the files it was read from, shipped first
    masks: Mapping[Key, int] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "masks", MappingProxyType(
            {k: role_mask(v) for k, v in self.allowed.items()}))

    @staticmethod
    def closed() -> Matrix:
        """Nobody but the system may do anything: what a daemon uses when the site's file
        is invalid at start (failing closed, not open)."""
        return Matrix(MappingProxyType({(m, o): frozenset() for m in MODULES
                                        for o in OPERATIONS}), ("<closed>",))

    def roles_for(self, module: str, operation: str) -> frozenset[str]:
        return self.allowed.get((module, operation), frozenset())


def _problem(file: str, line: int, col: int, en: str, es: str) -> Problem:
    return Problem(file, line, col, en=en, es=es)


def _hint(word: str, choices: tuple[str, ...] | list[str]) -> tuple[str, str]:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.7)
    return ((f" (did you mean '{close[0]}'?)", f" (¿quiso decir '{close[0]}'?)") if close
            else ("", ""))


def _header(fields: list[str], file: str, line: int,
            problems: list[Problem]) -> dict[str, int] | None:
    columns: dict[str, int] = {}
    for i, raw in enumerate(fields):
        name = raw.strip().lower()
        if not name:
            continue
        if name in columns:
            problems.append(_problem(file, line, i + 1,
                                     f"column '{name}' appears twice",
                                     f"la columna '{name}' aparece dos veces"))
        elif name not in HEADER:
            en, es = _hint(name, HEADER)
            problems.append(_problem(
                file, line, i + 1,
                f"unknown column '{raw.strip()}'{en}; the columns are module, operation and "
                "one per role: " + ", ".join(ROLES),
                f"columna desconocida '{raw.strip()}'{es}; las columnas son module, operation "
                "y una por rol: " + ", ".join(ROLES)))
        else:
            columns[name] = i
    missing = [c for c in HEADER if c not in columns]
    for name in missing:
        problems.append(_problem(file, line, 0,
                                 f"required column '{name}' is missing from the header",
                                 f"falta la columna obligatoria '{name}' en el encabezado"))
    return None if missing else columns


def _cell(fields: list[str], i: int) -> str:
    return fields[i].strip() if i < len(fields) else ""


def parse_matrix_bytes(data: bytes, file: str) -> tuple[dict[Key, frozenset[str]],
                                                        dict[Key, int], list[Problem]]:
    """Rows of one file: {(module, operation): roles}, the line of each, and problems."""
    problems: list[Problem] = []
    rows: dict[Key, frozenset[str]] = {}
    lines: dict[Key, int] = {}
    records = csv_records(data, file, problems)
    first = next(records, None)
    if first is None:
        if not problems:
            problems.append(_problem(file, 0, 0, "the file has no header row (it is empty)",
                                     "el archivo no tiene fila de encabezado (está vacío)"))
        return rows, lines, problems
    columns = _header(first[1], file, first[0], problems)
    if columns is None:
        return rows, lines, problems
    width = max(columns.values()) + 1
    for line, fields in records:
        module = _cell(fields, columns["module"]).lower()
        operation = _cell(fields, columns["operation"]).lower()
        ok = True
        if module not in MODULES:
            en, es = _hint(module, list(MODULES))
            problems.append(_problem(
                file, line, columns["module"] + 1,
                f"unknown module '{module}'{en}; modules: {', '.join(MODULES)}",
                f"módulo desconocido '{module}'{es}; módulos: {', '.join(MODULES)}"))
            ok = False
        if operation not in OPERATIONS:
            en, es = _hint(operation, list(OPERATIONS))
            problems.append(_problem(
                file, line, columns["operation"] + 1,
                f"unknown operation '{operation}'{en}; operations: {', '.join(OPERATIONS)}",
                f"operación desconocida '{operation}'{es}; operaciones: "
                f"{', '.join(OPERATIONS)}"))
            ok = False
        allowed = set()
        for role in ROLES:
            value = _cell(fields, columns[role]).lower()
            if value in _YES:
                allowed.add(role)
            elif value not in _NO:
                problems.append(_problem(
                    file, line, columns[role] + 1,
                    f"'{value}' under {role}: write x for allowed, leave empty for not",
                    f"'{value}' en {role}: escriba x si está permitido, deje vacío si no"))
                ok = False
        extra = [f for f in fields[width:] if f.strip()]
        if extra:
            problems.append(_problem(file, line, width + 1,
                                     f"value '{extra[0].strip()}' after the last column",
                                     f"valor '{extra[0].strip()}' después de la última "
                                     "columna"))
            ok = False
        key = (module, operation)
        if ok and key in lines:
            problems.append(_problem(
                file, line, columns["module"] + 1,
                f"{module}/{operation} is already given at line {lines[key]}",
                f"{module}/{operation} ya está en la línea {lines[key]}"))
        elif ok:
            rows[key] = frozenset(allowed)
            lines[key] = line
    return rows, lines, problems


def _read(path: Path) -> tuple[dict[Key, frozenset[str]], list[Problem]]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return {}, [_problem(str(path), 0, 0, f"cannot read the permission file: {reason}",
                             f"no se puede leer el archivo de permisos: {reason}")]
    rows, _lines, problems = parse_matrix_bytes(data, str(path))
    return rows, problems


def load_matrix(site: Path | None = None, shipped: Path = SHIPPED) -> Matrix:
    """The shipped matrix with the site's rows over it; ValidationError with every problem."""
    base, problems = _read(shipped)
    if not problems:
        missing = [f"{m}/{o}" for m in MODULES for o in OPERATIONS if (m, o) not in base]
        if missing:
            problems.append(_problem(
                str(shipped), 0, 0,
                "the shipped permission file must give every module and operation; missing: "
                + ", ".join(missing),
                "el archivo de permisos base debe dar todo módulo y operación; faltan: "
                + ", ".join(missing)))
    sources = [str(shipped)]
    if site is not None:
        over, site_problems = _read(site)
        problems += site_problems
        base.update(over)
        sources.append(str(site))
    if problems:
        raise ValidationError(problems)
    return Matrix(MappingProxyType(dict(base)), tuple(sources))


def render_markdown(matrix: Matrix) -> str:
    """The matrix as a Markdown table: one row per module and operation, one column per
    role (by id, so the table fits and matches the file), ✓ where allowed."""
    head = "| module | operation | " + " | ".join(ROLES) + " |"
    rule = "|---|---|" + "---|" * len(ROLES)
    out = [head, rule]
    for module in MODULES:
        for operation in OPERATIONS:
            allowed = matrix.roles_for(module, operation)
            cells = ["✓" if r in allowed else "" for r in ROLES]
            out.append(f"| {module} | {operation} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"

