"""The TCP master against a scripted, misbehaving peer on a real loopback socket: wrong
unit, unknown and late transaction ids, garbage headers, a peer that closes, a gateway
exception, and a connection that goes silent (half-open)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

import pytest

from daemons.acqd.drivers.base import (
    ConnectionLost,
    ExceptionResponse,
    FrameError,
    NoResponse,
)
from daemons.acqd.drivers.modbus_tcp import MBAP, TcpLink

from .conftest_drivers import run

# script(i, tid, unit, pdu) -> bytes to send back, b"" for nothing, None to close
Script = Callable[[int, int, int, bytes], bytes | None]


def frame(tid: int, unit: int, pdu: bytes) -> bytes:
    return MBAP.pack(tid, 0, len(pdu) + 1, unit) + pdu


def registers(pdu: bytes) -> bytes:
    """The reply of a 'register i holds i' device to fc 3."""
    _, address, count = struct.unpack(">BHH", pdu)
    return struct.pack(f">BB{count}H", 3, 2 * count, *range(address, address + count))


async def with_peer(script: Script, body) -> list[int]:
    """Serve `script` on 127.0.0.1:0, run body(link); returns how many connections came."""
    connections: list[int] = []
    served = [0]  # requests over all connections: the script's `i`

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                tid, _, length, unit = MBAP.unpack(await reader.readexactly(MBAP.size))
                pdu = await reader.readexactly(length - 1)
                out = script(served[0], tid, unit, pdu)
                served[0] += 1
                if out is None:
                    writer.close()
                    return
                writer.write(out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    link = TcpLink("127.0.0.1", port)
    try:
        await body(link)
    finally:
        await link.close()
        server.close()
    return connections


def test_wrong_unit_and_unknown_transaction_id_are_frame_errors():
    def script(i, tid, unit, pdu):
        if i == 0:
            return frame(tid, unit + 1, registers(pdu))  # wrong unit
        if i == 1:  # an unknown transaction id, then the real reply
            return frame(tid + 100, unit, registers(pdu)) + frame(tid, unit, registers(pdu))
        return frame(tid, unit, registers(pdu))

    async def body(link):
        with pytest.raises(FrameError, match="unit"):
            await link.read(1, "hr", 0, 2, timeout=1.0)
        with pytest.raises(FrameError, match="transaction"):
            await link.read(1, "hr", 0, 2, timeout=1.0)
        assert await link.read(1, "hr", 40, 3, timeout=1.0) == [40, 41, 42]
        assert link.stats.crc_errors == 2 and link.stats.stale_replies == 1
        assert link.stats.reconnects == 0

    assert len(run(with_peer(script, body))) == 1


def test_garbage_header_replaces_the_connection():
    def script(i, tid, unit, pdu):
        if i == 0:
            return b"\x13\x37\xff" + frame(tid, unit, registers(pdu))
        return frame(tid, unit, registers(pdu))

    async def body(link):
        with pytest.raises(FrameError, match="garbage"):
            await link.read(1, "hr", 0, 2, timeout=1.0)
        assert await link.read(1, "hr", 0, 2, timeout=1.0) == [0, 1]
        assert link.stats.reconnects == 1 and link.stats.connect_failures == 0

    assert len(run(with_peer(script, body))) == 2


def test_peer_closing_mid_request_is_connection_lost_and_the_next_call_reconnects():
    def script(i, tid, unit, pdu):
        return None if i == 0 else frame(tid, unit, registers(pdu))

    async def body(link):
        with pytest.raises(ConnectionLost):
            await link.read(1, "hr", 0, 1, timeout=2.0)
        assert link.stats.timeouts == 0
        assert await link.read(1, "hr", 9, 1, timeout=1.0) == [9]

    assert len(run(with_peer(script, body))) == 2


def test_gateway_exception_says_no_communication():
    def script(i, tid, unit, pdu):
        return frame(tid, unit, bytes((pdu[0] | 0x80, 0x0B)))

    async def body(link):
        with pytest.raises(ExceptionResponse) as exc:
            await link.write(4, "hr", 3, [1, 2], timeout=1.0)
        assert exc.value.code == 0x0B and exc.value.no_communication
        assert exc.value.function == 16 and exc.value.unit == 4

    run(with_peer(script, body))


def test_a_silent_connection_is_replaced_after_three_timeouts():
    # answers nothing on the first connection (half-open), normally on the next
    def script(i, tid, unit, pdu):
        return frame(tid, unit, registers(pdu))

    silent = {"on": True}

    def gated(i, tid, unit, pdu):
        return b"" if silent["on"] else script(i, tid, unit, pdu)

    async def body(link):
        for _ in range(3):
            with pytest.raises(NoResponse):
                await link.read(1, "hr", 0, 1, timeout=0.05)
        assert not link.connected  # given up on that connection
        silent["on"] = False
        assert await link.read(1, "hr", 2, 1, timeout=1.0) == [2]
        assert link.stats.reconnects == 1 and link.stats.timeouts == 3

    assert len(run(with_peer(gated, body))) == 2
