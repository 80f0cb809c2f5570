"""Modbus TCP slaves: one asyncio server per (host, port), units routed to their banks.

Framing per MODBUS Messaging on TCP/IP Implementation Guide V1.0b (modbus.org 2006), §3.1:
the MBAP header is transaction id, protocol id (0), length (unit id + PDU) and unit id; the
reply echoes transaction and unit ids.  Requests on one connection are answered in order;
connections are independent, so many masters may poll at once.

Unit routing: several units may sit behind one port, as behind a serial gateway.  A
request for a unit that is not there gets no reply (the gateway's serial side times out)
or, if configured, exception 0x0B "gateway target device failed to respond" (Modbus
application protocol V1.1b3, §7).  A port with a single device also answers units 0 and
255, which the TCP guide (§4.4.2) suggests for addressing a TCP device directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections import Counter
from collections.abc import Sequence

from daemons.sim import pdu as modbus
from daemons.sim.faults import FaultBoard
from daemons.sim.rtu import Slave

log = logging.getLogger(__name__)

UNKNOWN_UNIT_POLICIES = ("ignore", "exception")
MBAP = struct.Struct(">HHHB")
MAX_MBAP_LENGTH = 254  # unit id + 253-byte PDU


class TcpPort:
    """The Modbus TCP server of one port; `port` holds the bound port once started."""

    def __init__(self, host: str, port: int, slaves: Sequence[Slave], faults: FaultBoard, *,
                 unknown_unit: str = "ignore") -> None:
        if unknown_unit not in UNKNOWN_UNIT_POLICIES:
            raise ValueError(f"unknown_unit must be one of {UNKNOWN_UNIT_POLICIES}")
        self.host = host
        self.port = port
        self.slaves = {s.unit: s for s in slaves}
        self.faults = faults
        self.unknown_unit = unknown_unit
        self.served: Counter[str] = Counter()
        self._listener: socket.socket | None = None
        self._acceptor: asyncio.Task[None] | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self.accepted = 0  # connections accepted since start: shows a master reconnecting

    @property
    def alive(self) -> bool:
        return self._listener is not None

    async def start(self) -> None:
        """Listen (again, at the same port once one was chosen: a cleared `disconnect`).

        The accept loop is ours rather than asyncio.start_server's: closing an asyncio
        Server while it is accepting can strand an accepted socket that then stays open,
        unanswered, until garbage collection; a pulled cable must close every connection.
        """
        if self._listener is not None:
            return
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._listener = sock
        self._acceptor = asyncio.create_task(self._accept(sock), name=f"tcp-{self.port}")

    async def stop(self) -> None:
        """Refuse new connections and drop every open one (a `disconnect` or shutdown)."""
        acceptor, self._acceptor = self._acceptor, None
        if acceptor is not None:
            acceptor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acceptor
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()  # the kernel resets connections not yet accepted
        clients = list(self._clients)  # done callbacks shrink the set as tasks end
        self._clients = set()
        for task in clients:
            task.cancel()
        for task in clients:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(listener)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.accepted += 1
            task = asyncio.create_task(self._client(conn))
            self._clients.add(task)
            task.add_done_callback(self._clients.discard)

    async def _client(self, conn: socket.socket) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=conn)
        except OSError:
            conn.close()
            return
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            writer.transport.abort()  # the cable is pulled: no goodbye
            raise
        except Exception:  # a bug must cost one connection, not the server
            log.exception("tcp port %d: connection failed", self.port)
        finally:
            writer.close()

    def _route(self, unit: int) -> Slave | None:
        slave = self.slaves.get(unit)
        if slave is None and unit in (0, 255) and len(self.slaves) == 1:
            slave = next(iter(self.slaves.values()))
        return slave

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            header = await reader.readexactly(MBAP.size)
            tid, protocol, length, unit = MBAP.unpack(header)
            if protocol != 0 or not 2 <= length <= MAX_MBAP_LENGTH:
                # The stream cannot be resynchronised: a real device drops the connection.
                return
            request = await reader.readexactly(length - 1)
            reply = await self._answer(unit, request)
            if reply is None:
                continue
            garbage, response = reply
            writer.write(garbage + MBAP.pack(tid, 0, len(response) + 1, unit) + response)
            await writer.drain()

    async def _answer(self, unit: int, request: bytes) -> tuple[bytes, bytes] | None:
        slave = self._route(unit)
        if slave is None:
            if self.unknown_unit == "exception" and request:
                return b"", modbus.exception_pdu(request[0], modbus.GATEWAY_TARGET_FAILED)
            return None
        decision = self.faults.decide(slave.name, modbus.spans(request), time.time())
        if decision.drop:
            return None
        if decision.delay_s > 0:
            await asyncio.sleep(decision.delay_s)
        if decision.exception_code is not None:
            response = modbus.exception_pdu(request[0] if request else 0,
                                            decision.exception_code)
        else:
            response = modbus.process(slave.bank, request, slave.identity)
        self.served[slave.name] += 1
        return decision.garbage, response
