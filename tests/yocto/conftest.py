"""A reader for the BitBake assignments the layer's recipes use, shared by tests/yocto.

No Yocto host here, so the tests read the recipes themselves: `VAR op "value"` with
backslash continuations, the operators = ?= ??= := += =+ .= =. and override suffixes
(`RDEPENDS:${PN}`), and ${VAR} references to variables of the same file. Anything
else BitBake would need a whole parser for (python functions, inline ${@...}) is kept
as written, which is enough for the names and lists the tests look at.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "yocto-layer"

_ASSIGN = re.compile(
    r"^(?:export\s+)?(?P<name>[A-Za-z0-9_\-\[\]\.${}:+/]+?)\s*"
    r"(?P<op>\?\?=|\?=|:=|\+=|=\+|\.=|=\.|=)\s*\"(?P<value>.*)$"
)
_REF = re.compile(r"\$\{([A-Za-z0-9_\-:]+)\}")


def _logical_lines(text: str) -> list[str]:
    """Join backslash-continued lines; drop comments and shell/python function bodies."""
    lines: list[str] = []
    pending = ""
    depth = 0
    for raw in text.splitlines():
        if depth:  # inside a do_install() { ... } body
            depth += raw.count("{") - raw.count("}")
            continue
        if not pending and re.match(r"^\s*(?:python\s+)?[\w:\-]+\s*\(\)\s*\{", raw):
            depth = raw.count("{") - raw.count("}")
            continue
        if not pending and raw.lstrip().startswith("#"):
            continue
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def read_assignments(path: Path) -> dict[str, str]:
    """Variable → final value (appends applied in file order, weak defaults kept weak)."""
    values: dict[str, str] = {}
    for line in _logical_lines(path.read_text()):
        match = _ASSIGN.match(line.strip())
        if not match:
            continue
        name, op, value = match["name"], match["op"], match["value"]
        value = value[: value.rindex('"')] if '"' in value else value
        value = " ".join(value.split())
        old = values.get(name)
        if op in ("?=", "??="):
            values.setdefault(name, value)
        elif op == "+=":
            values[name] = f"{old} {value}".strip() if old else value
        elif op == "=+":
            values[name] = f"{value} {old}".strip() if old else value
        elif op == ".=":
            values[name] = (old or "") + value
        elif op == "=.":
            values[name] = value + (old or "")
        else:
            values[name] = value
    return values


def expand(value: str, variables: dict[str, str], pn: str) -> str:
    """Replace ${PN}/${BPN} and ${VAR} of the same file until nothing changes."""
    known = dict(variables, PN=pn, BPN=pn)
    for _ in range(10):
        new = _REF.sub(lambda m: known.get(m[1], m[0]), value)
        if new == value:
            break
        value = new
    return value


def recipe_name(path: Path) -> str:
    """PN from a recipe file name: python3-foo_1.2.bb → python3-foo."""
    return path.stem.split("_")[0]


@pytest.fixture(scope="session")
def layer() -> Path:
    return LAYER


@pytest.fixture(scope="session")
def recipes() -> dict[str, Path]:
    """PN → recipe file, for every recipe of the layer."""
    return {recipe_name(p): p for p in sorted(LAYER.glob("recipes-*/*/*.bb"))}


@pytest.fixture(scope="session")
def recipe_var() -> Callable[[Path, str], list[str]]:
    """recipe_var(path, "RDEPENDS:${PN}") → the expanded value split into words."""

    def get(path: Path, name: str) -> list[str]:
        variables = read_assignments(path)
        pn = recipe_name(path)
        raw = variables.get(name, "")
        return expand(raw, variables, pn).split()

    return get
