"""Modbus RTU master on one serial port (an RS-485 line shared by several slaves).

Framing and timing follow Modbus over Serial Line V1.02 (modbus.org 2006):
- a frame is unit, PDU, CRC-16/MODBUS low byte first (§2.5.1, crc.py);
- character time = (1 start + 8 data + 1 parity unless none + stop bits) / baud (§2.5.1);
- frames are separated by a silent interval of 3.5 character times, fixed at 1.75 ms
  above 19,200 baud (§2.5.1.1): before each request we wait until the line has been
  silent that long since the last byte seen on it (ours or anyone's);
- a broadcast (unit 0) is a write nobody answers; the master then waits its "turnaround
  delay" so the slaves can execute it before the next request (§2.4.1).

The port is opened with pyserial (baud, parity and stop bits, exclusive lock) and then
driven by the event loop directly: loop.add_reader on its non-blocking fd, os.read /
os.write.  No serial_asyncio, no thread, no polling sleep: the reply is read by its
expected length (exception replies 5 bytes, register reads 2*count + 5, bit reads
ceil(count/8) + 5, write echoes 8), so a complete reply is returned the moment its last
byte arrives instead of after an inter-character timeout.

The timeout given per call is the slave's allowance to answer; the line time of the
request and of the expected reply is added to it, so one setting fits 9600 and 115200
baud alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import serial

from daemons.acqd.drivers import pdu as modbus
from daemons.acqd.drivers.base import (
    Backoff,
    ConnectionLost,
    FrameError,
    LinkStats,
    NoResponse,
)
from daemons.acqd.drivers.crc import append_crc, crc16
from daemons.core.config.model import DeviceConfig
from daemons.core.service.logsetup import Availability, get_logger

PROTOCOL = "modbus-rtu"
PARITIES = MappingProxyType({"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN,
                             "O": serial.PARITY_ODD})
STOP_BITS = MappingProxyType({1: serial.STOPBITS_ONE, 2: serial.STOPBITS_TWO})
FIXED_SILENT_S = 0.00175  # §2.5.1.1: above 19,200 baud
FIXED_SILENT_ABOVE_BAUD = 19200
# While draining garbage the line counts as silent after this long without a byte: USB
# adapters and ptys deliver in bursts whose gaps can exceed t3.5 at high baud rates.
DRAIN_QUIET_S = 0.02
EXCEPTION_FRAME = 5  # unit + fc|0x80 + code + CRC
ADU_OVERHEAD = 3  # unit + CRC


@dataclass(frozen=True, slots=True)
class LineTiming:
    """Character and silent-interval times of a serial line (Modbus RTU: 8 data bits)."""

    baud: int
    parity: str = "E"
    stop_bits: int = 1

    @property
    def bits_per_char(self) -> int:
        return 1 + 8 + (0 if self.parity == "N" else 1) + self.stop_bits

    @property
    def char_s(self) -> float:
        return self.bits_per_char / self.baud

    @property
    def silent_s(self) -> float:
        """t3.5 (§2.5.1.1)."""
        if self.baud > FIXED_SILENT_ABOVE_BAUD:
            return FIXED_SILENT_S
        return 3.5 * self.char_s

    def frame_s(self, nbytes: int) -> float:
        return nbytes * self.char_s


def _wake(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_result(None)


class RtuLink:
    """A Modbus RTU master on one serial port (see the module docstring)."""

    def __init__(self, port: str, *, baud: int = 19200, parity: str = "E", stop_bits: int = 1,
                 turnaround_s: float = 0.0, name: str | None = None,
                 exclusive: bool = True) -> None:
        if parity not in PARITIES:
            raise ValueError(f"parity must be one of {', '.join(PARITIES)}, not {parity!r}")
        if stop_bits not in STOP_BITS:
            raise ValueError(f"stop bits must be 1 or 2, not {stop_bits}")
        self.port = port
        self.line = LineTiming(baud, parity, stop_bits)
        self.turnaround_s = turnaround_s
        self.exclusive = exclusive  # flock: a second master on the same port fails clearly
        self.name = name or f"rtu:{port}"
        self.stats = LinkStats()
        self._log = get_logger(__name__, link=self.name)
        self._availability = Availability(self._log, "link")
        self._backoff = Backoff()
        self._lock = asyncio.Lock()
        self._serial: serial.Serial | None = None
        self._fd: int | None = None
        self._rdev: int | None = None
        self._rx = bytearray()
        self._waiter: asyncio.Future[Any] | None = None
        self._want = 0
        self._last_rx = 0.0  # time.monotonic() of the last byte seen on the line
        self._tx_end = 0.0  # when our last request has left the line (estimated)
        self._hold_until = 0.0  # turnaround after a broadcast
        self._opened_once = False

    @property
    def connected(self) -> bool:
        return self._fd is not None

    # --- the Link contract ----------------------------------------------------------
    async def open(self) -> None:
        async with self._lock:
            self._ensure_open()

    async def read(self, unit: int, table: str, address: int, count: int, *,
                   timeout: float) -> list[int]:
        if unit == 0:
            raise ValueError("unit 0 is the serial broadcast address: it can only write")
        values = await self._transact(modbus.read_request(unit, table, address, count),
                                      timeout)
        assert values is not None
        return values

    async def write(self, unit: int, table: str, address: int, values: Sequence[int], *,
                    timeout: float) -> None:
        await self._transact(modbus.write_request(unit, table, address, values), timeout)

    async def close(self) -> None:
        async with self._lock:
            self._shut(ConnectionLost(f"{self.name}: closed"))
            self._backoff.succeeded()

    # --- one request ----------------------------------------------------------------
    async def _transact(self, request: modbus.Request, timeout: float) -> list[int] | None:
        async with self._lock:
            self._ensure_open()
            try:
                return await self._exchange(request, timeout)
            except FrameError:
                self.stats.crc_errors += 1
                raise

    async def _exchange(self, request: modbus.Request, timeout: float) -> list[int] | None:
        await self._wait_silence(timeout)
        where = {"unit": request.unit, "function": request.function,
                 "address": request.address}
        frame = append_crc(bytes((request.unit,)) + request.pdu)
        self._flush_input()
        started = time.monotonic()
        await self._send(frame, started + timeout)
        self.stats.requests += 1
        if request.unit == 0:
            self._hold_until = self._tx_end + self.turnaround_s
            return None
        expected = ADU_OVERHEAD + request.reply_pdu_length
        deadline = self._tx_end + timeout + self.line.frame_s(expected)
        rx = self._rx
        if not await self._receive(2, deadline):
            if rx:
                await self._drain(timeout)
                raise FrameError(f"{self.name}: reply cut short after 1 byte", **where)
            self.stats.timeouts += 1
            self._check_port()
            raise NoResponse(f"{self.name}: no reply from unit {request.unit} within "
                             f"{timeout:g} s", **where)
        function = request.function
        if rx[0] != request.unit or rx[1] not in (function, function | 0x80):
            await self._drain(timeout)
            raise FrameError(f"{self.name}: garbage on the line (reply starts "
                             f"{bytes(rx[:2]).hex()})", **where)
        total = EXCEPTION_FRAME if rx[1] & 0x80 else expected
        if total == expected and not request.is_write and await self._receive(3, deadline):
            # Trust the byte count for the length: a reply shorter than asked for is then
            # caught by its CRC/length check at once instead of by the timeout.
            total = 5 + rx[2]
        if not await self._receive(total, deadline):
            got = len(rx)
            await self._drain(timeout)
            raise FrameError(f"{self.name}: reply cut short: {got} of {total} bytes", **where)
        reply = bytes(rx[:total])
        del rx[:total]
        self.stats.last_response_s = self._last_rx - started
        if crc16(reply) != 0:
            await self._drain(timeout)
            raise FrameError(f"{self.name}: CRC mismatch in the reply of unit {request.unit}",
                             **where)
        self.stats.responses += 1
        if reply[1] & 0x80:
            self.stats.exceptions += 1
        return modbus.parse_reply(request, reply[1:-2])

    async def _wait_silence(self, limit_s: float) -> None:
        """Until the line has been silent for t3.5 since its last byte (and any turnaround).

        Loops because bytes may arrive while we sleep (a late reply): each moves the end
        of the silence further out, and a sleep can end a little early on some clocks.
        A line that never falls silent (a babbling slave, a second master) fails the call
        after `limit_s` rather than stalling the bus's poller for ever.
        """
        silent = self.line.silent_s
        give_up = max(time.monotonic(), self._hold_until) + silent + limit_s
        while True:
            quiet_at = max(self._last_rx + silent, self._tx_end + silent, self._hold_until)
            now = time.monotonic()
            if quiet_at <= now:
                break
            if now >= give_up:
                raise NoResponse(f"{self.name}: the line is never silent (noise, or another "
                                 "master on the bus)")
            await asyncio.sleep(min(quiet_at, give_up) - now)
        if self._fd is None:  # the port went away while we waited
            raise ConnectionLost(f"{self.name}: serial port lost")

    async def _send(self, frame: bytes, deadline: float) -> None:
        fd = self._fd
        assert fd is not None
        start = time.monotonic()
        sent = 0
        while sent < len(frame):
            try:
                sent += os.write(fd, frame[sent:])
            except BlockingIOError:
                # The driver's transmit buffer is full (only with a stuck line): give the
                # UART time to empty it, within the call's deadline.
                if time.monotonic() > deadline:
                    raise NoResponse(f"{self.name}: cannot send: port buffer full") from None
                await asyncio.sleep(self.line.frame_s(len(frame) - sent))
            except OSError as exc:
                self._lost(f"write failed: {exc}")
                raise ConnectionLost(f"{self.name}: write failed: {exc}") from exc
        self.stats.bytes_out += len(frame)
        self._tx_end = max(start, self._tx_end) + self.line.frame_s(len(frame))

    def _flush_input(self) -> None:
        """Discard what came before our request: noise, a late reply to an earlier one."""
        self._rx.clear()
        if self._fd is not None:
            try:
                termios.tcflush(self._fd, termios.TCIFLUSH)
            except (termios.error, OSError) as exc:
                self._lost(f"flush failed: {exc}")
                raise ConnectionLost(f"{self.name}: serial port lost: {exc}") from exc

    async def _receive(self, n: int, deadline: float) -> bool:
        """Wait until n bytes are buffered (True) or `deadline` passes (False)."""
        while len(self._rx) < n:
            delay = deadline - time.monotonic()
            if delay <= 0:
                return False
            if self._fd is None:
                raise ConnectionLost(f"{self.name}: serial port lost")
            loop = asyncio.get_running_loop()
            fut = loop.create_future()
            self._waiter, self._want = fut, n
            timer = loop.call_later(delay, _wake, fut)
            try:
                await fut
            finally:
                timer.cancel()
                self._waiter = None
        return True

    async def _drain(self, limit_s: float) -> None:
        """Read and drop bytes until the line is silent, so the next request starts clean."""
        quiet = max(self.line.silent_s, DRAIN_QUIET_S)
        end = time.monotonic() + max(limit_s, quiet)
        while self._fd is not None:
            quiet_at = self._last_rx + quiet
            now = time.monotonic()
            if now >= quiet_at or now >= end:
                break
            await self._receive(len(self._rx) + 1, min(quiet_at, end))
        self._rx.clear()

    def _check_port(self) -> None:
        """After a timeout: is the device node still the one we opened (USB replugged)?"""
        try:
            rdev = os.stat(self.port).st_rdev
        except OSError as exc:
            self._lost(f"serial port gone: {exc}")
            raise ConnectionLost(f"{self.name}: serial port gone: {exc}") from exc
        if rdev != self._rdev:
            self._lost("serial port replaced by another device")
            raise ConnectionLost(f"{self.name}: serial port replaced by another device")

    # --- the port -------------------------------------------------------------------
    def _ensure_open(self) -> None:
        if self._fd is not None:
            return
        wait = self._backoff.wait_s(time.monotonic())
        if wait > 0:
            raise ConnectionLost(f"{self.name}: port closed; next attempt in {wait:.1f} s")
        try:
            port = serial.Serial(port=self.port, baudrate=self.line.baud, bytesize=8,
                                 parity=PARITIES[self.line.parity],
                                 stopbits=STOP_BITS[self.line.stop_bits], timeout=0,
                                 write_timeout=0, exclusive=self.exclusive)
        except (serial.SerialException, OSError, ValueError) as exc:
            self.stats.connect_failures += 1
            self._backoff.failed(time.monotonic())
            self._availability.failed(self.name, exc)
            raise ConnectionLost(f"{self.name}: cannot open {self.port}: {exc}") from exc
        fd = port.fileno()
        self._serial, self._fd = port, fd
        self._rdev = os.fstat(fd).st_rdev
        self._rx.clear()
        with contextlib.suppress(termios.error, OSError):
            termios.tcflush(fd, termios.TCIOFLUSH)
        self._last_rx = time.monotonic()  # start the silence clock at open
        asyncio.get_running_loop().add_reader(fd, self._on_readable)
        self._backoff.succeeded()
        if self._opened_once:
            self.stats.reconnects += 1
        self._opened_once = True
        self._availability.ok(self.name)

    def _on_readable(self) -> None:
        fd = self._fd
        if fd is None:
            return
        try:
            data = os.read(fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # EIO: USB adapter unplugged
            self._lost(f"read failed: {exc}")
            return
        if not data:  # hang-up: the pty's other side (or the tty) is gone
            self._lost("serial port hung up")
            return
        self._last_rx = time.monotonic()
        self.stats.bytes_in += len(data)
        self._rx += data
        waiter = self._waiter
        if waiter is not None and len(self._rx) >= self._want and not waiter.done():
            waiter.set_result(None)

    def _lost(self, reason: str) -> None:
        # "Unavailable" is logged (once) when reopening fails; the first reopen, on the
        # next call, is immediate, and failures from then on back off.
        if self._fd is not None:
            self._log.debug("serial port lost", reason=reason)
        self._shut(ConnectionLost(f"{self.name}: {reason}"))

    def _shut(self, error: ConnectionLost) -> None:
        fd, port = self._fd, self._serial
        self._fd = self._serial = None
        self._rx.clear()
        if fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(fd)
        if port is not None:
            with contextlib.suppress(Exception):
                port.close()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


def from_config(device: DeviceConfig) -> RtuLink:
    """The link of a modbus-rtu device's bus (its serial port and line settings)."""
    if device.serial_port is None:
        raise ValueError(f"device {device.name!r} has no serial port")
    return RtuLink(device.serial_port, baud=device.baud, parity=device.parity,
                   stop_bits=device.stop_bits, turnaround_s=device.turnaround_ms / 1000.0,
                   name=device.bus)
