"""The example tag maps in docs/tagmap-reference.md are valid: the reference cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

from daemons.core.tagmap import DeviceRef, TagMapContext, parse_tagmap_bytes

DOC = Path(__file__).resolve().parents[2] / "docs" / "tagmap-reference.md"
BLOCK = re.compile(r"^```\n(.*?)^```", re.MULTILINE | re.DOTALL)


def example_maps() -> list[str]:
    found = []
    for block in BLOCK.findall(DOC.read_text("utf-8")):
        lines = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]
        if lines and lines[0].startswith(("tag,", "tag;", "sep=")):
            found.append(block)
    return found


def test_reference_examples_are_valid_tag_maps():
    ctx = TagMapContext({"pumpoff1": DeviceRef("pumpoff1", "modbus-rtu", 1)},
                        {"W101": "rod_pump"}, ["fast", "slow"])
    maps = example_maps()
    assert len(maps) == 3
    counts = []
    for text in maps:
        tags, problems = parse_tagmap_bytes(text.encode("utf-8"), "example.csv", ctx)
        assert [p.render() for p in problems] == []
        counts.append(len(tags))
    assert counts == [3, 10, 1]
    # The Spanish-locale example really reads the decimal comma.
    tags, _ = parse_tagmap_bytes(maps[2].encode("utf-8"), "example.csv", ctx)
    assert tags[0].scale == 0.1
