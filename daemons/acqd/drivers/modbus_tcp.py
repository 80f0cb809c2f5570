"""Modbus TCP master: one connection per host:port, shared by every unit id behind it.

Framing per MODBUS Messaging on TCP/IP Implementation Guide V1.0b (modbus.org 2006) §3.1.3:
MBAP header = transaction id, protocol id 0, length (unit id + PDU), unit id.  A reply is
matched to its request by transaction id, then its unit and function are checked.

Why an asyncio.Protocol rather than StreamReader: the reply is dispatched from
data_received straight into the waiting future (no intermediate task, no two-step
readexactly), which keeps the CPU per request well under the pymodbus client's (see
bench/acqd_drivers.py), and every frame that arrives — also the late reply of a request
that already timed out — is parsed by its MBAP length and dropped by transaction id, so a
slow device never desynchronises the stream.  A header that is not Modbus (protocol id
not 0, impossible length) means the stream cannot be resynchronised: the connection is
dropped and re-opened on the next call, as a device does (§4.3.1 of the guide).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from daemons.acqd.drivers import pdu as modbus
from daemons.acqd.drivers.base import (
    Backoff,
    ConnectionLost,
    FrameError,
    LinkStats,
    ModbusError,
    NoResponse,
)
from daemons.core.config.model import DeviceConfig
from daemons.core.service.logsetup import Availability, get_logger

PROTOCOL = "modbus-tcp"
MBAP = struct.Struct(">HHHB")
MAX_MBAP_LENGTH = 254  # unit id + 253-byte PDU (§3.1.3 / application protocol §4.1)
MAX_LATE = 64  # transaction ids of timed-out requests whose replies may still come
# Timeouts in a row without a single byte from the peer before the connection is presumed
# half-open (peer rebooted without a RST, NAT entry gone) and replaced.
SILENT_TIMEOUTS_BEFORE_RECONNECT = 3
# TCP keepalive: notice a dead peer on an idle connection within ~25 s (Linux options).
KEEPALIVE = ((getattr(socket, "TCP_KEEPIDLE", None), 10),
             (getattr(socket, "TCP_KEEPINTVL", None), 5),
             (getattr(socket, "TCP_KEEPCNT", None), 3))


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_result(None)


class _Connection(asyncio.Protocol):
    """Forwards one connection's events to its link; events of old connections are ignored."""

    def __init__(self, link: TcpLink) -> None:
        self.link = link

    def data_received(self, data: bytes) -> None:
        self.link._on_data(self, data)

    def eof_received(self) -> bool:
        return False  # the peer closed: close our side too (connection_lost follows)

    def connection_lost(self, exc: Exception | None) -> None:
        self.link._on_lost(self, exc)


class TcpLink:
    """A Modbus TCP master on one host:port (see the module docstring)."""

    def __init__(self, host: str, port: int = 502, *, connect_timeout: float = 3.0,
                 name: str | None = None,
                 silent_timeouts: int = SILENT_TIMEOUTS_BEFORE_RECONNECT) -> None:
        self.host = host
        self.port = port
        self.name = name or f"tcp:{host}:{port}"
        self.connect_timeout = connect_timeout
        self.silent_timeouts = silent_timeouts
        self.stats = LinkStats()
        self._log = get_logger(__name__, link=self.name)
        self._availability = Availability(self._log, "link")
        self._backoff = Backoff()
        self._lock = asyncio.Lock()
        self._transport: asyncio.Transport | None = None
        self._conn: _Connection | None = None
        self._buf = bytearray()
        self._tid = 0
        self._pending: tuple[int, asyncio.Future[Any]] | None = None
        self._late: OrderedDict[int, None] = OrderedDict()
        self._quiet_timeouts = 0
        self._connected_once = False

    @property
    def connected(self) -> bool:
        return self._transport is not None

    # --- the Link contract ----------------------------------------------------------
    async def open(self) -> None:
        async with self._lock:
            await self._ensure_connected(self.connect_timeout)

    async def read(self, unit: int, table: str, address: int, count: int, *,
                   timeout: float) -> list[int]:
        request = modbus.read_request(unit, table, address, count)
        values = await self._transact(request, timeout)
        assert values is not None
        return values

    async def write(self, unit: int, table: str, address: int, values: Sequence[int], *,
                    timeout: float) -> None:
        await self._transact(modbus.write_request(unit, table, address, values), timeout)

    async def close(self) -> None:
        async with self._lock:
            self._drop("closed")
            self._backoff.succeeded()

    # --- one request ----------------------------------------------------------------
    async def _transact(self, request: modbus.Request, timeout: float) -> list[int] | None:
        async with self._lock:
            await self._ensure_connected(min(timeout, self.connect_timeout))
            try:
                return await self._exchange(request, timeout)
            except FrameError:
                self.stats.crc_errors += 1
                raise

    async def _exchange(self, request: modbus.Request, timeout: float) -> list[int] | None:
        transport = self._transport
        assert transport is not None
        loop = asyncio.get_running_loop()
        tid = self._tid = (self._tid + 1) & 0xFFFF
        frame = MBAP.pack(tid, 0, len(request.pdu) + 1, request.unit) + request.pdu
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending = (tid, fut)
        started = time.monotonic()
        transport.write(frame)
        self.stats.requests += 1
        self.stats.bytes_out += len(frame)
        timer = loop.call_later(timeout, _expire, fut)
        reply = None
        try:
            reply = await fut
        finally:
            timer.cancel()
            if self._pending is not None and self._pending[0] == tid:
                self._pending = None
            if reply is None and self._transport is transport:
                self._remember_late(tid)  # timed out or cancelled: its reply is stale
        where = {"unit": request.unit, "function": request.function,
                 "address": request.address}
        if reply is None:
            self.stats.timeouts += 1
            self._quiet_timeouts += 1
            if self._quiet_timeouts >= self.silent_timeouts:
                self._drop(f"{self._quiet_timeouts} timeouts without a byte from the peer")
            raise NoResponse(f"{self.name}: no reply within {timeout:g} s", **where)
        unit, body = reply
        self.stats.last_response_s = time.monotonic() - started
        if unit != request.unit:
            raise FrameError(f"{self.name}: reply from unit {unit} to a request for unit "
                             f"{request.unit}", **where)
        if modbus.exception_code(request, body) is not None:
            self.stats.responses += 1
            self.stats.exceptions += 1
            return modbus.parse_reply(request, body)  # raises ExceptionResponse
        values = modbus.parse_reply(request, body)
        self.stats.responses += 1
        return values

    def _remember_late(self, tid: int) -> None:
        self._late[tid] = None
        while len(self._late) > MAX_LATE:
            self._late.popitem(last=False)

    # --- connection -----------------------------------------------------------------
    async def _ensure_connected(self, timeout: float) -> None:
        if self._transport is not None:
            return
        wait = self._backoff.wait_s(time.monotonic())
        if wait > 0:
            # Backing off: fail at once so a dead host never stalls the bus's poller.
            raise ConnectionLost(f"{self.name}: not connected; next attempt in {wait:.1f} s")
        loop = asyncio.get_running_loop()
        try:
            transport, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(self), self.host, self.port),
                timeout)
        except TimeoutError as exc:
            self._connect_failed(f"connect timed out after {timeout:g} s")
            raise NoResponse(f"{self.name}: connect timed out after {timeout:g} s") from exc
        except OSError as exc:  # refused, unreachable, name not resolved
            self._connect_failed(str(exc))
            raise ConnectionLost(f"{self.name}: cannot connect: {exc}") from exc
        self._set_keepalive(transport)
        self._transport = transport  # type: ignore[assignment]
        self._conn = conn
        self._buf.clear()
        self._late.clear()
        self._quiet_timeouts = 0
        self._backoff.succeeded()
        if self._connected_once:
            self.stats.reconnects += 1
        self._connected_once = True
        self._availability.ok(self.name)

    def _connect_failed(self, reason: str) -> None:
        self.stats.connect_failures += 1
        self._backoff.failed(time.monotonic())
        self._availability.failed(self.name, reason)

    @staticmethod
    def _set_keepalive(transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is None:
            return
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            for option, value in KEEPALIVE:
                if option is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, option, value)

    def _drop(self, reason: str, error: ModbusError | None = None) -> None:
        """Close the connection on purpose; the next call reconnects without backoff."""
        transport, self._transport, self._conn = self._transport, None, None
        self._buf.clear()
        self._late.clear()
        self._fail_pending(error or ConnectionLost(f"{self.name}: {reason}"))
        if transport is not None:
            if error is not None or reason != "closed":
                self._log.debug("dropping connection", reason=reason)
            transport.abort()

    def _fail_pending(self, error: ModbusError) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and not pending[1].done():
            pending[1].set_exception(error)

    # --- events from the connection -------------------------------------------------
    def _on_lost(self, conn: _Connection, exc: Exception | None) -> None:
        if conn is not self._conn:
            return  # an old connection we dropped ourselves
        self._transport = self._conn = None
        self._buf.clear()
        self._late.clear()
        reason = f"connection lost: {exc}" if exc else "connection closed by the peer"
        error = ConnectionLost(f"{self.name}: {reason}")
        if exc is not None:
            error.__cause__ = exc
        self._fail_pending(error)
        # Not "unavailable" yet: devices close idle connections.  That is logged (once)
        # when reconnecting fails.
        self._log.debug("connection lost", reason=reason)

    def _on_data(self, conn: _Connection, data: bytes) -> None:
        if conn is not self._conn:
            return
        self.stats.bytes_in += len(data)
        self._quiet_timeouts = 0
        buf = self._buf
        buf += data
        while len(buf) >= MBAP.size:
            tid, protocol, length, unit = MBAP.unpack_from(buf)
            if protocol != 0 or not 2 <= length <= MAX_MBAP_LENGTH:
                self._drop("not a Modbus TCP frame", FrameError(
                    f"{self.name}: garbage on the connection (protocol id {protocol}, "
                    f"length {length})"))
                return
            end = 6 + length
            if len(buf) < end:
                return
            body = bytes(buf[MBAP.size:end])
            del buf[:end]
            self._dispatch(tid, unit, body)

    def _dispatch(self, tid: int, unit: int, body: bytes) -> None:
        pending = self._pending
        if pending is not None and pending[0] == tid:
            self._pending = None
            if not pending[1].done():
                pending[1].set_result((unit, body))
        elif tid in self._late:
            del self._late[tid]
            self.stats.stale_replies += 1  # the late reply of a timed-out request
        elif pending is not None:
            self._fail_pending(FrameError(
                f"{self.name}: reply with unknown transaction id {tid}", unit=unit))
        else:
            self.stats.stale_replies += 1  # unsolicited (a duplicate): nobody waits for it


def from_config(device: DeviceConfig) -> TcpLink:
    """The link of a modbus-tcp device's bus (host:port)."""
    if device.host is None:
        raise ValueError(f"device {device.name!r} has no host")
    return TcpLink(device.host, device.port, connect_timeout=device.timeout, name=device.bus)
