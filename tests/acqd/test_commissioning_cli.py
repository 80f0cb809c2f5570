"""`wellgate modbus …` and `wellgate tagmap check` against the simulated test slaves."""

import struct

import pytest

pytestmark = pytest.mark.timeout(90)




def test_modbus_read_raw_and_typed(acqd_site):
    out = acqd_site.cli("modbus", "read", "--device", "rtu1", "--table", "hr",
                   "--address", "0", "--count", "3")
    assert out.returncode == 0, out.stderr
    assert "0x03E8   1000" in out.stdout and "1002" in out.stdout
    typed = acqd_site.cli("modbus", "read", "--device", "gw1", "--table", "hr",
                     "--address", "10", "--type", "float32", "--order", "CDAB")
    expected = struct.unpack(">f", struct.pack(">HH", 1011, 1010))[0]
    assert typed.returncode == 0, typed.stderr
    assert f"float32 CDAB: {expected:g}" in typed.stdout
    bad = acqd_site.cli("modbus", "read", "--device", "rtu1", "--table", "hr",
                   "--address", "262")
    assert bad.returncode == 1 and "exception" in bad.stderr.lower()
    unknown = acqd_site.cli("modbus", "read", "--device", "nope", "--table", "hr",
                       "--address", "0")
    assert unknown.returncode == 1 and "unknown device 'nope'" in unknown.stderr


def test_modbus_write_then_read_back(acqd_site):
    # The test slave doubles whatever is written to hr 300 into ir 20.
    out = acqd_site.cli("modbus", "write", "--device", "gw1", "--table", "hr",
                   "--address", "300", "21")
    assert out.returncode == 0, out.stderr
    sim = acqd_site.sim.sim
    for _ in range(30):
        back = acqd_site.cli("modbus", "read", "--device", "gw1", "--table", "ir",
                        "--address", "20")
        if "    42" in back.stdout:
            break
    assert "    42" in back.stdout, back.stdout
    assert sim is not None
    refused = acqd_site.cli("modbus", "write", "--device", "gw1", "--table", "ir",
                       "--address", "0", "1")
    assert refused.returncode == 1 and "read-only" in refused.stderr


def test_modbus_scan_finds_the_units_on_the_bus(acqd_site):
    out = acqd_site.cli("modbus", "scan", "--device", "rtu1", "--units", "1-4")
    assert out.returncode == 0, out.stderr
    assert "unit   1 answers" in out.stdout and "unit   2 answers" in out.stdout
    assert "unit   3" not in out.stdout and "unit   4" not in out.stdout
    usage = acqd_site.cli("modbus", "scan", "--device", "rtu1", "--units", "x")
    assert usage.returncode == 1


def test_tagmap_check_reads_every_tag_once(acqd_site):
    maps = acqd_site.root / "tagmaps" / "test.csv"
    out = acqd_site.cli("tagmap", "check", str(maps))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "R1.HR0" in out.stdout and "1000" in out.stdout
    assert "[200] 1020 1021 1022 …" in out.stdout
    assert "14 of 14 tags read good" in out.stdout
    assert all(len(line) <= 80 for line in out.stdout.splitlines())
    wrong = acqd_site.root / "wrong.csv"
    wrong.write_text("tag,device,table,address,type\nR1.GHOST,rtu1,hr,262,uint16\n")
    bad = acqd_site.cli("tagmap", "check", str(wrong))
    assert bad.returncode == 1 and "device-failure (02)" in bad.stdout
