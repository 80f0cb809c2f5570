"""What the API reads and asks for, each call authorized (runs on webd's worker thread).

Reads go straight to the files (rings, history databases, status files); actions go to
their owners: writes to acqd's command socket, alarm operations to alarmd's, both with
the authenticated user passed along so the owner checks and audits it again.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemons.core import commands as acq_commands
from daemons.core.access.model import User
from daemons.core.access.writes import module_of
from daemons.core.commands import CommandProtocolError, request_at
from daemons.core.history.reader import HistoryReader, default_paths
from daemons.core.quality import severity
from daemons.core.ring import RingDirectory, RingError
from daemons.core.ring.rows import collect  # the keys of `wellgate tags --json`
from daemons.core.service import read_statuses, wellgate_version
from daemons.webd.auth import SOURCE, ApiError, Gatekeeper

NS = 1_000_000_000
MAX_POINTS = 10_000
DEFAULT_SPAN_NS = 3600 * NS
ALARMD_SOCKET = "alarmd.sock"
# As alarmd checks them (daemons/alarmd/commands.py): acknowledging is an operator's
# write, shelving takes an alarm out of annunciation and needs approval.
ALARM_OPERATIONS = {"ack": "write", "shelve": "approve"}


def _unavailable(what: str, exc: BaseException) -> ApiError:
    return ApiError(503, f"{what} is not available: {exc}", f"{what} no está disponible: {exc}")


def alarmd_request(runtime_dir: Path, message: dict[str, Any], timeout: float = 10.0
                   ) -> dict[str, Any]:
    """One round trip on alarmd's socket (the framing of daemons/core/commands.py)."""
    return request_at(Path(runtime_dir) / ALARMD_SOCKET, message, timeout)


def parse_time(text: str | None, default_ns: int, name: str) -> int:
    """ISO 8601 (2026-12-04T10:00:00Z) or Unix seconds; naive times are UTC."""
    if text is None or text == "":
        return default_ns
    try:
        return int(float(text) * NS)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"'{name}' must be ISO 8601 or Unix seconds, not '{text}'",
                       f"'{name}' debe ser ISO 8601 o segundos Unix, no '{text}'") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * NS)


def _iso(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9, UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _num(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


class Api:
    """The endpoints' work, given the caller (a User already authenticated)."""

    def __init__(self, gate: Gatekeeper) -> None:
        self.gate = gate
        self.config = gate.config
        self.rings = RingDirectory(gate.config.paths.runtime_dir)

    def close(self) -> None:
        self.rings.close()

    def _rows(self, pattern: str) -> list[dict[str, Any]]:
        try:
            return collect(self.rings, pattern)
        except RingError as exc:
            raise _unavailable("live data", exc) from exc

    def tags(self, user: User, pattern: str) -> list[dict[str, Any]]:
        self.gate.require(user, "production", "read")
        return [r for r in self._rows(pattern) if self.gate.may_read_tag(user, r["tag"])]

    def history(self, user: User, tag: str, start: str | None, end: str | None,
                points: int) -> dict[str, Any]:
        if not 1 <= points <= MAX_POINTS:
            raise ApiError(400, f"'points' must be 1 to {MAX_POINTS}",
                           f"'points' debe estar entre 1 y {MAX_POINTS}")
        end_ns = parse_time(end, time.time_ns(), "end")
        start_ns = parse_time(start, end_ns - DEFAULT_SPAN_NS, "start")
        if end_ns <= start_ns:
            raise ApiError(400, "'start' must be before 'end'", "'start' debe ser antes de 'end'")
        module, well = self.gate.tag_scope(tag)
        self.gate.require(user, module, "read", well)
        with HistoryReader(default_paths(self.config.paths.state_dir)) as reader:
            if not reader.has(tag):
                raise ApiError(404, f"no history for '{tag}'", f"no hay histórico de '{tag}'")
            d = reader.decimated(tag, start_ns, end_ns, points)
        return {"tag": tag, "start": _iso(start_ns), "end": _iso(end_ns), "source": d.source,
                "ts": [_iso(int(t)) for t in d.ts], "value": [_num(v) for v in d.value],
                "min": [_num(v) for v in d.min], "max": [_num(v) for v in d.max],
                "quality": [severity(int(q)) for q in d.quality]}

    def well_json(self, well_id: str) -> dict[str, Any]:
        w = self.config.wells[well_id]
        return {"id": w.id, "name": w.name, "field": w.field, "type": w.type,
                "latitude": w.latitude, "longitude": w.longitude,
                "description": w.description}

    def wells(self, user: User) -> list[dict[str, Any]]:
        self.gate.require(user, "production", "read")
        return [self.well_json(w) for w in self.config.wells
                if self.gate.allowed(user, "production", "read", w)]

    def well(self, user: User, well_id: str) -> dict[str, Any]:
        if well_id not in self.config.wells:
            raise ApiError(404, f"no well '{well_id}' on this gateway",
                           f"no existe el pozo '{well_id}' en este gateway")
        self.gate.require(user, "production", "read", well_id)
        try:
            rows = collect(self.rings, f"{well_id}.*")
        except RingError:
            rows = []  # the well's configuration is still worth showing
        return {**self.well_json(well_id),
                "tags": [r for r in rows if self.gate.may_read_tag(user, r["tag"])]}

    def _alarm_list(self) -> list[dict[str, Any]]:
        try:
            reply = alarmd_request(self.config.paths.runtime_dir, {"op": "list"})
        except (OSError, CommandProtocolError) as exc:
            raise _unavailable("alarmd", exc) from exc
        if not reply.get("ok"):
            raise ApiError(502, "alarmd refused the list", "alarmd rechazó la lista")
        return list(reply.get("alarms", []))

    def alarms(self, user: User) -> list[dict[str, Any]]:
        self.gate.require(user, "alarms", "read")
        return [a for a in self._alarm_list()
                if self.gate.allowed(user, "alarms", "read", a.get("well"))]

    def alarm_op(self, user: User, op: str, target: str, comment: str,
                 seconds: float | None) -> dict[str, Any]:
        """Acknowledge or shelve through alarmd, which checks and audits it again."""
        matches = [a for a in self._alarm_list() if target in (a.get("id"), a.get("tag"))]
        if not matches:
            raise ApiError(404, f"no alarm '{target}'", f"no existe la alarma '{target}'")
        for a in matches:
            decision = self.gate.policy.authorize(user, "alarms", ALARM_OPERATIONS[op],
                                                  a.get("well"))
            if not decision:
                self.gate.audit.append(user.name, SOURCE, f"alarms.{op}.denied", a["id"],
                                       {"comment": comment, "error": decision.en})
                raise ApiError(403, decision.en, decision.es)
        message: dict[str, Any] = {"op": op, "id": target, "comment": comment,
                                   "user": user.name, "source": "webd"}
        if seconds is not None:
            message["seconds"] = seconds
        try:
            reply = alarmd_request(self.config.paths.runtime_dir, message)
        except (OSError, CommandProtocolError) as exc:
            raise _unavailable("alarmd", exc) from exc
        if not reply.get("ok"):
            err = reply.get("error") or {}
            raise ApiError(409, str(err.get("en", "refused")), str(err.get("es", "rechazado")))
        return {"changed": list(reply.get("changed", []))}

    def write(self, user: User, tag_name: str, value: float, reason: str) -> dict[str, Any]:
        """A write through acqd's command API (acqd checks, journals, audits, reads back)."""
        tag = self.gate.tag_def(tag_name)
        if tag is None:
            raise ApiError(404, f"no tag '{tag_name}' in the installed tag maps",
                           f"no existe la etiqueta '{tag_name}' en los mapas instalados")
        decision = self.gate.policy.authorize(user, module_of(tag, self.gate.well_types),
                                              "write", tag.well)
        if not decision:
            self.gate.audit.append(user.name, SOURCE, "tag.write.denied", tag_name,
                                   {"value": value, "reason": reason, "error": decision.en})
            raise ApiError(403, decision.en, decision.es)
        message = {"op": "write", "tag": tag_name, "value": value, "reason": reason,
                   "user": user.name, "source": "webd"}
        try:
            reply = acq_commands.request(self.config.paths.runtime_dir, message)
        except (OSError, CommandProtocolError) as exc:
            raise _unavailable("acqd", exc) from exc
        if not reply.get("ok"):
            err = reply.get("error") or {}
            status = 502 if reply.get("state") == "failed" else 409
            raise ApiError(status, str(err.get("en", "refused")), str(err.get("es", "rechazado")))
        return {k: reply.get(k) for k in ("id", "state", "readback")}

    def status(self, user: User) -> dict[str, Any]:
        self.gate.require(user, "system", "read")
        daemons = [{"name": s.name, "state": s.state, "pid": s.pid, "alive": s.alive,
                    "stale": s.stale, "started_at": s.started_at, "last_loop": s.last_loop,
                    "errors": s.errors, "last_error": s.last_error, "text": s.text,
                    "version": s.version}
                   for s in read_statuses(self.config.paths.runtime_dir)]
        return {"site": self.config.gateway.site, "version": wellgate_version(),
                "daemons": daemons}
