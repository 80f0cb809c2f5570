"""`wellgate tagmap import --from kepware`: the address parser, the conversion rules, and
hand-written Kepware exports run through the real CLI against expected results.

Each folder under tests/cli/kepware/ is one case: export.csv (the Kepware export),
args.txt (the arguments after `tagmap import`; a `# exit N` line gives the exit code),
expected.csv (the tag map written, to stdout or to the -o file) and expected_report.txt
(stderr).  KEPWARE_REGEN=1 rewrites the expected files from the current behaviour; review
the diff before committing it.
"""

import csv
import dataclasses
import io
import math
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemons.acqd.decode import decode_tag
from daemons.cli.cmd_import import validate
from daemons.cli.kepware import (
    AddressError,
    ImportSettings,
    KepwareAddress,
    convert_kepware,
    linear_scaling,
    nearest_scan,
    parse_address,
    sanitize_name,
)
from daemons.core.config import load_config
from daemons.core.problems import ValidationError
from daemons.core.tagmap import DeviceRef, TagMapContext, load_tagmaps

CASES = Path(__file__).parent / "kepware"
REGEN = os.environ.get("KEPWARE_REGEN") == "1"

GATEWAY = """\
[gateway]
site = "Kepware import test"
language = "en"

[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"

[scan.fast]
interval = 1.0

[scan.slow]
interval = 10.0

[scan.card]
interval = 60.0

[[device]]
name = "rpc1"
protocol = "modbus-rtu"
serial_port = "/dev/ttyS1"
unit = 1

[[device]]
name = "gw485"
protocol = "modbus-tcp"
host = "127.0.0.1"

[[device]]
name = "testsep1"
protocol = "modbus-tcp"
host = "127.0.0.1"
port = 1503
unit = 1

[[well]]
id = "W101"
type = "rod_pump"
"""


@pytest.fixture
def site(tmp_path) -> Path:
    (tmp_path / "gateway.toml").write_text(GATEWAY)
    return tmp_path


def wellgate(site: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "daemons.cli.main", "--config", str(site / "gateway.toml"),
           "tagmap", "import", *args]
    env = {**os.environ, "NO_COLOR": "1", "LANG": "C.UTF-8"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=site, env=env)


# --- the CLI against expected results ----------------------------------------------------

@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_case(case, site):
    folder = CASES / case
    shutil.copy(folder / "export.csv", site / "export.csv")
    lines = (folder / "args.txt").read_text().splitlines()
    exit_code = next(int(ln.split()[-1]) for ln in lines if ln.startswith("# exit"))
    args = shlex.split(" ".join(ln for ln in lines if not ln.startswith("#")))
    proc = wellgate(site, *args)
    out_file = args[args.index("-o") + 1] if "-o" in args else None
    produced = (site / out_file).read_text() if out_file and (site / out_file).exists() \
        else proc.stdout
    if REGEN:
        (folder / "expected.csv").write_text(produced)
        (folder / "expected_report.txt").write_text(proc.stderr)
    assert proc.returncode == exit_code, proc.stderr
    assert produced == (folder / "expected.csv").read_text()
    assert proc.stderr == (folder / "expected_report.txt").read_text()
    assert all(len(line) <= 80 for line in proc.stderr.splitlines()), proc.stderr
    if produced:
        # What was written is a tag map the gateway accepts, as `tagmap validate` would say.
        path = site / "converted.csv"
        path.write_text(produced)
        tm = load_tagmaps([path], TagMapContext.from_config(load_config(site / "gateway.toml")))
        assert len(tm) == sum(1 for _ in csv.reader(io.StringIO(produced))) - 1


def test_converted_values_decode_as_kepware_reads_them(site):
    """The mapped tags read the same registers the same way Kepware did."""
    proc = wellgate(site, "--from", "kepware", "--device", "rpc1", "--prefix", "W101.",
                    "--order", "CDAB", str(CASES / "rod_pump_controller" / "export.csv"))
    assert proc.returncode == 0, proc.stderr
    (site / "m.csv").write_text(proc.stdout)
    tm = load_tagmaps([site / "m.csv"],
                      TagMapContext.from_config(load_config(site / "gateway.toml")))
    # Linear 0..4095 -> 0..5000 style: SPM is raw 0..200 -> 0..20 spm, so raw 153 = 15.3.
    assert decode_tag(tm["W101.SPM"], [153]) == pytest.approx(15.3)
    # Short -400..1500 -> -40..150 degF: raw -123 (two's complement) is -12.3 degF.
    assert decode_tag(tm["W101.Motor_Temp"], [(-123) & 0xFFFF]) == pytest.approx(-12.3)
    # "First word low" (CDAB): 123.456 is 42F6 E979 big-endian, so the low word comes first.
    assert decode_tag(tm["W101.THP"], [0xE979, 0x42F6]) == pytest.approx(123.456, rel=1e-6)
    # `.9L`: low byte first in each register, so "FW1.2.3-b" arrives as "WF" ".1" ...
    firmware = b"FW1.2.3-b\0"
    swapped = [firmware[i + 1] << 8 | firmware[i] for i in range(0, 10, 2)]
    assert decode_tag(tm["W101.Firmware"], swapped).rstrip("\0") == "FW1.2.3-b"
    assert decode_tag(tm["W101.Controller_Serial"],
                      [0x4142, 0x4344] + [0x3030] * 6) == "ABCD" + "0" * 12
    assert tm["W101.Status.Local"].bit == 15 and tm["W101.Status.Local"].address == 29
    assert tm["W101.Load_Card"].count == 200 and tm["W101.Load_Card"].end_address == 800


def test_output_file_round_trips_through_validate(site):
    """`-o` writes a file `wellgate tagmap validate --alone` accepts."""
    shutil.copy(CASES / "mixed_unmappable" / "export.csv", site / "k.csv")
    proc = wellgate(site, "--from", "kepware", "--device", "gw485", "--unit", "7", "k.csv",
                    "-o", "mine.csv")
    assert proc.returncode == 1
    assert proc.stdout == ""
    check = subprocess.run(
        [sys.executable, "-m", "daemons.cli.main", "--config", str(site / "gateway.toml"),
         "--lang", "en", "tagmap", "validate", "--alone", "mine.csv"],
        capture_output=True, text=True, timeout=60, cwd=site)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "OK: 7 tags" in check.stdout


@pytest.mark.parametrize(("args", "words"), [
    (["--device", "nosuch"], "unknown device 'nosuch'"),
    (["--device", "gw485"], "has no unit in the gateway config: give --unit"),
    (["--device", "rpc1", "--unit", "0"], "--unit 0 is outside 1-247"),
    (["--device", "rpc1", "--well", "W999"], "unknown well 'W999'"),
    (["--device", "rpc1", "--prefix", "1W."], "--prefix '1W.' cannot start a tag name"),
])
def test_usage_errors_exit_2(site, args, words):
    shutil.copy(CASES / "one_based_gateway" / "export.csv", site / "k.csv")
    proc = wellgate(site, "--lang", "en", "--from", "kepware", *args, "k.csv")
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("args", [
    ["--device", "rpc1", "k.csv"],  # no --from
    ["--from", "ignition", "--device", "rpc1", "k.csv"],
    ["--from", "kepware", "k.csv"],  # no --device
    ["--from", "kepware", "--device", "rpc1", "--order", "ACBD", "k.csv"],
])
def test_argparse_usage_exit_2(site, args):
    assert wellgate(site, *args).returncode == 2


def test_missing_file_exits_1(site):
    proc = wellgate(site, "--lang", "es", "--from", "kepware", "--device", "rpc1", "nada.csv")
    assert proc.returncode == 1
    assert "nada.csv: no se puede leer el archivo" in proc.stderr


# --- the address parser ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("400001", KepwareAddress("hr", 0)),
    ("40001", KepwareAddress("hr", 0)),
    ("41", KepwareAddress("hr", 0)),  # Kepware pads: 41 = 40001 = 400001
    ("4000001", KepwareAddress("hr", 0)),
    ("465536", KepwareAddress("hr", 65535)),
    ("000001", KepwareAddress("co", 0)),
    ("00017", KepwareAddress("co", 16)),
    ("100001", KepwareAddress("di", 0)),
    ("300101", KepwareAddress("ir", 100)),
    (" 40101 ", KepwareAddress("hr", 100)),
    ("400001.5", KepwareAddress("hr", 0, bit=5)),
    ("400010.15", KepwareAddress("hr", 9, bit=15)),
    ("400001.20H", KepwareAddress("hr", 0, string_bytes=20)),
    ("300001.7l", KepwareAddress("ir", 0, string_bytes=7, low_byte_first=True)),
    ("400001[10]", KepwareAddress("hr", 0, dims=(10,))),
    ("300001[2][5]", KepwareAddress("ir", 0, dims=(2, 5))),
    ("H40000A", KepwareAddress("hr", 9)),  # hexadecimal data item 0x0A
    ("h410000", KepwareAddress("hr", 65535)),
    ("H40000A.F", KepwareAddress("hr", 9, bit=15)),
    ("H40000A.E", KepwareAddress("hr", 9, bit=14)),  # a hex bit, not a string suffix
])
def test_parse_address(text, expected):
    assert parse_address(text) == expected


def test_parse_address_device_properties():
    assert parse_address("400000", zero_based=False) == KepwareAddress("hr", 0)
    assert parse_address("465535", zero_based=False) == KepwareAddress("hr", 65535)
    assert parse_address("400001.16", zero_based_bits=False).bit == 15
    assert parse_address("400001.1", zero_based_bits=False).bit == 0


@pytest.mark.parametrize(("text", "words"), [
    ("", "empty"),
    ("4", "not a Kepware Modbus address"),
    ("4000x1", "not a Kepware Modbus address"),
    ("R40001", "not a Kepware Modbus address"),
    ("400001.", "not a Kepware Modbus address"),
    ("500001", "first digit 5 is not a Modbus table"),
    ("400000", "outside 1-65536"),
    ("465537", "outside 1-65536"),
    ("400001.16", "bit 16 is outside 0-15"),
    ("000001.1", "no bits or strings"),
    ("400001.20D", "one character per register"),
    ("400001.0H", "at least 1 byte"),
    ("400001.5[3]", "no arrays of bits or strings"),
    ("400001[0]", "each at least 1"),
    ("400001[2][2][2]", "[rows][columns]"),
    ("400001.x", "neither a bit nor a string length"),
])
def test_parse_address_errors(text, words):
    with pytest.raises(AddressError) as info:
        parse_address(text)
    assert words in info.value.en
    assert info.value.es and info.value.es != info.value.en


# --- names, scaling, scan classes --------------------------------------------------------

@pytest.mark.parametrize(("raw", "clean"), [
    ("THP", "THP"),
    ("Flow Rate", "Flow_Rate"),
    ("  Flow   Rate ", "Flow_Rate"),
    ("Presión Línea", "Presion_Linea"),
    ("Temp (degF)", "Temp_degF"),
    ("Well Data.Flow-1", "Well_Data.Flow_1"),
    ("Group..Tag.", "Group.Tag"),
    ("1st Stage", "T_1st_Stage"),
    ("_Hidden", "T_Hidden"),
    ("Pump.2nd", "Pump.2nd"),
    ("%%%", ""),
])
def test_sanitize_name(raw, clean):
    assert sanitize_name(raw) == clean


def test_linear_scaling_goes_through_both_points():
    scale, offset = linear_scaling(4000, 20000, 0, 5000)  # a 4-20 mA card, 0-5000 psi
    assert scale == pytest.approx(5000 / 16000)
    assert offset == pytest.approx(-1250)
    assert 4000 * scale + offset == pytest.approx(0)
    assert 20000 * scale + offset == pytest.approx(5000)
    assert math.copysign(1, linear_scaling(0, 10, 0, 1)[1]) == 1  # no -0.0 in the output


def test_nearest_scan_by_ratio_ties_to_faster():
    scans = (("fast", 1.0), ("slow", 10.0), ("card", 60.0))
    assert nearest_scan(100, scans) == ("fast", 1.0)
    assert nearest_scan(3000, scans) == ("fast", 1.0)  # 3x from 1 s, 3.3x from 10 s
    assert nearest_scan(4000, scans) == ("slow", 10.0)
    assert nearest_scan(math.sqrt(10) * 1000, scans) == ("fast", 1.0)  # exact tie
    assert nearest_scan(30000, scans) == ("card", 60.0)
    assert nearest_scan(3_600_000, scans) == ("card", 60.0)


def _settings(**kw) -> ImportSettings:
    base = {"device": DeviceRef("plc", "modbus-tcp", 1), "unit": 1,
            "scans": (("fast", 1.0), ("slow", 10.0))}
    return ImportSettings(**{**base, **kw})


def test_convert_word_order_and_clamps():
    data = (b'"Tag Name","Address","Data Type","Scaling","Raw Low","Raw High","Scaled Low",'
            b'"Scaled High","Clamp Low","Clamp High","Client Access"\n'
            b'"A","400001","Float","","","","","","","","RW"\n'
            b'"B","400003","Word","Linear","0","1000","0","100","1","0","RO"\n'
            b'"C","400004","Short","","","","","","","",""\n')
    result = convert_kepware(data, "k.csv", _settings(order="DCBA"))
    a, b, c = result.tags
    assert (a.order, a.access, a.address) == ("DCBA", "rw", 0)
    assert (b.scale, b.offset, b.min, b.max) == (0.1, 0.0, 0.0, None)
    assert c.order == "BADC"  # one register: only the byte swap of DCBA applies
    assert not result.skipped


def test_convert_overlap_skips_the_later_row_whichever_address_is_lower():
    data = (b'"Tag Name","Address","Data Type"\n'
            b'"Hi","400003","Long"\n'
            b'"Lo","400002","Long"\n'  # hr 1-2 overlaps hr 2-3 of the earlier row
            b'"B0","400010.0","Boolean"\n'
            b'"B1","400010.1","Boolean"\n'
            b'"B1 again","400010.1","Boolean"\n')
    result = convert_kepware(data, "k.csv", _settings())
    assert [t.name for t in result.tags] == ["Hi", "B0", "B1"]
    assert [(f.line, f.tag) for f in result.skipped] == [(3, "Lo"), (6, "B1 again")]
    assert "overlaps Hi (hr 2-3, row 2)" in result.skipped[0].en


def test_convert_reads_excel_sep_line_and_decimal_comma():
    data = ('sep=;\n"Tag Name";"Address";"Data Type";"Scaling";"Raw Low";"Raw High";'
            '"Scaled Low";"Scaled High"\n'
            '"Nivel";"400001";"Word";"Linear";"0";"1000";"0";"2,5"\n').encode("cp1252")
    result = convert_kepware(data, "k.csv", _settings())
    (tag,) = result.tags
    assert tag.scale == pytest.approx(0.0025)
    assert tag.line == 3  # the sep= line still counts


@pytest.mark.parametrize(("data", "words"), [
    (b"", "the file is empty"),
    (b'"Tag Name","Address"\n"A","400001\n', "cannot be read as CSV"),
    (b'"Name","Address"\n"A","400001"\n', "no 'Tag Name' column"),
])
def test_convert_unusable_files(data, words):
    with pytest.raises(ValidationError) as info:
        convert_kepware(data, "k.csv", _settings())
    assert words in str(info.value)


def test_validate_moves_rows_the_tag_map_parser_rejects_to_skipped(site):
    """The safety net: whatever the converter let through, the real parser has the last word."""
    ctx = TagMapContext.from_config(load_config(site / "gateway.toml"))
    data = b'"Tag Name","Address","Data Type"\n"A","400001","Word"\n"B","400002","Word"\n'
    good = convert_kepware(data, "k.csv", ImportSettings(
        device=ctx.devices["rpc1"], unit=1, scans=(("fast", 1.0),)))
    bad = dataclasses.replace(good, tags=(good.tags[0],
                                          dataclasses.replace(good.tags[1], well="W999")))
    checked = validate(bad, ctx, "<stdout>")
    assert [t.name for t in checked.tags] == ["A"]
    (finding,) = checked.skipped
    assert (finding.line, finding.tag) == (3, "B")
    assert "unknown well 'W999'" in finding.en
    assert validate(good, ctx, "<stdout>") == good
