"""The pages' words: JSON catalogues daemons/webd/i18n/<area>.<lang>.json, merged at start.

Each area (pages, wells, …) is a flat {key: text} object per language; the wellviews
modules add their own area.  A key defined by two areas is an error naming both files
(one would silently hide the other).  `t` falls back to the key, so a missing word shows
as its key rather than breaking a page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from daemons.core.problems import Problem, ValidationError

LANGUAGES = ("es", "en")
CATALOGUE_DIR = Path(__file__).resolve().parent / "i18n"


def load_catalogues(folder: Path = CATALOGUE_DIR) -> Mapping[str, Mapping[str, str]]:
    """{lang: {key: text}} merged over every area; ValidationError on a bad file."""
    merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    origin: dict[tuple[str, str], str] = {}
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.json")):
        area, _, lang = path.stem.rpartition(".")
        if lang not in LANGUAGES or not area:
            problems.append(Problem(str(path), 0, 0,
                                    en="catalogue names are <area>.<es|en>.json",
                                    es="los catálogos se llaman <área>.<es|en>.json"))
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(Problem(str(path), getattr(exc, "lineno", 0), 0,
                                    en=f"not a JSON catalogue: {exc}",
                                    es=f"no es un catálogo JSON: {exc}"))
            continue
        if not isinstance(data, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            problems.append(Problem(str(path), 0, 0, en="a catalogue is {\"key\": \"text\"}",
                                    es="un catálogo es {\"clave\": \"texto\"}"))
            continue
        for key, text in data.items():
            if (lang, key) in origin:
                problems.append(Problem(str(path), 0, 0,
                                        en=f"key '{key}' is also in {origin[lang, key]}",
                                        es=f"la clave '{key}' también está en "
                                           f"{origin[lang, key]}"))
            origin[lang, key] = path.name
            merged[lang][key] = text
    if problems:
        raise ValidationError(problems)
    return MappingProxyType({k: MappingProxyType(v) for k, v in merged.items()})


def translate(catalogues: Mapping[str, Mapping[str, str]], lang: str, key: str,
              **values: object) -> str:
    text = catalogues.get(lang, {}).get(key, key)
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text
