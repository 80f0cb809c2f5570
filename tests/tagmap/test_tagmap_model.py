"""TagDef properties, TagMap access and fingerprint, context building, reading odd files."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from daemons.core.problems import ValidationError
from daemons.core.tagmap import (
    DeviceRef,
    TagDef,
    TagMap,
    TagMapContext,
    load_tagmaps,
    parse_tagmap_bytes,
    parse_tagmap_file,
    unit_range,
)

HEADER = "tag,device,table,address,type,well,role\n"


def tag(**kw) -> TagDef:
    base = dict(name="A.B", device="rtu1", unit=1, table="hr", address=10, type="int16")
    base.update(kw)
    return TagDef(**base)


@pytest.mark.parametrize(("kw", "per_value", "total", "end", "array"), [
    (dict(type="int16"), 1, 1, 11, False),
    (dict(type="uint32"), 2, 2, 12, False),
    (dict(type="float64"), 4, 4, 14, False),
    (dict(type="float32", count=200), 2, 400, 410, True),
    (dict(type="string", string_registers=8), 8, 8, 18, False),
    (dict(type="string", string_registers=4, count=3), 4, 12, 22, True),
    (dict(type="bit", bit=7), 1, 1, 11, False),
    (dict(type="bool", table="co"), 1, 1, 11, False),
    (dict(type="uint64", count=2), 4, 8, 18, True),
])
def test_tagdef_layout(kw, per_value, total, end, array):
    t = tag(**kw)
    assert t.registers_per_value == per_value
    assert t.total_registers == total
    assert t.end_address == end
    assert t.is_array is array


def test_tagdef_type_spec_and_writable():
    assert tag(type="bit", bit=3).type_spec == "bit:3"
    assert tag(type="string", string_registers=4, count=3).type_spec == "string:4[3]"
    assert tag(type="int16", count=200).type_spec == "int16[200]"
    assert tag(access="rw").writable and not tag().writable
    with pytest.raises(dataclasses.FrozenInstanceError):
        tag().address = 3  # type: ignore[misc]


def test_unit_ranges_follow_the_protocol():
    assert unit_range("modbus-rtu") == (1, 247)
    assert unit_range("modbus-tcp") == (0, 255)


def test_tagmap_access_and_grouping():
    a, b, c = tag(name="A"), tag(name="B", device="tcp1"), tag(name="C", address=20)
    w = tag(name="W", address=30, well="W101", role="thp")
    tm = TagMap((a, b, c, w), version=3, files=("x.csv",))
    assert len(tm) == 4 and list(tm) == [a, b, c, w]
    assert tm["B"] is b and "C" in tm and "Z" not in tm and tm.get("Z") is None
    with pytest.raises(KeyError):
        tm["Z"]
    assert dict(tm.by_device()) == {"rtu1": (a, c, w), "tcp1": (b,)}
    assert tm.find_role("W101", "thp") is w and tm.find_role(None, "thp") is None
    assert tm.version == 3 and tm.files == ("x.csv",)


def test_fingerprint_ignores_place_and_order_but_not_content():
    a, b = tag(name="A", file="one.csv", line=2), tag(name="B", address=11, file="one.csv", line=3)
    moved = [dataclasses.replace(b, file="other.csv", line=40),
             dataclasses.replace(a, file="other.csv", line=41)]
    fp = TagMap((a, b)).fingerprint()
    assert fp == TagMap(tuple(moved), version=9, files=("other.csv",)).fingerprint()
    assert len(fp) == 64
    assert fp != TagMap((a, dataclasses.replace(b, scale=0.1))).fingerprint()
    assert fp != TagMap((a, dataclasses.replace(b, address=12))).fingerprint()
    assert fp != TagMap((a,)).fingerprint()


def test_context_from_config_sorts_scans_and_copies():
    devices = {"pump": SimpleNamespace(name="pump", protocol="modbus-rtu", unit=3)}
    wells = {"W1": SimpleNamespace(id="W1", type="esp")}
    scans = {"slow": SimpleNamespace(name="slow", interval=10.0),
             "fast": SimpleNamespace(name="fast", interval=1.0)}
    cfg = SimpleNamespace(devices=devices, wells=wells, scans=scans)
    ctx = TagMapContext.from_config(cfg)
    assert ctx.devices == {"pump": DeviceRef("pump", "modbus-rtu", 3)}
    assert ctx.wells == {"W1": "esp"}
    assert ctx.scans == ("fast", "slow")
    devices["other"] = SimpleNamespace(name="other", protocol="modbus-tcp", unit=None)
    assert "other" not in ctx.devices  # the context is a snapshot, not a view
    with pytest.raises(TypeError):
        ctx.wells["W2"] = "esp"  # type: ignore[index]


def test_parse_file_keeps_good_rows_and_reports_bad(tmp_path: Path, ctx):
    # Columns in an unusual order: the column number must follow the file, not COLUMNS.
    f = tmp_path / "m.csv"
    f.write_text("type,address,tag,table,device\nint16,0,A.OK,hr,rtu1\n"
                 "int16,1,A.BAD,hr,nodev\nfloat32,2,A.OK2,hr,rtu1\n")
    tags, problems = parse_tagmap_file(f, ctx)
    assert [t.name for t in tags] == ["A.OK", "A.OK2"]
    assert [(p.line, p.column) for p in problems] == [(3, 5)]
    assert tags[0].file == str(f) and tags[0].line == 2


def test_parse_bytes_for_uploads(ctx):
    tags, problems = parse_tagmap_bytes(b"tag,device,table,address,type\nA,rtu1,hr,0,int16\n",
                                        "upload.csv", ctx)
    assert problems == [] and tags[0].file == "upload.csv"


def test_folder_instead_of_file(tmp_path: Path, ctx):
    folder = tmp_path / "maps.csv"
    folder.mkdir()
    with pytest.raises(ValidationError) as exc:
        load_tagmaps([folder], ctx)
    (p,) = exc.value.problems
    assert p.file == str(folder) and "folder" in p.en and "carpeta" in p.es


@pytest.mark.parametrize(("error", "en", "es"), [
    (PermissionError(13, "Permission denied"), "permission denied", "permiso denegado"),
    (OSError(5, "Input/output error"), "cannot read the file: Input/output error",
     "no se puede leer el archivo: Input/output error"),
])
def test_unreadable_file(tmp_path: Path, ctx, monkeypatch, error, en, es):
    # root (these tests' usual user) reads a mode-000 file, and an I/O error of a worn eMMC
    # cannot be made on demand: the read itself is made to fail, the translation is real.
    f = tmp_path / "secret.csv"
    f.write_text(HEADER)

    def fail(self: Path) -> bytes:
        raise error

    monkeypatch.setattr(Path, "read_bytes", fail)
    with pytest.raises(ValidationError) as exc:
        load_tagmaps([f], ctx)
    (p,) = exc.value.problems
    assert (p.file, p.line, p.en, p.es) == (str(f), 0, en, es)


def test_utf16_tab_separated_excel_unicode_text(tmp_path: Path, ctx):
    # Excel's "Unicode Text" export: UTF-16 with BOM, tab-separated.
    f = tmp_path / "unicode.csv"
    f.write_bytes("tag\tdevice\ttable\taddress\ttype\tscale\tdescription\r\n"
                  "W102.AMPS\ttcp1\thr\t0\tint16\t0,1\tcorriente – fase A\r\n".encode("utf-16"))
    (t,) = load_tagmaps([f], ctx).tags
    assert (t.name, t.scale, t.description) == ("W102.AMPS", 0.1, "corriente – fase A")


def test_every_problem_of_every_file_is_raised_at_once(tmp_path: Path, ctx):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(HEADER + "X.1,rtu1,hr,0,int16,W101,nonsense\n")
    b.write_text(HEADER + "X.1,rtu1,hr,5,int16,,\nX.2,rtu1,hr,0,int32,,\n")
    with pytest.raises(ValidationError) as exc:
        load_tagmaps([a, b, tmp_path / "c.csv"], ctx)
    where = [(Path(p.file).name, p.line, p.column) for p in exc.value.problems]
    assert where == [("a.csv", 2, 7), ("b.csv", 2, 1), ("b.csv", 3, 4), ("c.csv", 0, 0)]
    assert "X.1" in exc.value.problems[2].en  # the overlap names the other tag
