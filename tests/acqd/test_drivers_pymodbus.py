"""Our masters against an INDEPENDENT slave: pymodbus's TCP server, and its RTU server on a
socat pty pair.  Reads of all four tables, writes (fc 5/6/15/16) read back, exception 02."""

from __future__ import annotations

import pytest

from daemons.acqd.drivers.base import ExceptionResponse, Link
from daemons.acqd.drivers.modbus_rtu import RtuLink
from daemons.acqd.drivers.modbus_tcp import TcpLink

from .conftest_drivers import (
    HR_BASE,
    IR_BASE,
    coils,
    inputs,
    pymodbus_slave,
    run,
    socat_pair,
)

TIMEOUT = 2.0


@pytest.fixture(scope="module")
def tcp_port(tmp_path_factory):
    with pymodbus_slave(tmp_path_factory.mktemp("pm-tcp"), "tcp") as port:
        yield int(port)


@pytest.fixture(scope="module")
def rtu_port(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pm-rtu")
    with socat_pair(tmp / "master", tmp / "slave"), \
            pymodbus_slave(tmp, "rtu", str(tmp / "slave"), "19200"):
        yield str(tmp / "master")


def _links(kind: str, request) -> Link:
    if kind == "tcp":
        return TcpLink("127.0.0.1", request.getfixturevalue("tcp_port"))
    return RtuLink(request.getfixturevalue("rtu_port"), baud=19200, parity="N")


@pytest.fixture(params=["tcp", "rtu"])
def link(request) -> Link:
    return _links(request.param, request)


async def _reads(link: Link) -> None:
    try:
        for unit in (1, 2):
            assert await link.read(unit, "hr", 0, 125, timeout=TIMEOUT) == [
                HR_BASE + i for i in range(125)]
            assert await link.read(unit, "ir", 10, 5, timeout=TIMEOUT) == [
                IR_BASE + 10 + i for i in range(5)]
            assert await link.read(unit, "co", 0, 50, timeout=TIMEOUT) == coils()[:50]
            assert await link.read(unit, "di", 3, 13, timeout=TIMEOUT) == inputs()[3:16]
        assert link.stats.requests == link.stats.responses == 8
        assert link.stats.bytes_in > 250 and link.stats.last_response_s > 0
    finally:
        await link.close()


def test_reads_of_all_four_tables(link):
    run(_reads(link))


async def _writes(link: Link) -> None:
    try:
        await link.write(1, "hr", 150, [4242], timeout=TIMEOUT)  # fc 6
        await link.write(1, "hr", 160, [1, 2, 65535], timeout=TIMEOUT)  # fc 16
        assert await link.read(1, "hr", 149, 3, timeout=TIMEOUT) == [
            HR_BASE + 149, 4242, HR_BASE + 151]
        assert await link.read(1, "hr", 160, 3, timeout=TIMEOUT) == [1, 2, 65535]
        await link.write(1, "co", 50, [0 if coils()[50] else 1], timeout=TIMEOUT)  # fc 5
        await link.write(1, "co", 60, [1, 1, 0, 1, 0, 0, 1, 1, 1], timeout=TIMEOUT)  # fc 15
        got = await link.read(1, "co", 50, 19, timeout=TIMEOUT)
        assert got[0] == (0 if coils()[50] else 1)
        assert got[10:19] == [1, 1, 0, 1, 0, 0, 1, 1, 1]
        # unit 2 is a separate device: untouched
        assert await link.read(2, "hr", 150, 1, timeout=TIMEOUT) == [HR_BASE + 150]
    finally:
        await link.close()


def test_writes_are_read_back(link):
    run(_writes(link))


async def _exception(link: Link) -> None:
    try:
        with pytest.raises(ExceptionResponse) as exc:
            await link.read(1, "hr", 190, 20, timeout=TIMEOUT)  # 200.. is not there
        assert exc.value.code == 2
        assert (exc.value.unit, exc.value.function, exc.value.address) == (1, 3, 190)
        with pytest.raises(ExceptionResponse) as exc:
            await link.write(2, "hr", 300, [1, 2], timeout=TIMEOUT)
        assert exc.value.code == 2
        assert link.stats.exceptions == 2
        # the link is fine afterwards
        assert await link.read(1, "hr", 190, 10, timeout=TIMEOUT) == [
            HR_BASE + 190 + i for i in range(10)]
    finally:
        await link.close()


def test_exception_02_is_an_exception_response(link):
    run(_exception(link))
