"""Site file validation: every problem names the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemons.core.problems import ValidationError
from daemons.sim.site import SimSite
from daemons.sim.sitefile import load_site, parse_site

from .conftest import MODELS, site_text

REPO = Path(__file__).resolve().parents[2]
DEMO_MODELS = {"rod_pump_controller", "esp_drive", "annulus_monitor", "gas_lift_controller",
               "test_separator", "drilling_rig", "coiled_tubing_unit", "pcp_drive"}


def _problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ValidationError) as caught:
        parse_site(text, "site.toml", set(MODELS))
    assert all(p.file == "site.toml" for p in caught.value.problems)
    return [(p.line, p.en, p.es) for p in caught.value.problems]


def _line_of(text: str, needle: str, occurrence: int = 0) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[occurrence]


def test_the_test_site_is_valid():
    site = parse_site(site_text(), "site.toml", set(MODELS))
    assert [d.name for d in site.devices] == ["rtu1", "rtu2", "gw1", "gw2", "solo"]
    assert site.bus("rs485-1").baud == 19200
    assert site.device("rtu2").params["offset"] == 100


def test_demo_site_file_is_valid_and_matches_the_demo_table():
    site = load_site(REPO / "config" / "sim-site.toml", DEMO_MODELS)
    rows = {d.name: (d.model, d.bus or "tcp", d.unit, d.wells) for d in site.devices}
    assert rows == {
        "rpc1": ("rod_pump_controller", "rs485-1", 1, ("W101",)),
        "vsd1": ("esp_drive", "rs485-1", 2, ("W102",)),
        "annuli1": ("annulus_monitor", "rs485-1", 3, ("W101", "W102", "W103")),
        "glc1": ("gas_lift_controller", "tcp", 1, ("W103",)),
        "testsep1": ("test_separator", "tcp", 1, ("W104", "W105", "W106")),
        "rig1": ("drilling_rig", "tcp", 1, ("D201",)),
        "ctu1": ("coiled_tubing_unit", "tcp", 1, ("W107",)),
        "pcp1": ("pcp_drive", "tcp", 1, ("W108",)),
    }
    bus = site.bus("rs485-1")
    assert (bus.baud, bus.parity, bus.stop_bits) == (19200, "N", 1)


def test_toml_syntax_error_has_line_and_column():
    text = site_text().replace('name = "gw2"', 'name = "gw2')
    [(line, en, es)] = _problems(text)
    assert line == _line_of(text, 'name = "gw2')
    assert "TOML" in en and "TOML" in es


def test_wrong_values_name_their_line_and_key():
    text = site_text().replace('parity = "N"', 'parity = "X"').replace(
        'name = "solo"', 'name = "solo"\ncolour = "red"')
    problems = _problems(text)
    assert (_line_of(text, 'parity = "X"'), "bus 'rs485-1': parity must be N, E or O") in [
        (line, en) for line, en, _ in problems]
    unknown = [(line, en) for line, en, _ in problems if "colour" in en]
    assert unknown and unknown[0][0] == _line_of(text, "[[device]]", 4)
    assert all(es for _, _, es in problems)


def test_duplicate_unit_on_a_bus_and_on_a_shared_port():
    text = site_text().replace("unit = 2\nbus", "unit = 1\nbus").replace(
        "unit = 2\ntcp_port = 5020", "unit = 1\ntcp_port = 5020")
    problems = [en for _, en, _ in _problems(text)]
    assert "device 'rtu2': unit 1 on bus rs485-1 is already used by 'rtu1'" in problems
    assert "device 'gw2': unit 1 on TCP port 5020 is already used by 'gw1'" in problems


def test_transport_must_be_exactly_one_and_exist():
    text = site_text().replace('bus = "rs485-1"\n[device.params]',
                               'bus = "rs485-9"\n[device.params]').replace(
        "tcp_port = 0", "tcp_port = 0\nbus = \"rs485-1\"")
    problems = [(line, en) for line, en, _ in _problems(text)]
    assert (_line_of(text, 'bus = "rs485-9"'), "device 'rtu2': no bus named 'rs485-9' is "
            "defined") in problems
    assert any("exactly one of bus" in en and line == _line_of(text, "[[device]]", 4)
               for line, en in problems)


def test_unit_range_depends_on_transport():
    text = site_text().replace("unit = 1\nbus", "unit = 248\nbus").replace(
        "unit = 9", "unit = 255")
    problems = [en for _, en, _ in _problems(text)]
    assert problems == ["device 'rtu1': unit = 248 is outside 1..247"]


def test_unknown_model_is_named():
    text = site_text().replace('model = "test_counter"\nunit = 9', 'model = "warp_core"\nunit = 9')
    [(line, en, es)] = _problems(text)
    assert line == _line_of(text, 'model = "warp_core"')
    assert "warp_core" in en and "warp_core" in es


def test_model_parameter_error_points_at_the_params_table(tmp_path):
    text = site_text().replace("offset = 100", "offset = 100\nwarp = 9", 1)
    site = parse_site(text, "site.toml", set(MODELS))
    with pytest.raises(ValidationError) as caught:
        SimSite(site, state_dir=tmp_path, models=MODELS)
    [problem] = caught.value.problems
    assert problem.file == "site.toml"
    assert problem.line == _line_of(text, "[device.params]")
    assert "rtu2" in problem.en and "warp" in problem.en
