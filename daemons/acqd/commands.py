"""acqd's command server: the only way anything writes to a device.

Each write carries an identity (daemons/core/access/writes.py: the socket's peer
credentials, or the user a trusted daemon acts for), is checked (identity known, tag
known, access rw, engineering range, the user's permission on the tag's module and well,
encodable), journalled durably as requested, written through the bus's own poller
(between scan requests, so it never collides with polling on a shared RS-485 line), read
back to confirm, journalled again as confirmed or failed, and recorded in the audit log
(old value, new value, read-back, reason) before the caller gets the answer.  A refused
write is journalled and audited too.  A confirmed read-back is published to the ring
and the historian at once, like a polled value.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemons.acqd.decode import EncodeError, decode_tag, encode_value
from daemons.acqd.drivers import ModbusError
from daemons.acqd.poller import BusPoller
from daemons.core.access.writes import Caller, WriteGuard, module_of
from daemons.core.commands import CommandProtocolError, pack, read_message, socket_path
from daemons.core.journal import Journal
from daemons.core.tagmap import TagDef

Resolver = Callable[[str], tuple[TagDef, BusPoller, float] | None]  # tag, poller, timeout
SOURCES = ("cli", "webd", "opcuad", "forwardd", "test")


class Rejected(Exception):
    def __init__(self, en: str, es: str) -> None:
        super().__init__(en)
        self.en, self.es = en, es


class Denied(Rejected):
    """Refused by access control (no gateway identity, or no permission on the well)."""


def _peer(writer: asyncio.StreamWriter) -> tuple[int | None, int | None]:
    sock = writer.get_extra_info("socket")
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (OSError, AttributeError):
        return None, None
    pid, uid, _gid = struct.unpack("3i", creds)
    return pid, uid


class CommandServer:
    def __init__(self, runtime_dir: Path, journal: Journal, resolve: Resolver,
                 log: Any, guard: WriteGuard) -> None:
        self.path = socket_path(runtime_dir)
        self.journal = journal
        self.guard = guard  # replaced on reload (new matrix or wells)
        self.resolve = resolve
        self.log = log
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)
        self.server = await asyncio.start_unix_server(self._client, path=str(self.path))
        os.chmod(self.path, 0o660)  # the wellgate group: webd, opcuad, forwardd, admins

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        self.path.unlink(missing_ok=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pid, uid = _peer(writer)
        try:
            while True:
                try:
                    message = await read_message(reader)
                except CommandProtocolError as exc:
                    writer.write(pack({"ok": False, "state": "rejected",
                                       "error": {"en": str(exc), "es": str(exc)}}))
                    break
                if message is None:
                    break
                reply = await self.handle(message, pid, uid)
                writer.write(pack(reply))
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(self, msg: dict[str, Any], pid: int | None, uid: int | None
                     ) -> dict[str, Any]:
        if msg.get("op") == "ping":
            return {"ok": True}
        if msg.get("op") != "write":
            return _error(None, "rejected", f"unknown op {msg.get('op')!r} (use 'write')",
                          f"operación desconocida {msg.get('op')!r} (use 'write')")
        tag_name, value = msg.get("tag"), msg.get("value")
        reason, source = msg.get("reason"), msg.get("source", "cli")
        caller = self.guard.identify(uid, msg.get("user"))
        user = caller.name
        if not isinstance(tag_name, str) or not tag_name:
            return _error(None, "rejected", "'tag' is required", "falta 'tag'")
        if not isinstance(reason, str) or not reason.strip():
            return _error(None, "rejected", "a reason is required for every write",
                          "toda escritura requiere un motivo")
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        number = float(value) if numeric or isinstance(value, bool) else None
        command_id = self.journal.request(source=str(source), user=str(user), uid=uid,
                                          pid=pid, reason=reason, tag=tag_name, value=number)
        audit: dict[str, Any] = {"command": command_id, "value": number, "reason": reason,
                                 "pid": pid}
        try:
            found = self.resolve(tag_name)
            if found is not None:  # for the audit entry, even when refused
                audit.update(well=found[0].well,
                             module=module_of(found[0], self.guard.well_types))
            if caller.user is None:
                raise Denied(caller.en, caller.es)
            tag, poller, timeout = self._check(tag_name, number, source)
            decision = self.guard.authorize(caller, tag)
            if not decision:
                raise Denied(decision.en, decision.es)
            old, readback = await self._write(command_id, tag, number, poller, timeout)
        except Denied as exc:
            self.journal.update(command_id, "rejected", error=exc.en)
            self._audit(caller, source, "tag.write.denied", tag_name,
                        {**audit, "state": "rejected", "error": exc.en})
            self.log.warning("write refused", tag=tag_name, user=user, reason=exc.en)
            return _error(command_id, "rejected", exc.en, exc.es)
        except Rejected as exc:
            self.journal.update(command_id, "rejected", error=exc.en)
            self._audit(caller, source, "tag.write", tag_name,
                        {**audit, "state": "rejected", "error": exc.en})
            self.log.info("write rejected", tag=tag_name, user=user, reason=exc.en)
            return _error(command_id, "rejected", exc.en, exc.es)
        except (ModbusError, TimeoutError) as exc:
            self.journal.update(command_id, "failed", error=str(exc))
            self._audit(caller, source, "tag.write", tag_name,
                        {**audit, "state": "failed", "error": str(exc)})
            self.log.warning("write failed", tag=tag_name, user=user, error=str(exc))
            return _error(command_id, "failed", f"the device did not take it: {exc}",
                          f"el equipo no lo aceptó: {exc}")
        except _Mismatch as exc:
            self.journal.update(command_id, "failed", error=str(exc), readback=exc.readback)
            self._audit(caller, source, "tag.write", tag_name,
                        {**audit, "state": "failed", "old": exc.old, "readback": exc.readback,
                         "error": str(exc)})
            return _error(command_id, "failed", str(exc), f"lectura de control distinta: "
                          f"se leyó {exc.readback:g}")
        self.journal.update(command_id, "confirmed", readback=readback)
        # Durable before the caller hears "confirmed" (the audit's rule, DESIGN.md).
        self._audit(caller, source, "tag.write", tag_name,
                    {**audit, "state": "confirmed", "old": old, "readback": readback})
        self.log.info("write confirmed", tag=tag_name, value=number, user=user, source=source,
                      reason=reason)
        return {"ok": True, "id": command_id, "state": "confirmed", "readback": readback}

    def _audit(self, caller: Caller, source: object, action: str, tag: str,
               details: dict[str, Any]) -> None:
        try:
            self.guard.record(caller, str(source), action, tag, details)
        except Exception as exc:  # a full disk must not take acqd's polling down with it
            self.log.error("audit append failed", action=action, tag=tag, error=repr(exc))

    def _check(self, name: str, value: float | None, source: object
               ) -> tuple[TagDef, BusPoller, float]:
        if source not in SOURCES:
            raise Rejected(f"unknown source {source!r}", f"origen desconocido {source!r}")
        found = self.resolve(name)
        if found is None:
            raise Rejected(f"unknown tag '{name}' (or its device is not polled)",
                           f"etiqueta desconocida '{name}' (o su equipo no se consulta)")
        tag, poller, timeout = found
        if not tag.writable:
            raise Rejected(f"'{name}' is read-only (access r in the tag map)",
                           f"'{name}' es de solo lectura (acceso r en el mapa)")
        if tag.is_array or tag.type == "string":
            raise Rejected(f"'{name}' is a {tag.type_spec}: only scalars can be written",
                           f"'{name}' es {tag.type_spec}: solo se escriben escalares")
        if value is None or not math.isfinite(value):
            raise Rejected("the value must be a finite number",
                           "el valor debe ser un número finito")
        if tag.min is not None and value < tag.min:
            raise Rejected(f"{value:g} is below the minimum {tag.min:g} {tag.units}",
                           f"{value:g} está por debajo del mínimo {tag.min:g} {tag.units}")
        if tag.max is not None and value > tag.max:
            raise Rejected(f"{value:g} is above the maximum {tag.max:g} {tag.units}",
                           f"{value:g} está por encima del máximo {tag.max:g} {tag.units}")
        return tag, poller, timeout

    async def _write(self, command_id: int, tag: TagDef, value: float, poller: BusPoller,
                     timeout: float) -> tuple[float | None, float]:
        """(old value, read-back).  The old value is read first, for the audit log, and a
        bit tag needs the register's other 15 bits anyway."""
        before = await poller.submit("read", tag.unit, tag.table, tag.address,
                                     tag.total_registers, timeout)
        old = float(decode_tag(tag, before))
        current = before[0] if tag.type == "bit" else None
        try:
            words = encode_value(tag, value, current=current)
        except EncodeError as exc:
            raise Rejected(exc.en, exc.es) from exc
        await poller.submit("write", tag.unit, tag.table, tag.address, words, timeout)
        self.journal.update(command_id, "sent", device=tag.device, unit=tag.unit,
                            tbl=tag.table, address=tag.address,
                            registers=" ".join(f"0x{w:04X}" for w in words))
        back = await poller.submit("read", tag.unit, tag.table, tag.address,
                                   tag.total_registers, timeout)
        readback = float(decode_tag(tag, back))
        if [int(w) for w in back] != [int(w) for w in words]:
            raise _Mismatch(readback, float(decode_tag(tag, words)), old)
        # Confirmed: the ring and the historian get the read-back now, as a polled value,
        # instead of the old value until the tag's next scan (a minute on some sites).
        poller.publish_readback(tag, back)
        return old, readback


class _Mismatch(Exception):
    def __init__(self, readback: float, expected: float, old: float | None) -> None:
        super().__init__(f"read back {readback:g} instead of {expected:g}")
        self.readback, self.old = readback, old


def _error(command_id: int | None, state: str, en: str, es: str) -> dict[str, Any]:
    return {"ok": False, "id": command_id, "state": state, "error": {"en": en, "es": es}}
