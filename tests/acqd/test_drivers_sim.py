"""Our masters against the simulated site (daemons.sim) and its injected faults: what a
dead, slow, noisy or unplugged device looks like through a Link, and that it recovers."""

from __future__ import annotations

import asyncio
import time

import pytest
import structlog.testing

from daemons.acqd.drivers.base import (
    ConnectionLost,
    ExceptionResponse,
    FrameError,
    NoResponse,
)
from daemons.acqd.drivers.modbus_rtu import RtuLink
from daemons.acqd.drivers.modbus_tcp import TcpLink

from .conftest_drivers import HR_BASE, IR_BASE, coils, inputs, run, sim_site

T = 1.0  # a generous timeout for requests that must succeed


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with sim_site(tmp_path_factory.mktemp("sim")) as (thread, site):
        yield thread, site


@pytest.fixture
def clean(sim):
    thread, site = sim
    yield thread, site
    thread.call(site.clear())
    # a cleared disconnect brings links back on the site's housekeeping tick
    deadline = time.monotonic() + 5
    while site.status()["links_down"] and time.monotonic() < deadline:
        time.sleep(0.02)


def _tcp(site, device: str) -> TcpLink:
    return TcpLink("127.0.0.1", site.tcp_ports[device], connect_timeout=1.0)


def _rtu(site) -> RtuLink:
    return RtuLink(str(site.pty_links["rs485"]), baud=19200, parity="N")


async def _until_ok(link, unit: int, limit_s: float = 5.0) -> list[int]:
    """Poll like acqd does (each call fails fast or succeeds) until the link answers."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            return await link.read(unit, "hr", 0, 2, timeout=T)
        except NoResponse:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


# --- TCP ---------------------------------------------------------------------------
def test_tcp_units_behind_one_port_share_one_connection(clean):
    _, site = clean

    async def go() -> None:
        link = _tcp(site, "gw1")
        try:
            assert await link.read(1, "hr", 0, 3, timeout=T) == [1000, 1001, 1002]
            assert await link.read(2, "hr", 0, 3, timeout=T) == [1100, 1101, 1102]
            assert await link.read(2, "ir", 0, 2, timeout=T) == [IR_BASE + 100, IR_BASE + 101]
            assert await link.read(1, "di", 0, 8, timeout=T) == inputs()[:8]
            await link.write(2, "hr", 180, [11, 12], timeout=T)
            assert await link.read(2, "hr", 180, 2, timeout=T) == [11, 12]
            assert await link.read(1, "hr", 180, 2, timeout=T) == [1180, 1181]
            assert link.stats.reconnects == 0 and link.stats.connect_failures == 0
        finally:
            await link.close()

    run(go())


def test_tcp_reset_refusal_backoff_and_recovery(clean):
    thread, site = clean

    async def go() -> None:
        link = _tcp(site, "solo")
        try:
            assert await link.read(9, "hr", 0, 1, timeout=T) == [HR_BASE]
            thread.call(site.fault("solo", "disconnect"))  # resets us, refuses newcomers
            await asyncio.sleep(0.05)
            with pytest.raises(ConnectionLost):
                await link.read(9, "hr", 0, 1, timeout=T)  # reconnect attempt: refused
            assert link.stats.connect_failures == 1
            with pytest.raises(ConnectionLost, match="next attempt"):
                await link.read(9, "hr", 0, 1, timeout=T)  # backing off: no attempt made
            assert link.stats.connect_failures == 1
            await asyncio.sleep(0.6)
            with pytest.raises(ConnectionLost):
                await link.read(9, "hr", 0, 1, timeout=T)  # the next attempt, refused again
            assert link.stats.connect_failures == 2
            thread.call(site.clear("solo"))
            assert await _until_ok(link, 9) == [HR_BASE, HR_BASE + 1]
            assert link.stats.reconnects == 1
        finally:
            await link.close()

    with structlog.testing.capture_logs() as logs:
        run(go())
    name = f"tcp:127.0.0.1:{site.tcp_ports['solo']}"
    events = [e["event"] for e in logs if e.get("link") == name]
    assert events.count("link unavailable") == 1 and events.count("link recovered") == 1


def test_tcp_reset_during_a_request_is_connection_lost_not_a_timeout(clean):
    thread, site = clean

    async def go() -> None:
        link = _tcp(site, "solo")
        try:
            await link.open()
            thread.call(site.fault("solo", "slow", delay_ms=2000))
            pending = asyncio.ensure_future(link.read(9, "hr", 0, 1, timeout=5.0))
            await asyncio.sleep(0.2)
            thread.call(site.fault("solo", "disconnect"))
            with pytest.raises(ConnectionLost):
                await pending
            assert link.stats.timeouts == 0
        finally:
            await link.close()

    run(go())


def test_tcp_drop_is_no_response_and_other_units_keep_answering(clean):
    thread, site = clean

    async def go() -> None:
        link = _tcp(site, "gw1")
        try:
            thread.call(site.fault("gw2", "drop"))
            t0 = time.monotonic()
            with pytest.raises(NoResponse) as exc:
                await link.read(2, "hr", 0, 1, timeout=0.2)
            assert not isinstance(exc.value, ConnectionLost)
            assert 0.2 <= time.monotonic() - t0 < 3.0  # it waited, but did not hang
            assert exc.value.unit == 2
            assert await link.read(1, "hr", 0, 1, timeout=T) == [HR_BASE]
            assert link.stats.timeouts == 1
        finally:
            await link.close()

    run(go())


def test_tcp_late_reply_is_read_and_dropped_by_transaction_id(clean):
    thread, site = clean

    async def go() -> None:
        link = _tcp(site, "gw1")
        try:
            thread.call(site.fault("gw1", "slow", delay_ms=300))
            with pytest.raises(NoResponse):
                await link.read(1, "hr", 0, 3, timeout=0.1)
            thread.call(site.clear("gw1"))
            # the late 3-register reply arrives first and must not be taken for this one
            assert await link.read(1, "hr", 5, 1, timeout=T) == [HR_BASE + 5]
            assert link.stats.stale_replies == 1 and link.stats.reconnects == 0
        finally:
            await link.close()

    run(go())


def test_tcp_garbage_is_a_frame_error_and_the_next_request_succeeds(clean):
    thread, site = clean

    async def go() -> None:
        link = _tcp(site, "solo")
        try:
            thread.call(site.fault("solo", "garbage", bytes=3))
            with pytest.raises(FrameError):
                await link.read(9, "hr", 0, 2, timeout=T)
            thread.call(site.clear("solo"))
            assert await link.read(9, "hr", 0, 2, timeout=T) == [HR_BASE, HR_BASE + 1]
            assert link.stats.crc_errors == 1
        finally:
            await link.close()

    run(go())


def test_tcp_exception_fault(clean):
    thread, site = clean

    async def go() -> None:
        link = _tcp(site, "gw1")
        try:
            thread.call(site.fault("gw2", "exception", code=6, first=100, last=110))
            assert await link.read(2, "hr", 0, 2, timeout=T) == [1100, 1101]
            with pytest.raises(ExceptionResponse) as exc:
                await link.read(2, "hr", 95, 10, timeout=T)
            assert exc.value.code == 6 and exc.value.address == 95
        finally:
            await link.close()

    run(go())


# --- RTU ---------------------------------------------------------------------------
def test_rtu_several_units_on_one_bus_and_broadcast(clean):
    _, site = clean

    async def go() -> None:
        link = _rtu(site)
        try:
            for unit, offset in ((1, 0), (2, 100)):
                assert await link.read(unit, "hr", 0, 125, timeout=T) == [
                    HR_BASE + offset + i for i in range(125)]
                assert await link.read(unit, "ir", 0, 3, timeout=T) == [
                    IR_BASE + offset + i for i in range(3)]
                assert await link.read(unit, "co", 0, 20, timeout=T) == coils()[:20]
                assert await link.read(unit, "di", 0, 20, timeout=T) == inputs()[:20]
            await link.write(2, "hr", 170, [5, 6], timeout=T)
            await link.write(1, "co", 30, [1, 1, 1], timeout=T)
            assert await link.read(2, "hr", 170, 2, timeout=T) == [5, 6]
            assert await link.read(1, "co", 30, 3, timeout=T) == [1, 1, 1]
            await link.write(0, "hr", 190, [777], timeout=T)  # broadcast: nobody answers
            for unit in (1, 2):
                assert await link.read(unit, "hr", 190, 1, timeout=T) == [777]
            assert link.stats.timeouts == link.stats.crc_errors == 0
            assert link.stats.last_response_s > 0
        finally:
            await link.close()

    run(go())


def test_rtu_crc_and_garbage_are_frame_errors_and_the_bus_carries_on(clean):
    thread, site = clean

    async def go() -> None:
        link = _rtu(site)
        try:
            thread.call(site.fault("rtu2", "crc"))
            with pytest.raises(FrameError, match="CRC"):
                await link.read(2, "hr", 0, 10, timeout=T)
            assert await link.read(1, "hr", 0, 10, timeout=T) == [
                HR_BASE + i for i in range(10)]
            thread.call(site.clear("rtu2"))
            assert await link.read(2, "hr", 0, 1, timeout=T) == [HR_BASE + 100]
            thread.call(site.fault("rtu1", "garbage", bytes=5))
            with pytest.raises(FrameError):
                await link.read(1, "hr", 0, 4, timeout=T)
            thread.call(site.clear("rtu1"))
            assert await link.read(1, "hr", 0, 4, timeout=T) == [
                HR_BASE + i for i in range(4)]
            assert link.stats.crc_errors == 2 and link.stats.timeouts == 0
        finally:
            await link.close()

    run(go())


def test_rtu_dead_slave_costs_one_timeout_and_the_other_answers(clean):
    thread, site = clean

    async def go() -> None:
        link = _rtu(site)
        try:
            thread.call(site.fault("rtu2", "drop"))
            with pytest.raises(NoResponse) as exc:
                await link.read(2, "hr", 0, 1, timeout=0.2)
            assert not isinstance(exc.value, ConnectionLost)
            assert await link.read(1, "hr", 0, 1, timeout=T) == [HR_BASE]
            thread.call(site.fault("rtu1", "exception"))
            with pytest.raises(ExceptionResponse) as exc:
                await link.read(1, "hr", 0, 1, timeout=T)
            assert exc.value.code == 4
            assert link.stats.timeouts == 1 and link.stats.exceptions == 1
        finally:
            await link.close()

    run(go())


def test_rtu_cable_pulled_then_restored(clean):
    thread, site = clean

    async def go() -> None:
        link = _rtu(site)
        try:
            assert await link.read(1, "hr", 0, 1, timeout=T) == [HR_BASE]
            thread.call(site.fault("rtu1", "slow", delay_ms=2000))
            pending = asyncio.ensure_future(link.read(1, "hr", 0, 1, timeout=5.0))
            await asyncio.sleep(0.2)
            thread.call(site.fault("rtu1", "disconnect"))  # the whole bus goes
            with pytest.raises(ConnectionLost):
                await pending
            with pytest.raises(ConnectionLost):  # the port is gone: reopening fails
                await link.read(2, "hr", 0, 1, timeout=T)
            failures = link.stats.connect_failures
            assert failures >= 1
            with pytest.raises(ConnectionLost, match="next attempt"):
                await link.read(2, "hr", 0, 1, timeout=T)
            assert link.stats.connect_failures == failures  # backing off, not retrying
            thread.call(site.clear())
            assert await _until_ok(link, 2) == [HR_BASE + 100, HR_BASE + 101]
            assert link.stats.reconnects == 1
        finally:
            await link.close()

    with structlog.testing.capture_logs() as logs:
        run(go())
    events = [e["event"] for e in logs if e.get("link", "").startswith("rtu:")]
    assert events.count("link unavailable") == 1 and events.count("link recovered") == 1
