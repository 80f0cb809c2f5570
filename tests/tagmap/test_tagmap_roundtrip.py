"""write_tagmap_csv then parse gives back the same definitions (only file and line differ)."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemons.core.roles import BY_TYPE, COMMON, SITE
from daemons.core.tagmap import (
    ORDERS,
    TagDef,
    TagMapContext,
    load_tagmaps,
    parse_tagmap_file,
    write_tagmap_csv,
)
from daemons.core.tagmap.model import REGISTERS

CASES = Path(__file__).parent / "cases"


def placeless(tags) -> list[TagDef]:
    return [dataclasses.replace(t, file="", line=0) for t in tags]


def test_canonical_file_reads_back_equal(tmp_path: Path, ctx):
    original = load_tagmaps([CASES / "good_all_types" / "map.csv"], ctx)
    out = tmp_path / "canonical.csv"
    write_tagmap_csv(original, out)
    again = load_tagmaps([out], ctx)
    assert placeless(again) == placeless(original)
    assert again.fingerprint() == original.fingerprint()
    # Canonical means stable: writing what was read gives the same bytes.
    out2 = tmp_path / "canonical2.csv"
    write_tagmap_csv(again, out2)
    assert out2.read_bytes() == out.read_bytes()
    assert out.read_text().splitlines()[0] == (
        "tag,device,unit,table,address,type,order,scale,offset,units,scan,deadband,access,"
        "min,max,well,role,description")


def test_semicolon_decimal_comma_and_bom(tmp_path: Path, ctx):
    original = load_tagmaps([CASES / "good_semicolon_decimal_comma" / "map.csv"], ctx)
    out = tmp_path / "excel.csv"
    write_tagmap_csv(original, out, delimiter=";", bom=True)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b";0,01;" in raw and b"-14,7" in raw
    assert placeless(load_tagmaps([out], ctx)) == placeless(original)


def test_write_to_a_stream(ctx):
    tags = load_tagmaps([CASES / "good_bits_share_register" / "map.csv"], ctx).tags
    buf = io.StringIO()
    write_tagmap_csv(tags, buf)
    assert buf.getvalue().splitlines()[1] == "ST.B0,rtu1,1,hr,7,bit:0,ABCD,1,0,,fast,0,r,,,,,"


# --- any valid row set round-trips --------------------------------------------------------

NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}(\.[A-Za-z0-9_]{1,8}){0,2}", fullmatch=True)
# Free text: anything a spreadsheet cell may hold, except control characters (a newline is
# allowed: it makes a quoted multi-line field), without the spaces that reading strips.
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs"), whitelist_characters="\n"),
               max_size=30).map(str.strip)
FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)
DEVICES = {"rtu1": (1, 247), "rtu2": (1, 247), "tcp1": (0, 255), "tcp2": (0, 255)}
SCALAR_ROLES = {
    None: [r for r in SITE],
    "W101": [r.name for r in (*COMMON.values(), *BY_TYPE["rod_pump"].values()) if not r.array],
    "RIG1": ["pit_volume_1", "pit_volume_2", "pump_spm_3", "hookload", "thp"],
}
ARRAY_ROLES = {"W101": ["surface_position_card", "surface_load_card"]}


@st.composite
def shapes(draw) -> dict:
    """Table, type and count that go together, as the parser demands."""
    table = draw(st.sampled_from(["hr", "ir", "co", "di"]))
    if table in ("co", "di"):
        return dict(table=table, type="bool")
    base = draw(st.sampled_from([b for b in REGISTERS if b != "bool"]))
    shape = dict(table=table, type=base)
    if base == "bit":
        shape["bit"] = draw(st.integers(0, 15))
        return shape
    if base == "string":
        shape["string_registers"] = draw(st.integers(1, 20))
    # At most 2,000 registers a tag plus a 300 gap: 25 tags stay inside 65,536.
    shape["count"] = draw(st.sampled_from([1, 1, 1, 2, 10, 100]))
    return shape


@st.composite
def row_sets(draw) -> list[TagDef]:
    names = draw(st.lists(NAMES, min_size=1, max_size=25, unique_by=str.casefold))
    next_free: dict[tuple[str, int, str], int] = {}
    used_roles: set[tuple[str | None, str]] = set()
    tags = []
    for name in names:
        device = draw(st.sampled_from(sorted(DEVICES)))
        unit = draw(st.integers(*DEVICES[device]))
        shape = draw(shapes())
        # Addresses rise with a random gap per (device, unit, table): never an overlap.
        key = (device, unit, shape["table"])
        address = next_free.get(key, 0) + draw(st.integers(0, 300))
        layout = TagDef(name=name, device=device, unit=unit, address=address, **shape)
        next_free[key] = layout.end_address
        well = draw(st.sampled_from([None, "W101", "RIG1"]))
        choices = (ARRAY_ROLES if layout.is_array else SCALAR_ROLES).get(well, [])
        role = draw(st.sampled_from([None, *choices]))
        if (well, role) in used_roles:
            role = None
        if role is not None:
            used_roles.add((well, role))
        lo, hi = sorted(draw(st.lists(FINITE, min_size=2, max_size=2)))
        if lo == hi or draw(st.booleans()):
            lo = hi = None  # blank range (a single bound is covered by the case folders)
        access = "r"
        if shape["table"] in ("hr", "co"):
            access = draw(st.sampled_from(["r", "rw"]))
        tags.append(dataclasses.replace(
            layout, order=draw(st.sampled_from(ORDERS)),
            scale=draw(FINITE.filter(lambda v: v != 0)), offset=draw(FINITE),
            units=draw(TEXT), scan=draw(st.sampled_from(["fast", "slow"])),
            deadband=draw(st.floats(min_value=0, allow_infinity=False)), access=access,
            min=lo, max=hi, well=well, role=role, description=draw(TEXT)))
    return tags


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tags=row_sets(), delimiter=st.sampled_from([",", ";"]))
def test_any_valid_row_set_round_trips(tmp_path: Path, ctx: TagMapContext, tags, delimiter):
    out = tmp_path / "generated.csv"
    write_tagmap_csv(tags, out, delimiter=delimiter)
    parsed, problems = parse_tagmap_file(out, ctx)
    assert [p.render() for p in problems] == []
    assert placeless(parsed) == placeless(tags)
