"""Every reference tag map row decodes, from the running model's registers, to a value in
its min..max; every implemented register is in the map; every role fits its well type.

The decoder here is written with `struct` on its own (not the simulator's encoder nor
acqd's decoder), so a word-order or scale mistake on either side shows up.
"""

from __future__ import annotations

import csv
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from daemons.core.roles import lookup
from daemons.sim.bank import RegisterBank
from daemons.sim.devices import MODELS
from daemons.sim.devices.tagmaps import DEMO_DEVICES, WELL_TYPES, expected_files

TAGMAPS = Path(__file__).resolve().parents[2] / "tagmaps"
START = 1_700_000_000.0
FORMATS = {"int16": ("h", 1), "uint16": ("H", 1), "int32": ("i", 2), "uint32": ("I", 2),
           "int64": ("q", 4), "uint64": ("Q", 4), "float32": ("f", 2), "float64": ("d", 4)}
ARRAY = re.compile(r"^(.+)\[(\d+)\]$")


def read_map(device: str) -> list[dict[str, str]]:
    with (TAGMAPS / f"{device}.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def decode(words: list[int], base: str, order: str) -> float:
    """Registers -> raw number: ABCD big-endian; CDAB words swapped; BADC bytes swapped in
    each word; DCBA both (little-endian)."""
    fmt, count = FORMATS[base]
    assert len(words) == count
    regs = list(words)
    if order in ("CDAB", "DCBA"):
        regs = regs[::-1]
    raw = b"".join(w.to_bytes(2, "big") for w in regs)
    if order in ("BADC", "DCBA"):
        raw = b"".join(raw[i + 1 : i + 2] + raw[i : i + 1] for i in range(0, len(raw), 2))
    return struct.unpack(">" + fmt, raw)[0]


def row_values(bank: RegisterBank, row: dict[str, str]) -> list[float] | str:
    """The engineering value(s) of a row, asserting its addresses are implemented."""
    table, address, typ = row["table"], int(row["address"]), row["type"]
    m = ARRAY.match(typ)
    base, n = (m[1], int(m[2])) if m else (typ, 1)
    if base == "bool":
        assert table in ("co", "di")
        bits = bank.read(table, address, n)
        assert bits is not None, f"{row['tag']}: {table} {address} not implemented"
        return [float(b) for b in bits]
    if base.startswith("bit:"):
        word = bank.read(table, address, 1)
        assert word is not None, f"{row['tag']}: {table} {address} not implemented"
        return [float((word[0] >> int(base[4:])) & 1)]
    if base.startswith("string:"):
        regs = bank.read(table, address, int(base[7:]))
        assert regs is not None, f"{row['tag']}: {table} {address} not implemented"
        return b"".join(r.to_bytes(2, "big") for r in regs).rstrip(b"\0").decode("ascii")
    width = FORMATS[base][1]
    regs = bank.read(table, address, width * n)
    assert regs is not None, f"{row['tag']}: {table} {address}+{width * n} not implemented"
    scale, offset = float(row["scale"] or 1), float(row["offset"] or 0)
    order = row["order"] or "ABCD"
    return [decode(regs[i * width : (i + 1) * width], base, order) * scale + offset
            for i in range(n)]


def covered(rows: list[dict[str, str]]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {"hr": set(), "ir": set(), "co": set(), "di": set()}
    for row in rows:
        m = ARRAY.match(row["type"])
        base, n = (m[1], int(m[2])) if m else (row["type"], 1)
        if base in FORMATS:
            width = FORMATS[base][1]
        elif base.startswith("string:"):
            width = int(base[7:])
        else:
            width = 1
        start = int(row["address"])
        out[row["table"]].update(range(start, start + width * n))
    return out


@pytest.mark.parametrize("dev", DEMO_DEVICES, ids=lambda d: d.name)
def test_tag_map_rows_decode_within_range(dev):
    rows = read_map(dev.name)
    assert rows, f"{dev.name}.csv is empty"
    bank = RegisterBank()
    model = MODELS[dev.model](bank, wells=list(dev.wells), params={}, seed=3)
    now = START
    for k in range(61):  # an hour in minutes, with a sample of every value each minute
        model.step(now)
        for row in rows:
            values = row_values(bank, row)
            if isinstance(values, str):
                assert values.isprintable() and values, row["tag"]
                continue
            lo, hi = float(row["min"]), float(row["max"])
            arr = np.asarray(values)
            assert np.all(np.isfinite(arr)), row["tag"]
            bad = arr[(arr < lo) | (arr > hi)]
            assert bad.size == 0, (f"{row['tag']} at minute {k}: {bad[:5]} outside "
                                   f"{lo}..{hi}")
        now += 60.0


@pytest.mark.parametrize("dev", DEMO_DEVICES, ids=lambda d: d.name)
def test_tag_map_is_complete_and_consistent(dev):
    rows = read_map(dev.name)
    bank = RegisterBank()
    MODELS[dev.model](bank, wells=list(dev.wells), params={}, seed=3)
    cov = covered(rows)
    for table in ("hr", "ir", "co", "di"):
        implemented = set(np.nonzero(bank.valid[table])[0].tolist())
        assert implemented == cov[table], (
            f"{dev.name} {table}: not in the map {sorted(implemented - cov[table])[:10]}, "
            f"mapped but not implemented {sorted(cov[table] - implemented)[:10]}")
    tags = [r["tag"] for r in rows]
    assert len(tags) == len(set(tags))
    for row in rows:
        assert row["device"] == dev.name and int(row["unit"]) == dev.unit
        assert row["description"], row["tag"]
        assert row["scan"] in ("fast", "slow")
        assert row["access"] in ("r", "rw")
        if row["access"] == "rw":
            assert row["table"] in ("hr", "co"), row["tag"]
        if row["type"].endswith("]"):
            assert row["scan"] == "slow", f"{row['tag']}: arrays belong on the slow scan"
        well = row["well"] or None
        if well is None:
            assert row["tag"].startswith(dev.site_prefix + "."), row["tag"]
        else:
            assert row["tag"].startswith(well + ".") and well in dev.wells
        if row["role"]:
            role = lookup(row["role"], WELL_TYPES[well] if well else None)
            assert role is not None, f"{row['tag']}: role {row['role']!r} invalid"
            assert role.array == row["type"].endswith("]"), row["tag"]


def test_tag_maps_are_current_and_unique_across_the_site():
    files = expected_files()
    assert sorted(files) == sorted(p.name for p in TAGMAPS.glob("*.csv"))
    for name, text in files.items():
        assert (TAGMAPS / name).read_text(encoding="utf-8") == text, (
            f"tagmaps/{name} is stale: run python -m daemons.sim.devices.tagmaps")
    seen: dict[str, str] = {}
    roles: dict[tuple[str, str], str] = {}
    for dev in DEMO_DEVICES:
        for row in read_map(dev.name):
            assert row["tag"] not in seen, f"{row['tag']} in {dev.name} and {seen[row['tag']]}"
            seen[row["tag"]] = dev.name
            if row["role"]:
                key = (row["well"], row["role"])
                assert key not in roles, f"{key} given to {roles[key]} and {row['tag']}"
                roles[key] = row["tag"]


def test_word_orders_are_mixed_across_devices():
    orders = {row["order"] for dev in DEMO_DEVICES for row in read_map(dev.name)
              if row["type"].split("[")[0] in FORMATS and FORMATS[row["type"].split("[")[0]][1] > 1}
    assert orders == {"ABCD", "CDAB", "BADC", "DCBA"}


def test_decoder_agrees_with_hand_made_words():
    # 1.0 as float32 is 0x3F800000; 258 as int32 is 0x00000102
    assert decode([0x3F80, 0x0000], "float32", "ABCD") == 1.0
    assert decode([0x0000, 0x3F80], "float32", "CDAB") == 1.0
    assert decode([0x803F, 0x0000], "float32", "BADC") == 1.0
    assert decode([0x0000, 0x803F], "float32", "DCBA") == 1.0
    assert decode([0x0102, 0x0000], "int32", "CDAB") == 258
    assert decode([0xFFFF], "int16", "ABCD") == -1
