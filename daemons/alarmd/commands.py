"""alarmd's command socket: list, ack, shelve, unshelve, disable, enable.

`<runtime_dir>/alarmd.sock`, the same framing as acqd's (daemons/core/commands.py: a
4-byte length and a msgpack map per message):

    {"op": "ack", "id": "W101.THP:hi" | "W101.THP", "comment": "…", "user": "…",
     "source": "cli" | "webd" | "opcuad" | "forwardd"}          also "seconds" for shelve
    {"ok": true, "changed": [ids]}    {"ok": false, "error": {"en": "…", "es": "…"}}
    {"op": "list"} -> {"ok": true, "alarms": [{id, tag, well, type, priority, state, …}]}

The caller is identified by the socket's peer credentials (WriteGuard.identify), checked
with authorize(user, "alarms", write|approve, well) and every request — refused ones too —
goes to the audit log; the transitions are in the journal before the answer is sent.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemons.alarmd.states import STATE_NAMES
from daemons.core.access.writes import AUDIT_SOURCE, WriteGuard
from daemons.core.commands import CommandProtocolError, pack, read_message, request_at

SOCKET_NAME = "alarmd.sock"
# ISA-18.2 roles: acknowledging is an operator's write; taking an alarm out of
# annunciation (shelve, out of service) needs approval (module alarms, docs/access.md).
OPERATIONS = {"ack": "write", "shelve": "approve", "unshelve": "approve",
              "disable": "approve", "enable": "approve"}
MAX_SHELVE_S = 7 * 86_400.0
# A well's planned downtime suppresses, by design, the alarms whose suppress_when names
# <WELL>.DOWNTIME: like out of service, it needs approval on that well.
MAX_DOWNTIME_S = 31 * 86_400.0

Apply = Callable[[str, list[str], dict[str, Any], str], list[str]]


def socket_path(runtime_dir: Path) -> Path:
    return Path(runtime_dir) / SOCKET_NAME


def _peer_uid(writer: asyncio.StreamWriter) -> int | None:
    sock = writer.get_extra_info("socket")
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (OSError, AttributeError):
        return None
    return int(struct.unpack("3i", creds)[1])


def error(en: str, es: str) -> dict[str, Any]:
    return {"ok": False, "error": {"en": en, "es": es}}


class AlarmCommands:
    """The socket server; `daemon` is the AlarmDaemon (resolve, apply, listing, well_of)."""

    def __init__(self, runtime_dir: Path, daemon: Any, guard: WriteGuard, log: Any) -> None:
        self.path = socket_path(runtime_dir)
        self.daemon = daemon
        self.guard = guard  # replaced on reload
        self.log = log
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)
        self.server = await asyncio.start_unix_server(self._client, path=str(self.path))
        os.chmod(self.path, 0o660)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        self.path.unlink(missing_ok=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        uid = _peer_uid(writer)
        try:
            while True:
                try:
                    message = await read_message(reader)
                except CommandProtocolError as exc:
                    writer.write(pack(error(str(exc), str(exc))))
                    break
                if message is None:
                    break
                try:
                    reply = self.handle(message, uid)
                except Exception as exc:  # one bad request must not stop the server
                    self.log.error("alarm command failed", error=repr(exc))
                    reply = error(f"internal error: {exc}", f"error interno: {exc}")
                writer.write(pack(reply))
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def handle(self, msg: dict[str, Any], uid: int | None) -> dict[str, Any]:
        op = msg.get("op")
        if op == "ping":
            return {"ok": True}
        if op == "list":
            return {"ok": True, "alarms": self.daemon.listing()}
        if op == "downtime":
            return self._downtime(msg, uid)
        if op not in OPERATIONS:
            return error(f"unknown op {op!r}", f"operación desconocida {op!r}")
        target = msg.get("id")
        comment = msg.get("comment") if isinstance(msg.get("comment"), str) else ""
        source = AUDIT_SOURCE.get(str(msg.get("source", "cli")), "system")
        if not isinstance(target, str) or not target:
            return error("'id' is required (an alarm id or a tag)",
                         "falta 'id' (id de alarma o etiqueta)")
        args: dict[str, Any] = {}
        if op == "shelve":
            seconds = msg.get("seconds")
            if not isinstance(seconds, int | float) or not 0 < seconds <= MAX_SHELVE_S:
                return error(f"shelving needs a duration of up to {MAX_SHELVE_S / 86400:g} "
                             "days", f"archivar requiere una duración de hasta "
                             f"{MAX_SHELVE_S / 86400:g} días")
            args["seconds"] = float(seconds)
        if op in ("shelve", "disable") and not comment.strip():
            return error("a comment is required (why)", "se requiere un comentario (por qué)")
        ids = self.daemon.resolve(target)
        if not ids:
            return error(f"no alarm '{target}'", f"no existe la alarma '{target}'")
        caller = self.guard.identify(uid, msg.get("user"))
        details = {"comment": comment, **args, "unix_user": caller.unix}
        for aid in ids:
            decision = None
            if caller.user is not None:
                decision = self.guard.policy.authorize(caller.user, "alarms", OPERATIONS[op],
                                                       self.daemon.well_of(aid))
            if caller.user is None or not decision:
                en, es = (caller.en, caller.es) if caller.user is None else \
                    (decision.en, decision.es)
                self.guard.audit.append(caller.name, source, f"alarms.{op}.denied", aid,
                                        {**details, "error": en})
                self.log.warning("alarm command refused", op=op, alarm=aid, user=caller.name)
                return error(en, es)
        changed = self.daemon.apply(op, ids, args, caller.name, comment)
        for aid in ids:
            self.guard.audit.append(caller.name, source, f"alarms.{op}", aid,
                                    {**details, "changed": aid in changed})
        return {"ok": True, "changed": changed}


    def _downtime(self, msg: dict[str, Any], uid: int | None) -> dict[str, Any]:
        """Begin (`seconds` > 0, a comment required) or end (`seconds` 0) a well's
        planned downtime; authorized as alarms/approve on that well, and audited."""
        well, seconds = msg.get("id"), msg.get("seconds")
        comment = msg.get("comment") if isinstance(msg.get("comment"), str) else ""
        source = AUDIT_SOURCE.get(str(msg.get("source", "cli")), "system")
        if not isinstance(well, str) or well not in self.daemon.config.wells:
            return error(f"no well '{well}' in the gateway configuration",
                         f"no existe el pozo '{well}' en la configuración del gateway")
        if not isinstance(seconds, int | float) or not 0 <= seconds <= MAX_DOWNTIME_S:
            return error(f"planned downtime lasts up to {MAX_DOWNTIME_S / 86400:g} days",
                         f"un paro programado dura hasta {MAX_DOWNTIME_S / 86400:g} días")
        if seconds > 0 and not comment.strip():
            return error("a comment is required (why)", "se requiere un comentario (por qué)")
        caller = self.guard.identify(uid, msg.get("user"))
        details = {"comment": comment, "seconds": float(seconds), "unix_user": caller.unix}
        decision = None if caller.user is None else \
            self.guard.policy.authorize(caller.user, "alarms", "approve", well)
        if caller.user is None or not decision:
            en, es = (caller.en, caller.es) if decision is None else (decision.en, decision.es)
            self.guard.audit.append(caller.name, source, "alarms.downtime.denied", well,
                                    {**details, "error": en})
            return error(en, es)
        changed = self.daemon.set_downtime(well, float(seconds), caller.name, comment)
        self.guard.audit.append(caller.name, source, "alarms.downtime", well,
                                {**details, "changed": changed})
        return {"ok": True, "changed": [well] if changed else []}


def request(runtime_dir: Path, message: dict[str, Any], timeout: float = 10.0
            ) -> dict[str, Any]:
    """A blocking round trip for the CLI (ConnectionError when alarmd is not running)."""
    return request_at(socket_path(runtime_dir), message, timeout)


def state_name(code: int) -> str:
    return STATE_NAMES[code]
