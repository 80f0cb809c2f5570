"""diff_tagmaps and render_diff: what a technician sees before a map is applied."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from daemons.core.tagmap import TagDef, TagMap, diff_tagmaps, load_tagmaps, render_diff


def tag(name: str, **kw) -> TagDef:
    base = dict(name=name, device="rtu1", unit=1, table="hr", address=0, type="int16",
                scan="fast")
    base.update(kw)
    return TagDef(**base)


OLD = (tag("W101.THP", address=0, type="float32", units="psi"),
       tag("W101.CHP", address=2, type="float32", units="psi"),
       tag("W101.SPM", address=4, scale=0.1),
       tag("W101.OLD", address=5))


def test_added_removed_changed():
    new = (dataclasses.replace(OLD[0], file="elsewhere.csv", line=99),  # moved row: no change
           dataclasses.replace(OLD[1], address=10),  # address move
           dataclasses.replace(OLD[2], scale=0.01, units="spm", description="strokes/min"),
           tag("W101.NEW", address=20))
    d = diff_tagmaps(TagMap(OLD), TagMap(new))
    assert [t.name for t in d.added] == ["W101.NEW"]
    assert [t.name for t in d.removed] == ["W101.OLD"]
    assert [(o.name, n.name, f) for o, n, f in d.changed] == [
        ("W101.CHP", "W101.CHP", ("address",)),
        ("W101.SPM", "W101.SPM", ("scale", "units", "description")),
    ]
    assert not d.is_empty


def test_sequences_and_empty_diff():
    d = diff_tagmaps(list(OLD), OLD)
    assert d.is_empty and d.added == d.removed == d.changed == ()
    assert render_diff(d) == "No changes to the tag map"
    assert render_diff(d, "es") == "Sin cambios en el mapa de etiquetas"


def test_type_change_is_one_line():
    new = (dataclasses.replace(OLD[2], type="float32", count=100),)
    d = diff_tagmaps(OLD[2:3], new)
    (_, _, fields), = d.changed
    assert fields == ("type", "count")
    text = render_diff(d)
    assert text.splitlines() == ["Changes: 0 added, 0 removed, 1 changed", "~ W101.SPM",
                                 "    type: int16 -> float32[100]"]


def test_render_english_and_spanish():
    new = (dataclasses.replace(OLD[1], address=10, min=0.0), tag("W101.NEW", address=20))
    d = diff_tagmaps(OLD[1:2] + OLD[3:], new)
    assert render_diff(d, "en").splitlines() == [
        "Changes: 1 added, 1 removed, 1 changed",
        "+ W101.NEW  rtu1/1 hr 20 int16",
        "- W101.OLD  rtu1/1 hr 5 int16",
        "~ W101.CHP",
        "    address: 2 -> 10",
        "    min: (none) -> 0",
    ]
    es = render_diff(d, "es").splitlines()
    assert es[0] == "Cambios: añadidos 1, eliminados 1, modificados 1"
    assert es[-1] == "    min: (ninguno) -> 0"


@pytest.mark.parametrize("width", [40, 60, 80])
def test_render_fits_the_console(width: int):
    long_name = "PAD7.W101." + "SEGMENT_" * 14  # 122 characters, a legal name
    long_text = "descripción muy larga " * 20
    old = (tag(long_name, description="short", units="bbl/d"),
           tag("GONE." + "X" * 100, device="d" * 60))
    new = (tag(long_name, description=long_text, units="Mscf/d", address=65000),
           tag("ADDED." + "Y" * 110, type="string", string_registers=64, count=100))
    for lang in ("en", "es"):
        text = render_diff(diff_tagmaps(old, new), lang, width=width)
        lines = text.splitlines()
        assert len(lines) == 7
        assert all(len(line) <= width for line in lines), text
        # What changed is still readable after the cut.
        assert any(line.startswith("    description: short -> 'descrip") for line in lines)
        assert any(line.startswith("+ ADDED.") for line in lines)


def test_diff_of_two_loaded_files(tmp_path: Path, ctx):
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    old.write_text("tag,device,table,address,type,units\nA,rtu1,hr,0,int16,psi\n"
                   "B,rtu1,hr,1,int16,psi\n")
    new.write_text("# reordered and re-typed by a technician\n"
                   "tag,units,device,table,address,type\nB,psi,rtu1,hr,1,int16\n"
                   "A,kPa,rtu1,hr,3,int16\n")
    d = diff_tagmaps(load_tagmaps([old], ctx), load_tagmaps([new], ctx))
    assert [(o.name, f) for o, _, f in d.changed] == [("A", ("address", "units"))]
    assert "    units: psi -> kPa" in render_diff(d).splitlines()
