"""The simulator's control socket: JSON lines over a Unix socket in the state directory.

One JSON object per line in each direction.  Requests:
  {"cmd": "status"}
  {"cmd": "fault", "target": DEVICE|BUS, "kind": KIND, "unit": U?, "duration_s": S?,
   "delay_ms": N?, "code": C?, "first": A?, "last": B?, "probability": P?, "bytes": N?}
  {"cmd": "clear", "target": DEVICE|BUS|null, "unit": U?}
  {"cmd": "event", "device": DEVICE, "event": NAME, "args": {...}}
Replies: {"ok": true, ...} or {"ok": false, "errors": [{"en": ..., "es": ...}, ...]}.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemons.core.problems import Problem, ValidationError

if TYPE_CHECKING:
    from daemons.sim.site import SimSite

log = logging.getLogger(__name__)

FAULT_PARAMS = ("duration_s", "delay_ms", "code", "first", "last", "probability", "bytes")
MAX_LINE = 1 << 16


class NotRunning(Exception):
    """No simulator answers on the control socket of that state directory."""


def _errors(problems: tuple[Problem, ...] | list[Problem]) -> dict[str, Any]:
    return {"ok": False, "errors": [{"en": p.en, "es": p.es} for p in problems]}


def _bad(en: str, es: str) -> dict[str, Any]:
    return _errors([Problem("<request>", 0, 0, en=en, es=es)])


def _unit(request: dict[str, Any]) -> int | None:
    unit = request.get("unit")
    if unit is not None and (isinstance(unit, bool) or not isinstance(unit, int)):
        raise ValidationError([Problem("<request>", 0, 0, en="unit must be an integer",
                                       es="unit debe ser un entero")])
    return unit


async def dispatch(site: SimSite, request: Any) -> dict[str, Any]:
    """Run one request against `site`; never raises for a bad request."""
    if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
        return _bad("a request is a JSON object with a \"cmd\"",
                    "una petición es un objeto JSON con \"cmd\"")
    cmd = request["cmd"]
    try:
        if cmd == "status":
            return {"ok": True, "status": site.status()}
        if cmd == "fault":
            target, kind = request.get("target"), request.get("kind")
            if not isinstance(target, str) or not isinstance(kind, str):
                return _bad("fault needs \"target\" and \"kind\"",
                            "fault necesita \"target\" y \"kind\"")
            params = {k: request[k] for k in FAULT_PARAMS if request.get(k) is not None}
            faults = await site.fault(target, kind, unit=_unit(request), **params)
            return {"ok": True, "faults": [f.to_json() for f in faults]}
        if cmd == "clear":
            target = request.get("target")
            if target is not None and not isinstance(target, str):
                return _bad("\"target\" must be a name", "\"target\" debe ser un nombre")
            gone = await site.clear(target, unit=_unit(request))
            return {"ok": True, "cleared": [f.to_json() for f in gone]}
        if cmd == "event":
            device, event = request.get("device"), request.get("event")
            args = request.get("args") or {}
            if not isinstance(device, str) or not isinstance(event, str) or not isinstance(
                    args, dict):
                return _bad("event needs \"device\", \"event\" and an \"args\" object",
                            "event necesita \"device\", \"event\" y un objeto \"args\"")
            await site.event(device, event, args)
            return {"ok": True}
    except ValidationError as exc:
        return _errors(exc.problems)
    except Exception as exc:  # the control socket must outlive any one bad request
        log.exception("control request %r failed", cmd)
        return _bad(f"internal error: {exc}", f"error interno: {exc}")
    return _bad(f"unknown cmd {cmd!r}; use status, fault, clear or event",
                f"cmd desconocido {cmd!r}; use status, fault, clear o event")


async def serve(site: SimSite, path: Path) -> asyncio.AbstractServer:
    """Listen on `path`; refuse if another simulator already answers there."""
    if path.exists() or path.is_symlink():
        try:
            request(path.parent, {"cmd": "status"}, timeout=1.0, socket_name=path.name)
        except NotRunning:
            path.unlink()  # left by a simulator that was killed
        else:
            raise OSError(f"a simulator is already running with state directory {path.parent}")

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    req = json.loads(line)
                except ValueError:
                    reply = _bad("not JSON", "no es JSON")
                else:
                    reply = await dispatch(site, req)
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, ValueError):
            pass  # client went away, or sent a line longer than MAX_LINE
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    return await asyncio.start_unix_server(client, str(path), limit=MAX_LINE)


def request(state_dir: Path, message: dict[str, Any], *, timeout: float = 10.0,
            socket_name: str = "sim.sock") -> dict[str, Any]:
    """Send one request to the simulator of `state_dir` and return its reply (blocking)."""
    path = Path(state_dir) / socket_name
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NotRunning(str(path)) from exc
        sock.sendall(json.dumps(message).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise NotRunning(f"{path}: connection closed without a reply")
            data += chunk
    except TimeoutError as exc:
        raise NotRunning(f"{path}: no reply within {timeout} s") from exc
    finally:
        sock.close()
    reply: dict[str, Any] = json.loads(data)
    return reply
