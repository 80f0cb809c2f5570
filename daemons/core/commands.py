"""The local command API: how webd, opcuad, forwardd and the CLI ask acqd to write a tag.

A Unix stream socket `<runtime_dir>/acqd.sock`; each message is a 4-byte big-endian length
followed by a msgpack map.  One request, one response per connection round trip:

    request   {"op": "write", "tag": "W101.SPM_SET", "value": 7.5, "reason": "…",
               "user": "operator name", "source": "cli" | "webd" | "opcuad" | "forwardd"}
    response  {"ok": true, "id": 42, "state": "confirmed", "readback": 7.5}
              {"ok": false, "id": 43, "state": "rejected" | "failed",
               "error": {"en": "…", "es": "…"}}

acqd learns the calling process from the socket itself (SO_PEERCRED), so the journal
records both who the caller says it acts for and which process and user asked.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from pathlib import Path
from typing import Any

import msgpack

SOCKET_NAME = "acqd.sock"
MAX_MESSAGE = 64 * 1024
_LEN = struct.Struct(">I")


class CommandProtocolError(Exception):
    """A malformed or oversized message (the connection is then closed)."""


def socket_path(runtime_dir: Path) -> Path:
    return Path(runtime_dir) / SOCKET_NAME


def pack(message: dict[str, Any]) -> bytes:
    body = msgpack.packb(message, use_bin_type=True)
    if len(body) > MAX_MESSAGE:
        raise CommandProtocolError(f"message of {len(body)} bytes exceeds {MAX_MESSAGE}")
    return _LEN.pack(len(body)) + body


def unpack_body(body: bytes) -> dict[str, Any]:
    try:
        message = msgpack.unpackb(body, raw=False)
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError) as exc:
        raise CommandProtocolError(f"not a msgpack message: {exc}") from exc
    if not isinstance(message, dict):
        raise CommandProtocolError("a message must be a map")
    return message


async def read_message(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next message, or None at a clean end of stream."""
    try:
        head = await reader.readexactly(_LEN.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise CommandProtocolError("truncated length prefix") from exc
        return None
    (size,) = _LEN.unpack(head)
    if size > MAX_MESSAGE:
        raise CommandProtocolError(f"message of {size} bytes exceeds {MAX_MESSAGE}")
    try:
        body = await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        raise CommandProtocolError("truncated message") from exc
    return unpack_body(body)


def request(runtime_dir: Path, message: dict[str, Any], timeout: float = 15.0
            ) -> dict[str, Any]:
    """A blocking round trip for the CLI (ConnectionError when acqd is not running)."""
    return request_at(socket_path(runtime_dir), message, timeout)


def request_at(path: Path, message: dict[str, Any], timeout: float = 15.0
               ) -> dict[str, Any]:
    """A blocking round trip on any daemon's socket that speaks this framing (acqd's,
    alarmd's); ConnectionError when nothing listens or the daemon hangs up."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(pack(message))
        head = _recv_exactly(s, _LEN.size)
        (size,) = _LEN.unpack(head)
        if size > MAX_MESSAGE:
            raise CommandProtocolError(f"reply of {size} bytes exceeds {MAX_MESSAGE}")
        return unpack_body(_recv_exactly(s, size))


async def request_async(runtime_dir: Path, message: dict[str, Any], timeout: float = 15.0
                        ) -> dict[str, Any]:
    """The same round trip for asyncio daemons (webd, opcuad, forwardd)."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_unix_connection(str(socket_path(runtime_dir))), timeout)
    try:
        writer.write(pack(message))
        await writer.drain()
        reply = await asyncio.wait_for(read_message(reader), timeout)
        if reply is None:
            raise ConnectionError("acqd closed the connection without a reply")
        return reply
    finally:
        writer.close()


def _recv_exactly(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the daemon closed the connection without a reply")
        data += chunk
    return data
