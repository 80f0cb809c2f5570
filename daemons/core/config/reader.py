"""Reading one configuration section the Klipper way: every option read once, with its
type, default and range checked, and whatever is left over reported as unknown.

Problems are collected rather than raised, so one `wellgate config validate` run shows
every mistake in the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from daemons.core.config.locate import KeyPath, Locator
from daemons.core.problems import Problem

_MISSING = object()


class Problems:
    """Collects problems of one file, positioned by key path."""

    def __init__(self, file: str, locator: Locator) -> None:
        self.file = file
        self.locator = locator
        self.items: list[Problem] = []

    def add(self, path: KeyPath, en: str, es: str) -> None:
        line, column = self.locator.find(path)
        self.items.append(Problem(self.file, line, column, en=en, es=es))


def dotted(path: KeyPath) -> str:
    """("device", 2, "port") -> "device[2].port" for messages."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class Section:
    """One table of the configuration; `finish()` reports the keys nobody read."""

    def __init__(self, data: Mapping[str, Any] | Any, path: KeyPath, problems: Problems) -> None:
        self.path = path
        self.problems = problems
        if not isinstance(data, Mapping):
            problems.add(path, f"{dotted(path)} must be a table",
                         f"{dotted(path)} debe ser una tabla")
            data = {}
        self.data = data
        self._read: set[str] = set()

    def error(self, key: str, en: str, es: str) -> None:
        self.problems.add((*self.path, key), en, es)

    def _raw(self, key: str, default: Any, required: bool) -> Any:
        self._read.add(key)
        if key in self.data:
            return self.data[key]
        if required:
            self.problems.add(self.path, f"{dotted(self.path)}: missing required key '{key}'",
                              f"{dotted(self.path)}: falta la clave obligatoria '{key}'")
        return default

    def has(self, key: str) -> bool:
        return key in self.data

    def get_str(self, key: str, default: Any = _MISSING, *,
                choices: Iterable[str] | None = None, nonempty: bool = False) -> Any:
        required = default is _MISSING
        value = self._raw(key, None if required else default, required)
        if value is None or (value is default and not required):
            return value
        if not isinstance(value, str):
            self.error(key, f"'{key}' must be text, not {type(value).__name__}",
                       f"'{key}' debe ser texto, no {type(value).__name__}")
            return None if required else default
        if nonempty and not value.strip():
            self.error(key, f"'{key}' must not be empty", f"'{key}' no puede estar vacío")
        if choices is not None and value not in tuple(choices):
            opts = ", ".join(choices)
            self.error(key, f"'{key}' = '{value}' is not one of: {opts}",
                       f"'{key}' = '{value}' no es uno de: {opts}")
            return None if required else default
        return value

    def _number(self, key: str, default: Any, kind: type, minval: float | None,
                maxval: float | None) -> Any:
        required = default is _MISSING
        value = self._raw(key, None if required else default, required)
        if value is None or (value is default and not required):
            return value
        ok = isinstance(value, int) and not isinstance(value, bool)
        if kind is float:
            ok = ok or isinstance(value, float)
        if not ok:
            what = "an integer" if kind is int else "a number"
            que = "un entero" if kind is int else "un número"
            self.error(key, f"'{key}' must be {what}, not {value!r}",
                       f"'{key}' debe ser {que}, no {value!r}")
            return None if required else default
        if minval is not None and value < minval:
            self.error(key, f"'{key}' = {value} is below the minimum {minval}",
                       f"'{key}' = {value} está por debajo del mínimo {minval}")
        if maxval is not None and value > maxval:
            self.error(key, f"'{key}' = {value} is above the maximum {maxval}",
                       f"'{key}' = {value} está por encima del máximo {maxval}")
        return kind(value)

    def get_int(self, key: str, default: Any = _MISSING, *, minval: int | None = None,
                maxval: int | None = None) -> Any:
        return self._number(key, default, int, minval, maxval)

    def get_float(self, key: str, default: Any = _MISSING, *, minval: float | None = None,
                  maxval: float | None = None) -> Any:
        return self._number(key, default, float, minval, maxval)

    def get_bool(self, key: str, default: Any = _MISSING) -> Any:
        required = default is _MISSING
        value = self._raw(key, None if required else default, required)
        if value is None or isinstance(value, bool):
            return value
        self.error(key, f"'{key}' must be true or false, not {value!r}",
                   f"'{key}' debe ser true o false, no {value!r}")
        return None if required else default

    def get_list(self, key: str, default: Any = _MISSING) -> Any:
        required = default is _MISSING
        value = self._raw(key, None if required else default, required)
        if value is None or isinstance(value, list):
            return value
        self.error(key, f"'{key}' must be a list", f"'{key}' debe ser una lista")
        return None if required else default

    def sub(self, key: str, *, required: bool = False) -> Section | None:
        """A nested table, or None when absent and optional."""
        value = self._raw(key, None, required)
        if value is None:
            return None
        return Section(value, (*self.path, key), self.problems)

    def finish(self, allowed_subtables: Iterable[str] = ()) -> None:
        """Report unknown keys: a misspelt option must never be silently ignored."""
        known = self._read | set(allowed_subtables)
        where_en = dotted(self.path) or "top level"
        where_es = dotted(self.path) or "el nivel superior"
        for key in self.data:
            if key not in known:
                valid = ", ".join(sorted(self._read)) or "-"
                self.error(key, f"unknown key '{key}' in {where_en} (valid: {valid})",
                           f"clave desconocida '{key}' en {where_es} (válidas: {valid})")
