"""Shared fixtures of the simulator's transport and site tests: a tiny test-only model.

`CounterModel` has known register values, a step counter and a write hook, so the Modbus
servers can be tested before (and independently of) the real device physics.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from daemons.sim.background import SiteThread
from daemons.sim.site import SimSite
from daemons.sim.sitefile import SiteConfig, parse_site
from daemons.sim.testmodel import (  # noqa: F401 - re-exported to the tests
    COUNTER_IR,
    ECHO_HR,
    ECHO_IR,
    GAP_HR,
    HR_BASE,
    IR_BASE,
    CounterModel,
)

MODELS: Mapping[str, type] = {"test_counter": CounterModel}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def site_text(baud: int = 19200, turnaround_ms: float = 10.0, extra: str = "") -> str:
    """Two RTU units on one bus, two TCP units sharing a port, one TCP device alone."""
    return f"""
[site]
name = "test"
seed = 7
truth_interval_s = 0.2

[[bus]]
name = "rs485-1"
link = "ttyRS485-1"
baud = {baud}
parity = "N"
stop_bits = 1
turnaround_ms = {turnaround_ms}

[[device]]
name = "rtu1"
model = "test_counter"
unit = 1
bus = "rs485-1"

[[device]]
name = "rtu2"
model = "test_counter"
unit = 2
bus = "rs485-1"
[device.params]
offset = 100

[[device]]
name = "gw1"
model = "test_counter"
unit = 1
tcp_port = 5020

[[device]]
name = "gw2"
model = "test_counter"
unit = 2
tcp_port = 5020
[device.params]
offset = 100

[[device]]
name = "solo"
model = "test_counter"
unit = 9
tcp_port = 0
{extra}
"""


def make_site(text: str | None = None) -> SiteConfig:
    return parse_site(text or site_text(), "test-site.toml", set(MODELS))


@pytest.fixture
def need_socat() -> None:
    if shutil.which("socat") is None:
        pytest.skip("socat is not installed (apt-get install -y socat)")


@pytest.fixture
def runner(tmp_path: Path, need_socat: None) -> Iterator[SiteThread]:
    """The test site, isolated (free ports, links in tmp_path), on its own loop thread."""
    thread = SiteThread(make_site(), state_dir=tmp_path, models=MODELS, isolated=True)
    with thread:
        yield thread


@pytest.fixture
def site(runner: SiteThread) -> SimSite:
    return runner.sim


@pytest.fixture
def master(site: SimSite) -> Iterator[RawRtu]:
    """A raw master on the test bus's pty."""
    raw = RawRtu(site.pty_links["rs485-1"])
    yield raw
    raw.close()


class RawRtu:
    """A bare master on the pty: exact bytes out, exact bytes in (for framing/fault tests)."""

    def __init__(self, link: Path) -> None:
        import os
        import termios
        import tty

        self._os = os
        self.fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd, termios.TCSANOW)

    def send(self, data: bytes) -> None:
        self._os.write(self.fd, data)

    def receive(self, n: int, timeout: float = 2.0) -> bytes:
        """Up to n bytes, or fewer if nothing more comes within `timeout`."""
        import select
        import time

        out = b""
        deadline = time.monotonic() + timeout
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                break
            out += self._os.read(self.fd, n - len(out))
        return out

    def close(self) -> None:
        self._os.close(self.fd)


def wait_for(predicate: Any, timeout: float = 3.0, interval: float = 0.02) -> Any:
    """Poll `predicate` until it returns something truthy (behaviour, not speed)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def check_all_function_codes(client: Any, unit: int, offset: int, model: CounterModel) -> None:
    """Drive fc 1, 2, 3, 4, 5, 6, 15, 16, 23, 8/0 and 43/14 through a pymodbus client."""
    rr = client.read_holding_registers(0, count=125, device_id=unit)
    assert not rr.isError(), rr
    assert rr.registers == [HR_BASE + offset + i for i in range(125)]
    rr = client.read_input_registers(0, count=10, device_id=unit)
    assert rr.registers == [IR_BASE + offset + i for i in range(10)]
    rr = client.read_coils(0, count=2000, device_id=unit)
    assert rr.bits[:2000] == [i % 3 == 0 for i in range(2000)]
    rr = client.read_discrete_inputs(0, count=16, device_id=unit)
    assert rr.bits[:16] == [i % 2 == 1 for i in range(16)]

    assert not client.write_register(ECHO_HR, 21, device_id=unit).isError()
    assert client.read_holding_registers(ECHO_HR, count=1, device_id=unit).registers == [21]
    # the write reached the model's on_write (it mirrors hr[300] * 2 into ir[20])
    assert wait_for(lambda: client.read_input_registers(
        ECHO_IR, count=1, device_id=unit).registers == [42])
    assert ("hr", ECHO_HR, [21]) in model.writes

    assert not client.write_registers(200, [7, 8, 9], device_id=unit).isError()
    assert client.read_holding_registers(199, count=5, device_id=unit).registers == [
        HR_BASE + offset + 199, 7, 8, 9, HR_BASE + offset + 203]
    assert not client.write_coil(1, True, device_id=unit).isError()
    assert not client.write_coils(10, [True, False, True], device_id=unit).isError()
    bits = client.read_coils(0, count=16, device_id=unit).bits
    assert bits[1] is True and bits[10:13] == [True, False, True]

    rr = client.readwrite_registers(read_address=0, read_count=3, write_address=1,
                                    values=[555], device_id=unit)
    assert rr.registers == [HR_BASE + offset, 555, HR_BASE + offset + 2]

    rr = client.diag_query_data(b"\x12\x34", device_id=unit)
    assert not rr.isError(), rr
    assert rr.message == b"\x12\x34"
    rr = client.read_device_information(device_id=unit)
    assert not rr.isError(), rr
    assert rr.information[0] == b"wellgate"
    assert rr.information[1] == b"test_counter"
