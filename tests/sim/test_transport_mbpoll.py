"""mbpoll (libmodbus, Debian package) as a second independent master, on TCP and RTU."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from .conftest import ECHO_HR, HR_BASE, IR_BASE

pytestmark = pytest.mark.skipif(shutil.which("mbpoll") is None,
                                reason="mbpoll is not installed (apt-get install -y mbpoll)")


def _mbpoll(*args: str) -> str:
    done = subprocess.run(["mbpoll", "-1", "-o", "2", *args], capture_output=True, text=True,
                          timeout=15, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _values(output: str) -> dict[int, int]:
    """mbpoll prints one `[reference]: value` line per register."""
    return {int(ref): int(val) for ref, val in re.findall(r"^\[(\d+)\]:\s+(-?\d+)\s*$", output,
                                                          re.MULTILINE)}


def test_mbpoll_reads_tcp_units(site):
    port = str(site.tcp_ports["gw1"])
    out = _mbpoll("-m", "tcp", "-p", port, "-a", "2", "-t", "4", "-0", "-r", "10", "-c", "4",
                  "127.0.0.1")
    assert _values(out) == {10 + i: HR_BASE + 100 + 10 + i for i in range(4)}
    out = _mbpoll("-m", "tcp", "-p", port, "-a", "1", "-t", "3", "-0", "-r", "0", "-c", "3",
                  "127.0.0.1")
    assert _values(out) == {i: IR_BASE + i for i in range(3)}


def test_mbpoll_reads_and_writes_over_rtu(site):
    link = str(site.pty_links["rs485-1"])
    serial = ["-m", "rtu", "-b", "19200", "-P", "none", "-d", "8", "-s", "1"]
    out = _mbpoll(*serial, "-a", "2", "-t", "4", "-0", "-r", "0", "-c", "5", link)
    assert _values(out) == {i: HR_BASE + 100 + i for i in range(5)}
    _mbpoll(*serial, "-a", "1", "-t", "4", "-0", "-r", str(ECHO_HR), link, "1234")
    out = _mbpoll(*serial, "-a", "1", "-t", "4", "-0", "-r", str(ECHO_HR), "-c", "1", link)
    assert _values(out) == {ECHO_HR: 1234}
    out = _mbpoll(*serial, "-a", "1", "-t", "0", "-0", "-r", "0", "-c", "6", link)
    assert _values(out) == {i: int(i % 3 == 0) for i in range(6)}
