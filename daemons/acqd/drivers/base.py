"""The driver contract: one `Link` per bus, the errors it raises, its counters, its backoff.

A Link is one bus: a TCP host:port (possibly a serial gateway with several unit ids
behind it) or one serial port (an RS-485 line with several slaves).  The caller — acqd's
per-bus poller — calls `read`/`write` one after the other; a Link makes exactly one
attempt per call (retries are the caller's decision, per slave) and re-establishes its
connection by itself, lazily, with exponential backoff between attempts so that a dead
host or a pulled cable costs the poller nothing while it backs off.

Every failure reaches the caller as a `ModbusError` subclass; socket, termios and pyserial
exceptions are translated at the driver boundary with `raise ... from`.  How acqd maps
them to quality (OPC UA status codes, daemons/core/quality.py):

    NoResponse / ConnectionLost  -> Bad no-communication
    ExceptionResponse            -> Bad device-failure (codes 0x0A/0x0B come from a
                                    gateway whose serial slave did not answer: see
                                    `ExceptionResponse.no_communication`)
    FrameError                   -> Bad no-communication, counted as crc_errors
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Protocol, runtime_checkable

TABLES = ("hr", "ir", "co", "di")

# Exception codes and their names, MODBUS Application Protocol Specification V1.1b3 §7.
EXCEPTION_NAMES = MappingProxyType({
    0x01: "illegal function",
    0x02: "illegal data address",
    0x03: "illegal data value",
    0x04: "server device failure",
    0x05: "acknowledge",
    0x06: "server device busy",
    0x08: "memory parity error",
    0x0A: "gateway path unavailable",
    0x0B: "gateway target device failed to respond",
})
ILLEGAL_DATA_ADDRESS = 0x02
GATEWAY_CODES = frozenset({0x0A, 0x0B})

# Reconnection backoff between connection attempts (the brief: 0.5 s doubling to 30 s).
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0


class ModbusError(Exception):
    """Base of every driver error; says which request failed (None where unknown)."""

    def __init__(self, message: str, *, unit: int | None = None, function: int | None = None,
                 address: int | None = None) -> None:
        super().__init__(message)
        self.unit = unit
        self.function = function
        self.address = address


class NoResponse(ModbusError):
    """No reply within the timeout, or no connection to send the request on."""


class ConnectionLost(NoResponse):
    """The connection is gone: TCP reset/refused/closed, serial port vanished or hung up."""


class ExceptionResponse(ModbusError):
    """The slave answered with an exception response (`code`, spec §7)."""

    def __init__(self, code: int, *, unit: int | None = None, function: int | None = None,
                 address: int | None = None) -> None:
        name = EXCEPTION_NAMES.get(code, "unknown exception")
        where = f"unit {unit} fc {function} address {address}"
        super().__init__(f"exception {code:#04x} ({name}) from {where}",
                         unit=unit, function=function, address=address)
        self.code = code

    @property
    def no_communication(self) -> bool:
        """A gateway reporting that the device behind it is unreachable (codes 0x0A/0x0B)."""
        return self.code in GATEWAY_CODES


class FrameError(ModbusError):
    """A reply that cannot be trusted: bad CRC, garbage, wrong length, unit or function."""


@dataclass(slots=True)
class LinkStats:
    """Counters of one Link since it was created (monotonic; never reset by a reconnect).

    requests: requests put on the wire; responses: valid replies (exceptions included);
    timeouts: requests with no reply in time; exceptions: exception replies; crc_errors:
    FrameErrors of any kind; reconnects: connections re-established after the first;
    connect_failures: failed connection attempts; stale_replies: late replies to earlier
    timed-out requests that were read and dropped (TCP); last_response_s: the last
    measured round trip, request handed to the OS to last reply byte received.
    """

    requests: int = 0
    responses: int = 0
    timeouts: int = 0
    exceptions: int = 0
    crc_errors: int = 0
    reconnects: int = 0
    connect_failures: int = 0
    stale_replies: int = 0
    bytes_out: int = 0
    bytes_in: int = 0
    last_response_s: float | None = None

    def snapshot(self) -> dict[str, float | int | None]:
        return asdict(self)


@runtime_checkable
class Link(Protocol):
    """One bus.  Calls are sequential (an internal lock makes concurrent calls queue)."""

    name: str
    stats: LinkStats

    async def open(self) -> None:
        """Connect now; raises NoResponse (or ConnectionLost) on failure, never hangs."""
        ...

    async def read(self, unit: int, table: str, address: int, count: int, *,
                   timeout: float) -> list[int]:
        """Read `count` registers (hr, ir) or bits as 0/1 (co, di) from `unit`."""
        ...

    async def write(self, unit: int, table: str, address: int, values: Sequence[int], *,
                    timeout: float) -> None:
        """Write hr (fc 6 for one register, else 16) or co (fc 5 for one, else 15)."""
        ...

    async def close(self) -> None:
        ...


class Backoff:
    """Exponential delay between connection attempts: 0.5 s, 1 s, 2 s ... capped at 30 s.

    The first attempt after a loss is immediate; `failed` pushes the next allowed attempt
    out, `succeeded` resets.  Times are the caller's clock (time.monotonic in the links).
    """

    def __init__(self, first_s: float = BACKOFF_FIRST_S, max_s: float = BACKOFF_MAX_S) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self.delay_s = 0.0
        self._next_at = 0.0

    def wait_s(self, now: float) -> float:
        """Seconds until the next attempt is allowed (0 = go ahead)."""
        return max(0.0, self._next_at - now)

    def failed(self, now: float) -> float:
        """Record a failed attempt; returns the delay before the next one."""
        self.delay_s = self.first_s if self.delay_s == 0 else min(self.max_s, self.delay_s * 2)
        self._next_at = now + self.delay_s
        return self.delay_s

    def succeeded(self) -> None:
        self.delay_s = 0.0
        self._next_at = 0.0
