"""Where a key sits in a TOML file: tomllib gives values, not positions.

Error messages must name file:line:column, so we index the raw text once: every table
header and every `key =` line, by its key path (array-of-tables elements by their index,
e.g. ("device", 2, "port")).  Multi-line strings and arrays are skipped over.  This is a
line scanner, not a second TOML parser: values come from tomllib only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

KeyPath = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*(?P<name>[^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z0-9_\-\"'. ]+?)\s*=")


def _split_dotted(name: str) -> list[str]:
    parts, buf, quote = [], "", ""
    for ch in name:
        if quote:
            if ch == quote:
                quote = ""
            else:
                buf += ch
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append(buf.strip())
            buf = ""
        else:
            buf += ch
    parts.append(buf.strip())
    return parts


def _bracket_delta(line: str) -> int:
    """Net [ minus ] outside strings and comments, to follow multi-line arrays."""
    depth, quote = 0, ""
    for ch in line:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth


class Locator:
    """Maps key paths of one TOML document to (line, column), both 1-based."""

    def __init__(self, text: str) -> None:
        self._pos: dict[KeyPath, tuple[int, int]] = {}
        array_index: dict[KeyPath, int] = {}
        table: KeyPath = ()
        depth = 0
        in_multiline = ""
        for lineno, line in enumerate(text.splitlines(), start=1):
            if in_multiline:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = ""
                continue
            if depth > 0:
                depth += _bracket_delta(line)
                continue
            header = _HEADER.match(line)
            if header:
                is_array = line.lstrip().startswith("[[")
                resolved: list[str | int] = []
                for part in _split_dotted(header["name"]):
                    resolved.append(part)
                    if tuple(resolved) in array_index and not (
                        is_array and len(resolved) == len(_split_dotted(header["name"]))
                    ):
                        resolved.append(array_index[tuple(resolved)])
                if is_array:
                    key = tuple(resolved)
                    array_index[key] = array_index.get(key, -1) + 1
                    resolved.append(array_index[key])
                table = tuple(resolved)
                self._pos.setdefault(table, (lineno, line.index("[") + 1))
                continue
            m = _KEY.match(line)
            if not m:
                continue
            path = table + tuple(_split_dotted(m["key"]))
            self._pos.setdefault(path, (lineno, len(m["indent"]) + 1))
            rest = line[m.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
            if not in_multiline:
                depth = max(0, _bracket_delta(rest))

    def find(self, path: Sequence[str | int]) -> tuple[int, int]:
        """Position of `path`, else of its nearest enclosing key or table; (0, 0) if none."""
        key = tuple(path)
        while key:
            if key in self._pos:
                return self._pos[key]
            key = key[:-1]
        return (0, 0)
