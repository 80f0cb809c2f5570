"""RTU line discipline, seen from a hand-driven slave on a socat pty pair: the silent
interval before each request, the turnaround after a broadcast, replies in pieces, noise,
a wrong unit, a replugged port.  Timing is asserted as lower bounds only."""

from __future__ import annotations

import os
import select
import struct
import termios
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

import pytest

from daemons.acqd.drivers.base import ConnectionLost, FrameError, NoResponse
from daemons.acqd.drivers.crc import append_crc, check_crc
from daemons.acqd.drivers.modbus_rtu import LineTiming, RtuLink

from .conftest_drivers import run, socat_pair

Action = tuple[float, bytes]  # (seconds after the request arrived, bytes to send)


def answer(frame: bytes) -> bytes:
    """A correct reply of a 'register i holds i' slave to fc 3 / fc 6 requests."""
    unit, fc, address, count = struct.unpack(">BBHH", frame[:6])
    if fc == 3:
        return append_crc(struct.pack(f">BBB{count}H", unit, 3, 2 * count,
                                      *range(address, address + count)))
    return frame  # fc 6: the echo


class RawSlave(threading.Thread):
    """Reads 8-byte requests from the pty and plays back what `script` says for each one.

    Records (arrival time, frame) of every request, and the time of every byte it sent.
    """

    def __init__(self, path: Path, script: Callable[[int, bytes], list[Action]]) -> None:
        super().__init__(daemon=True)
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd, termios.TCSANOW)
        self.script = script
        self.requests: list[tuple[float, bytes]] = []
        self.sent_at: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        buf, first = b"", 0.0
        while not self._halt.is_set():
            if not select.select([self.fd], [], [], 0.02)[0]:
                continue
            chunk = os.read(self.fd, 256)
            if not buf:
                first = time.monotonic()
            buf += chunk
            while len(buf) >= 8:
                frame, buf = buf[:8], buf[8:]
                self.requests.append((first, frame))
                for delay, data in self.script(len(self.requests) - 1, frame):
                    wait = first + delay - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    os.write(self.fd, data)
                    self.sent_at.append(time.monotonic())

    def close(self) -> None:
        self._halt.set()
        self.join(2)
        os.close(self.fd)


def _with_slave(tmp_path: Path, script, body, **link_kw) -> RawSlave:
    with socat_pair(tmp_path / "m", tmp_path / "s"):
        slave = RawSlave(tmp_path / "s", script)
        slave.start()
        link = RtuLink(str(tmp_path / "m"), **link_kw)
        try:
            run(_closing(link, body))
        finally:
            slave.close()
    return slave


async def _closing(link: RtuLink, body) -> None:
    try:
        await body(link)
    finally:
        await link.close()


SLOW = dict(baud=1200, parity="N")  # t3.5 = 29 ms: long enough to see above the noise
T35 = LineTiming(1200, "N", 1).silent_s


def test_request_waits_t35_after_the_last_reply_byte(tmp_path):
    # the reply comes 150 ms late, well after our own request has left the line
    def script(i, frame):
        return [(0.15, answer(frame))]

    async def body(link):
        for address in (0, 10, 20):
            assert await link.read(1, "hr", address, 2, timeout=1.0) == [address, address + 1]

    slave = _with_slave(tmp_path, script, body, **SLOW)
    for k in (1, 2):
        gap = slave.requests[k][0] - slave.sent_at[k - 1]
        assert gap >= T35, (k, gap, T35)


def test_noise_on_the_line_postpones_the_request_and_is_flushed(tmp_path):
    def script(i, frame):
        if i == 0:  # the reply, then stray bytes every 20 ms for 100 ms
            return [(0.0, answer(frame))] + [(0.06 + 0.02 * k, b"\x00") for k in range(6)]
        return [(0.0, answer(frame))]

    async def body(link):
        assert await link.read(1, "hr", 0, 1, timeout=1.0) == [0]
        assert await link.read(1, "hr", 7, 1, timeout=1.0) == [7]  # noise did not corrupt it

    slave = _with_slave(tmp_path, script, body, **SLOW)
    last_noise = slave.sent_at[6]
    assert slave.requests[1][0] - last_noise >= T35


def test_broadcast_waits_the_turnaround_and_expects_no_reply(tmp_path):
    def script(i, frame):
        return [] if frame[0] == 0 else [(0.0, answer(frame))]

    async def body(link):
        await link.write(0, "hr", 4, [99], timeout=1.0)
        assert link.stats.timeouts == 0
        assert await link.read(3, "hr", 4, 1, timeout=1.0) == [4]
        with pytest.raises(ValueError):
            await link.read(0, "hr", 0, 1, timeout=1.0)  # broadcast reads do not exist

    slave = _with_slave(tmp_path, script, body, baud=19200, parity="E", turnaround_s=0.2)
    assert slave.requests[0][1][0] == 0 and check_crc(slave.requests[0][1])
    assert slave.requests[1][0] - slave.requests[0][0] >= 0.2


def test_reply_in_pieces_exception_and_response_time(tmp_path):
    def script(i, frame):
        if i == 0:
            reply = answer(frame)
            return [(0.1, reply[:3]), (0.11, reply[3:9]), (0.12, reply[9:])]
        return [(0.0, append_crc(bytes((frame[0], 0x83, 0x02))))]

    async def body(link):
        assert await link.read(5, "hr", 100, 10, timeout=1.0) == list(range(100, 110))
        assert link.stats.last_response_s >= 0.12
        from daemons.acqd.drivers.base import ExceptionResponse

        with pytest.raises(ExceptionResponse) as exc:
            await link.read(5, "hr", 100, 10, timeout=1.0)
        assert exc.value.code == 2 and link.stats.exceptions == 1

    _with_slave(tmp_path, script, body, baud=19200, parity="N")


def test_garbage_is_drained_until_the_line_is_silent(tmp_path):
    def script(i, frame):
        if i == 0:  # 10 noise bytes over 90 ms instead of a reply
            return [(0.01 * k, b"\xa5") for k in range(10)]
        return [(0.0, answer(frame))]

    async def body(link):
        with pytest.raises(FrameError):
            await link.read(1, "hr", 0, 4, timeout=0.5)
        assert await link.read(1, "hr", 0, 4, timeout=1.0) == [0, 1, 2, 3]
        assert link.stats.crc_errors == 1

    slave = _with_slave(tmp_path, script, body, baud=19200, parity="N")
    assert slave.requests[1][0] >= slave.sent_at[9] + LineTiming(19200, "N").silent_s


def test_reply_from_the_wrong_unit_or_truncated_is_a_frame_error(tmp_path):
    def script(i, frame):
        reply = answer(frame)
        if i == 0:
            return [(0.0, bytes((frame[0] + 1,)) + reply[1:])]  # another slave answers
        if i == 1:
            return [(0.0, reply[:4])]  # cut short
        if i == 2:  # a whole, valid frame with one register fewer than asked for
            return [(0.0, append_crc(struct.pack(">BBBH", frame[0], 3, 2, 0)))]
        return [(0.0, reply)]

    async def body(link):
        for _ in range(2):
            with pytest.raises(FrameError):
                await link.read(1, "hr", 0, 2, timeout=0.2)
        t0 = time.monotonic()
        with pytest.raises(FrameError, match="expected"):
            await link.read(1, "hr", 0, 2, timeout=5.0)
        assert time.monotonic() - t0 < 2.5  # known by its byte count, not by the timeout
        assert await link.read(1, "hr", 0, 2, timeout=1.0) == [0, 1]
        assert link.stats.crc_errors == 3 and link.stats.timeouts == 0

    _with_slave(tmp_path, script, body, baud=19200, parity="N")


def test_a_replugged_port_is_noticed_at_the_next_timeout(tmp_path):
    """The port path now names another device (a USB adapter re-enumerated): reopen it."""
    port = tmp_path / "ttyUSB0"
    with socat_pair(tmp_path / "m1", tmp_path / "s1"), \
            socat_pair(tmp_path / "m2", tmp_path / "s2"):
        port.symlink_to(tmp_path / "m1")
        slave = RawSlave(tmp_path / "s2",
                         lambda i, frame: [(0.0, answer(frame))] if frame[0] == 1 else [])
        slave.start()

        async def body(link):
            await link.open()
            port.unlink()
            port.symlink_to(tmp_path / "m2")
            with pytest.raises(ConnectionLost, match="replaced"):
                await link.read(1, "hr", 0, 1, timeout=0.1)  # old port: nobody answers
            assert await link.read(1, "hr", 3, 1, timeout=1.0) == [3]
            assert link.stats.reconnects == 1
            with pytest.raises(NoResponse):
                await link.read(2, "hr", 0, 1, timeout=0.05)  # fd still fine: a timeout
            assert link.stats.timeouts == 2

        try:
            run(_closing(RtuLink(str(port), baud=19200, parity="N"), body))
        finally:
            slave.close()


def test_a_babbling_line_fails_the_call_instead_of_stalling_the_bus(tmp_path):
    def script(i, frame):
        if i == 0:  # instead of a reply: a byte every 5 ms for 1 s (t3.5 is 29 ms)
            return [(0.005 * k, b"\x55") for k in range(200)]
        return [(0.0, answer(frame))]

    async def body(link):
        with pytest.raises(FrameError):
            await link.read(1, "hr", 0, 1, timeout=0.2)
        with pytest.raises(NoResponse, match="never silent"):
            await link.read(1, "hr", 0, 1, timeout=0.2)
        assert await _read_when_quiet(link) == [6]

    slave = _with_slave(tmp_path, script, body, **SLOW)
    assert len(slave.requests) == 2  # the request during the noise was never sent


async def _read_when_quiet(link):
    for _ in range(20):
        try:
            return await link.read(1, "hr", 6, 1, timeout=0.5)
        except NoResponse:
            continue
    raise AssertionError("the line never became usable")
