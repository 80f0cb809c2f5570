"""What changes between two tag maps: tags added, removed, and changed field by field.

A technician sees this before a new map is applied (`wellgate tagmap apply`, `diff`), so
the rendering is plain text that fits an 80-column serial console, in English or Spanish.
Tags are matched by name: a tag moved to another address is one *changed* tag (field
`address`), a renamed tag is one removed and one added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from daemons.core.tagmap.model import TagDef, TagMap

# Where a tag was written is not what it is: moving a row or a file changes nothing.
_NOT_COMPARED = ("name", "file", "line")
_COMPARED = tuple(f.name for f in fields(TagDef) if f.name not in _NOT_COMPARED)
# These four fields are one column ("type") to the technician, and shown as one.
_TYPE_FIELDS = ("type", "bit", "count", "string_registers")


@dataclass(frozen=True)
class TagMapDiff:
    added: tuple[TagDef, ...] = ()
    removed: tuple[TagDef, ...] = ()
    changed: tuple[tuple[TagDef, TagDef, tuple[str, ...]], ...] = ()  # (old, new, fields)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def changed_fields(old: TagDef, new: TagDef) -> tuple[str, ...]:
    """Names of the TagDef fields that differ, in field order (file and line ignored)."""
    return tuple(f for f in _COMPARED if getattr(old, f) != getattr(new, f))


def diff_tagmaps(old: TagMap | Sequence[TagDef], new: TagMap | Sequence[TagDef]) -> TagMapDiff:
    """Added and changed tags in `new`'s order, removed ones in `old`'s order."""
    before = {t.name: t for t in old}
    after = {t.name: t for t in new}
    added = tuple(t for name, t in after.items() if name not in before)
    removed = tuple(t for name, t in before.items() if name not in after)
    changed = []
    for name, t in after.items():
        if name in before:
            diffs = changed_fields(before[name], t)
            if diffs:
                changed.append((before[name], t, diffs))
    return TagMapDiff(added, removed, tuple(changed))


def _fit(text: str, width: int) -> str:
    """Cut to `width` characters, marking the cut with an ellipsis."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…"


def _value(v: object, lang: str) -> str:
    if v is None:
        return "(ninguno)" if lang == "es" else "(none)"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, str) and (v == "" or v != v.strip() or " " in v):
        return repr(v)
    return str(v)


def _summary(t: TagDef, mark: str, width: int) -> str:
    where = f"{t.device}/{t.unit} {t.table} {t.address} {t.type_spec}"
    if t.units:
        where += f" {t.units}"
    room = width - len(mark) - 1 - 2 - len(where)
    if room >= 12:
        return f"{mark} {_fit(t.name, room)}  {where}"
    return _fit(f"{mark} {t.name}  {where}", width)


def _changes(old: TagDef, new: TagDef, names: tuple[str, ...], lang: str,
             width: int) -> list[str]:
    out = []
    shown_type = False
    for name in names:
        if name in _TYPE_FIELDS:
            if shown_type:
                continue
            shown_type = True
            label, a, b = "type", old.type_spec, new.type_spec
        else:
            label = name
            a, b = _value(getattr(old, name), lang), _value(getattr(new, name), lang)
        head = f"    {label}: "
        room = width - len(head) - len(" -> ")
        if len(a) + len(b) > room:
            # A short side keeps its whole text and leaves the rest of the line to the other.
            if len(a) <= room // 2:
                b = _fit(b, room - len(a))
            elif len(b) <= room // 2:
                a = _fit(a, room - len(b))
            else:
                a, b = _fit(a, room // 2), _fit(b, room - room // 2)
        out.append(_fit(f"{head}{a} -> {b}", width))
    return out


def render_diff(d: TagMapDiff, lang: str = "en", width: int = 80) -> str:
    """Plain text, no line longer than `width`: '+' added, '-' removed, '~' changed."""
    es = lang == "es"
    if d.is_empty:
        return "Sin cambios en el mapa de etiquetas" if es else "No changes to the tag map"
    na, nr, nc = len(d.added), len(d.removed), len(d.changed)
    if es:
        head = f"Cambios: añadidos {na}, eliminados {nr}, modificados {nc}"
    else:
        head = f"Changes: {na} added, {nr} removed, {nc} changed"
    lines = [_fit(head, width)]
    lines += [_summary(t, "+", width) for t in d.added]
    lines += [_summary(t, "-", width) for t in d.removed]
    for old, new, names in d.changed:
        lines.append(_fit(f"~ {new.name}", width))
        lines += _changes(old, new, names, lang, width)
    return "\n".join(lines)
