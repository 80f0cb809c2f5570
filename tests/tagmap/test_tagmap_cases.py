"""Expected-result cases: one folder per check under cases/ (Telegraf style).

Each folder has context.json (devices, wells, scans), one or more CSV files (loaded in name
order, or in the order files.txt lists, which may name a missing file), and expected.txt:
either the exact English problems, one per line, or `OK: N tags` and one line per tag
(`describe` below).  expected.es.txt, where present, holds the Spanish rendering.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from daemons.core.problems import ValidationError
from daemons.core.tagmap import TagDef, TagMap, TagMapContext, load_tagmaps

CASES = Path(__file__).parent / "cases"
NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def describe(t: TagDef) -> str:
    """Every resolved field of a tag on one line (floats by repr, so 0.1 is checked exactly)."""
    return (f"{t.name} {t.device}/{t.unit} {t.table}[{t.address}:{t.end_address}] "
            f"{t.type_spec} {t.order} scale={t.scale!r} offset={t.offset!r} units={t.units!r} "
            f"scan={t.scan} deadband={t.deadband!r} access={t.access} min={t.min!r} "
            f"max={t.max!r} well={t.well} role={t.role} description={t.description!r} "
            f"at={t.file}:{t.line}")


def summary(tm: TagMap) -> str:
    return "\n".join([f"OK: {len(tm)} tags", *(describe(t) for t in tm)])


def _run(folder: Path, make_ctx: Callable[[dict[str, Any]], TagMapContext]
         ) -> tuple[str, str | None]:
    ctx = make_ctx(json.loads((folder / "context.json").read_text("utf-8")))
    listing = folder / "files.txt"
    if listing.exists():
        files = [Path(n) for n in listing.read_text("utf-8").split()]
    else:
        files = sorted(Path(p.name) for p in folder.glob("*.csv"))
    try:
        tm = load_tagmaps(files, ctx)
    except ValidationError as exc:
        for p in exc.problems:
            # Both languages written at the check, and really translated.
            assert p.en and p.es and p.en != p.es, p
        return exc.render("en"), exc.render("es")
    return summary(tm), None


def test_there_are_cases():
    assert len(NAMES) >= 40


@pytest.mark.parametrize("name", NAMES)
def test_case(name: str, monkeypatch: pytest.MonkeyPatch, make_ctx) -> None:
    folder = CASES / name
    monkeypatch.chdir(folder)  # problems then name files as the technician typed them
    got_en, got_es = _run(folder, make_ctx)
    expected = (folder / "expected.txt").read_text("utf-8").rstrip("\n")
    assert got_en == expected
    spanish = folder / "expected.es.txt"
    if spanish.exists():
        assert got_es == spanish.read_text("utf-8").rstrip("\n")
    if name.startswith("good_"):
        assert expected.startswith("OK: ")
    else:
        assert not expected.startswith("OK"), "an error case must expect problems"
