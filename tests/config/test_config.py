"""Gateway configuration: the sample loads, and every kind of mistake names its line."""

from pathlib import Path

import pytest

from daemons.core.config import load_config, loads_config
from daemons.core.problems import ValidationError

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = '[gateway]\nsite = "s"\n'


def problems_of(text: str) -> list[str]:
    with pytest.raises(ValidationError) as info:
        loads_config(text, "gw.toml")
    return [p.render("en") for p in info.value.problems]


def test_sample_config_is_valid_and_complete():
    cfg = load_config(ROOT / "config" / "gateway.toml")
    assert cfg.gateway.language == "es"
    assert list(cfg.scans) == ["fast", "slow"]
    assert cfg.fastest_scan == "fast"
    assert {d.protocol for d in cfg.devices.values()} == {"modbus-rtu", "modbus-tcp"}
    assert cfg.devices["rpc1"].bus == cfg.devices["vsd1"].bus == "rtu:/dev/ttyS1"
    w101 = cfg.wells["W101"]
    assert w101.type == "rod_pump"
    assert w101.param("pump_depth_ft") == 4500.0
    assert w101.param("reservoir_pressure_psi") == 1400.0  # from [well.reservoir]
    tapers = w101.param("rod_string")
    assert [t["diameter_in"] for t in tapers] == [1.0, 0.875, 0.75]
    assert tapers[0]["modulus_psi"] == 30.5e6


def test_defaults_when_sections_are_absent():
    cfg = loads_config(MINIMAL, "/tmp/x/gw.toml")
    assert list(cfg.scans) == ["fast"] and cfg.scans["fast"].interval == 1.0
    assert cfg.paths.runtime_dir == Path("/run/wellgate")
    assert cfg.ring.history_depth == 600
    assert cfg.service("acqd").metrics_port == 9101
    assert cfg.gateway.language == "es"


def test_relative_paths_resolve_next_to_the_file(tmp_path):
    f = tmp_path / "gw.toml"
    f.write_text(MINIMAL + '[paths]\nruntime_dir = "run"\n')
    assert load_config(f).paths.runtime_dir == tmp_path / "run"


@pytest.mark.parametrize(("text", "expected"), [
    ("colour = 1\n" + MINIMAL, "gw.toml:1:1: unknown key 'colour' in top level"),
    ('[gateway]\nsite = "s"\nlangauge = "es"\n', "gw.toml:3:1: unknown key 'langauge'"),
    ('[gateway]\nsite = "s"\nlanguage = "fr"\n', "'language' = 'fr' is not one of: es, en"),
    (MINIMAL + "[scan.fast]\ninterval = \"1\"\n", "gw.toml:4:1: 'interval' must be a number"),
    (MINIMAL + "[scan.fast]\ninterval = 0.01\n", "below the minimum 0.1"),
    (MINIMAL + '[[device]]\nname = "d"\nprotocol = "modbus-tcp"\n',
     "gw.toml:3:1: device[0]: missing required key 'host'"),
    (MINIMAL + '[[device]]\nname = "d"\nprotocol = "profibus"\n',
     "gw.toml:5:1: 'protocol' = 'profibus' is not one of"),
    (MINIMAL + '[[device]]\nname = "d"\nprotocol = "modbus-rtu"\nserial_port = "/dev/x"\n'
     'unit = 0\n', "gw.toml:7:1: 'unit' = 0 is below the minimum 1"),
    (MINIMAL + '[[device]]\nname = "d"\nprotocol = "modbus-tcp"\nhost = "h"\nbaud = 9600\n',
     "gw.toml:7:1: unknown key 'baud' in device[0]"),
    (MINIMAL + '[[device]]\nname = "d"\nprotocol = "modbus-tcp"\nhost = "h"\n'
     '[[device]]\nname = "d"\nprotocol = "modbus-tcp"\nhost = "h2"\n',
     "gw.toml:8:1: duplicate device name 'd' (first at line 3)"),
    (MINIMAL + '[[device]]\nname = "a"\nprotocol = "modbus-rtu"\nserial_port = "/dev/x"\n'
     'unit = 1\n[[device]]\nname = "b"\nprotocol = "modbus-rtu"\nserial_port = "/dev/x"\n'
     'unit = 1\n', "gw.toml:12:1: unit 1 on rtu:/dev/x is already used by device 'a'"),
    (MINIMAL + '[[device]]\nname = "a"\nprotocol = "modbus-rtu"\nserial_port = "/dev/x"\n'
     '[[device]]\nname = "b"\nprotocol = "modbus-rtu"\nserial_port = "/dev/x"\nbaud = 9600\n',
     "differ from device 'a' on the same port"),
    (MINIMAL + '[[well]]\nid = "W1"\ntype = "jet_pump"\n', "'type' = 'jet_pump' is not one of"),
    (MINIMAL + '[[well]]\nid = "W1"\ntype = "esp"\n[well.esp]\npump_depth_ft = 4.5\n',
     "gw.toml:7:1: 'pump_depth_ft' = 4.5 is below the minimum 100"),
    (MINIMAL + '[[well]]\nid = "W1"\ntype = "esp"\n[well.rod_pump]\npump_depth_ft = 4500.0\n',
     "table [rod_pump] does not apply to a 'esp' well"),
    (MINIMAL + '[[well]]\nid = "W1"\ntype = "rod_pump"\n[well.rod_pump]\n'
     'rod_string = [\n  { diameter_in = 1.0 },\n]\n', "rod_string taper 1: missing 'length_ft'"),
    (MINIMAL + '[[well]]\nid = "W1"\ntype = "esp"\n[well.esp]\nstagez = 3\n',
     "gw.toml:7:1: unknown key 'stagez' in well[0].esp"),
    ('[gateway]\nsite = "s"\ntimezone = "Mars/Olympus"\n', "unknown time zone 'Mars/Olympus'"),
    ('[gateway]\nsite = "s"\ngroup_id = "a/b"\n', "'group_id' must be 1-64 characters"),
    ("[gateway\nsite = 1\n", "gw.toml:1:"),
    ("[paths]\n", "missing required key 'gateway'"),
    (MINIMAL + "[service.acqd]\nmetrics_port = 70000\n", "above the maximum 65535"),
    (MINIMAL + "[service.foo]\n", "unknown daemon 'foo'"),
    (MINIMAL + "[history]\nchunk_seconds = 700\n",
     "gw.toml:4:1: 'chunk_seconds' = 700 must divide an hour"),
])
def test_mistakes_are_reported_with_position(text, expected):
    assert any(expected in p for p in problems_of(text)), problems_of(text)


def test_all_problems_reported_at_once_sorted_and_in_spanish():
    text = MINIMAL + 'bogus = 1\n[scan.fast]\ninterval = -1\n[web]\nport = "x"\n'
    with pytest.raises(ValidationError) as info:
        loads_config(text, "gw.toml")
    lines = [p.line for p in info.value.problems]
    assert lines == sorted(lines) and len(lines) == 3
    assert "clave desconocida 'bogus'" in info.value.render("es")


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path):
    with pytest.raises(ValidationError) as info:
        load_config(tmp_path / "missing.toml")
    assert "cannot read the configuration" in str(info.value)


def test_history_filters_match_tags_by_glob():
    text = MINIMAL + ('[history]\nflush_interval = 5.0\n[[history.filter]]\ntags = "*.WH_TEMP"\n'
                      'method = "swinging-door"\ntolerance = 0.5\n')
    cfg = loads_config(text, "gw.toml")
    assert cfg.history.flush_interval == 5.0
    f = cfg.history.filter_for("W101.wh_temp")
    assert f is not None and (f.method, f.tolerance) == ("swinging-door", 0.5)
    assert cfg.history.filter_for("W101.THP") is None
    bad = problems_of(MINIMAL + '[[history.filter]]\ntags = "*"\nmethod = "zip"\n'
                      'tolerance = 1\n')
    assert any("gw.toml:5:1: 'method' = 'zip' is not one of" in p for p in bad), bad


def test_a_batch_longer_than_the_rings_history_is_refused_with_its_line():
    ok = loads_config(MINIMAL + "[mqtt]\nbatch_seconds = 60\n", "gw.toml")
    assert ok.mqtt.batch_seconds == 60.0
    # 600 samples at 0.1 s hold 60 s: 60 s + 2.5 × 30 s keep-alive does not fit
    text = MINIMAL + "[scan.fast]\ninterval = 0.1\n[mqtt]\nbatch_seconds = 60\n"
    found = problems_of(text)
    assert any(p.startswith("gw.toml:6:1:") and "history_depth" in p for p in found), found
    raised = loads_config(text.replace("[mqtt]", "[ring]\nhistory_depth = 2000\n[mqtt]"),
                          "gw.toml")
    assert raised.mqtt.batch_seconds == 60.0
