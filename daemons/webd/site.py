"""What the HMI pages ask beyond the core API: the site overview (status, key values,
alarm counts per well), the tags a user may write, device health and disk use, the
alarm journal and trends as CSV.  Runs on webd's worker thread; every call authorized.
"""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

from daemons.core.access.model import User
from daemons.core.access.writes import module_of
from daemons.core.config.model import ALARM_PRIORITIES
from daemons.core.ring import RingError
from daemons.core.ring.rows import collect
from daemons.webd.auth import ApiError, Gatekeeper
from daemons.webd.data import Api

# The values shown on a well's overview tile, by well type (the first three that exist).
KEY_TAGS: dict[str, tuple[str, ...]] = {
    "rod_pump": ("SPM", "FILLAGE", "PRODUCTION", "THP"),
    "esp": ("FREQUENCY", "MOTOR_CURRENT", "INTAKE_PRESSURE", "THP"),
    "gas_lift": ("INJ_RATE", "INJ_PRESSURE", "LIQUID_RATE", "THP"),
    "pcp": ("ROTOR_SPEED", "DRIVE_TORQUE", "FLOW_RATE", "THP"),
    "flowing": ("THP", "CHOKE_POSITION", "FLOWLINE_PRESSURE"),
    "drilling": ("BIT_DEPTH", "HOLE_DEPTH", "ROP", "HOOKLOAD"),
    "coiled_tubing": ("DEPTH", "WEIGHT", "PUMP_PRESSURE", "WHP"),
}
DEFAULT_KEYS = ("THP", "CHP")
# alarmd's states in which an alarm is still active (docs/alarms.md)
ACTIVE_STATES = frozenset({"unacknowledged", "acknowledged"})
UNACKED_STATES = frozenset({"unacknowledged", "rtn_unacknowledged"})
EVENTS_DB = "events.db"  # alarmd's journal, opened read-only (daemons/alarmd/journal.py)
JOURNAL_COLUMNS = ("seq", "at", "alarm_id", "old", "new", "value", "action", "user",
                   "comment")
MAX_JOURNAL_ROWS = 2000


def well_status(well_type: str, values: dict[str, Any], active_alarms: int) -> str:
    """running, stopped, pumped_off, on_test, drilling, alarm or unknown.

    In this order: an active alarm wins; a drilling well is drilling; a well whose test
    valve is open is on test; a pumped-off flag (controller's or calcd's) says pumped off;
    the controller's RUNNING flag says running or stopped.  Without a RUNNING flag, the
    well type's own evidence (tag names of tagmaps/*.csv): a flowing well's production
    valve, a gas-lift controller enabled and injecting, a coiled-tubing unit moving pipe or
    pumping.  A well with none of these tags is unknown rather than guessed.
    """
    if active_alarms:
        return "alarm"
    if well_type == "drilling":
        return "drilling"
    if values.get("TEST_VALVE") == 1:
        return "on_test"
    if any(v == 1 for k, v in values.items() if k.endswith("PUMPED_OFF")):
        return "pumped_off"
    running = values.get("RUNNING")
    if running is not None:
        return "running" if running >= 0.5 else "stopped"
    evidence = _running_evidence(well_type, values)
    if evidence is not None:
        return "running" if evidence else "stopped"
    return "unknown"


def _running_evidence(well_type: str, values: dict[str, Any]) -> bool | None:
    if well_type == "flowing" and "PROD_VALVE" in values:
        return values["PROD_VALVE"] >= 0.5
    if well_type == "gas_lift" and "INJ_RATE" in values:
        return values.get("ENABLE", 1) >= 0.5 and values["INJ_RATE"] > 0
    if well_type == "coiled_tubing" and ("SPEED" in values or "PUMP_RATE" in values):
        return abs(values.get("SPEED", 0)) > 0 or values.get("PUMP_RATE", 0) > 0
    return None


class SiteViews:
    """The pages' aggregate reads, on top of `Api` (same gate, same rings)."""

    def __init__(self, gate: Gatekeeper, api: Api) -> None:
        self.gate, self.api, self.config = gate, api, gate.config

    def _alarm_rows(self, user: User) -> list[dict[str, Any]] | None:
        if not self.gate.allowed(user, "alarms", "read"):
            return None
        try:
            return self.api.alarms(user)
        except ApiError:
            return None  # alarmd down: the overview still shows the values

    def overview(self, user: User, only: str | None = None) -> dict[str, Any]:
        if only is not None and only not in self.config.wells:
            raise ApiError(404, f"no well '{only}' on this gateway",
                           f"no existe el pozo '{only}' en este gateway")
        self.gate.require(user, "production", "read", only)
        try:
            rows = collect(self.api.rings, "*")
        except RingError:
            rows = []
        alarms = self._alarm_rows(user)
        by_well: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_well.setdefault(r["tag"].partition(".")[0], []).append(r)
        wells = []
        for wid, w in self.config.wells.items():
            if (only is not None and wid != only) or \
                    not self.gate.allowed(user, "production", "read", wid):
                continue
            mine = [r for r in by_well.get(wid, []) if self.gate.may_read_tag(user, r["tag"])]
            values = {r["tag"].partition(".")[2]: r["value"] for r in mine
                      if r["quality"] == "good" and isinstance(r["value"], int | float)}
            counts: dict[str, Any] | None = None
            active = 0
            if alarms is not None:
                active_rows = [a for a in alarms if a.get("well") == wid
                               and a.get("state") in ACTIVE_STATES]
                active = len(active_rows)
                by_priority = Counter(a.get("priority") for a in active_rows)
                counts = {"active": active, "unacknowledged": sum(
                    1 for a in alarms if a.get("well") == wid
                    and a.get("state") in UNACKED_STATES),
                    **{p: by_priority.get(p, 0) for p in ALARM_PRIORITIES}}
            wanted = KEY_TAGS.get(w.type, DEFAULT_KEYS)
            index = {r["tag"].partition(".")[2]: r for r in mine}
            keys = [index[k] for k in wanted if k in index][:3]
            wells.append({**self.api.well_json(wid),
                          "status": well_status(w.type, values, active),
                          "key_values": keys, "alarms": counts})
        return {"site": self.config.gateway.site, "wells": wells}

    def writable(self, user: User, pattern: str) -> list[dict[str, Any]]:
        """The tags matching `pattern` this user may write (the tag map says rw and
        `authorize` allows write on the tag's module and well), with their limits."""
        self.gate.require(user, "production", "read")
        self.gate.tag_def("")  # reloads the maps if a new version was installed
        tagmap = self.gate.tagmap
        if tagmap is None:
            return []
        try:
            names = [r["tag"] for r in collect(self.api.rings, pattern)]
        except RingError:
            names = []
        out = []
        for name in names:
            tag = tagmap.get(name)
            if tag is None or "w" not in tag.access:
                continue
            if self.gate.allowed(user, module_of(tag, self.gate.well_types), "write",
                                 tag.well):
                out.append({"tag": name, "min": tag.min, "max": tag.max, "units": tag.units})
        return out

    def system(self, user: User) -> dict[str, Any]:
        """`/api/status` plus device communication health and disk use."""
        base = self.api.status(user)
        devices: dict[str, Counter] = {}
        tagmap = self.gate.tagmap
        try:
            rows = {r["tag"]: r for r in collect(self.api.rings, "*")}
        except RingError:
            rows = {}
        if tagmap is not None:
            for tag in tagmap.tags:
                c = devices.setdefault(tag.device, Counter())
                row = rows.get(tag.name)
                c[row["quality"] if row is not None else "absent"] += 1
        state_dir = Path(self.config.paths.state_dir)
        usage = shutil.disk_usage(state_dir)
        return {**base,
                "devices": [{"name": name, "tags": sum(c.values()), "good": c["good"],
                             "uncertain": c["uncertain"], "bad": c["bad"],
                             "absent": c["absent"]} for name, c in sorted(devices.items())],
                "disk": {"path": str(state_dir), "total_bytes": usage.total,
                         "used_bytes": usage.used, "free_bytes": usage.free}}

    def journal(self, user: User, since: float | None, until: float | None, text: str,
                limit: int) -> list[dict[str, Any]]:
        """alarmd's journal (events.db, read-only), newest first, on wells in scope."""
        self.gate.require(user, "alarms", "read")
        if not 1 <= limit <= MAX_JOURNAL_ROWS:
            raise ApiError(400, f"'limit' must be 1 to {MAX_JOURNAL_ROWS}",
                           f"'limit' debe estar entre 1 y {MAX_JOURNAL_ROWS}")
        path = Path(self.config.paths.state_dir) / EVENTS_DB
        if not path.exists():
            return []
        until = time.time() if until is None else until
        since = until - 86_400.0 if since is None else since
        like = f"%{text.replace('%', '')}%"
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        except sqlite3.Error as exc:
            raise ApiError(503, f"the alarm journal is not readable: {exc}",
                           f"el diario de alarmas no se puede leer: {exc}") from exc
        try:
            rows = conn.execute(
                f"SELECT {', '.join(JOURNAL_COLUMNS)} FROM transitions "
                "WHERE at >= ? AND at <= ? AND (alarm_id LIKE ? OR comment LIKE ? "
                "OR user LIKE ?) ORDER BY seq DESC LIMIT ?",
                (since, until, like, like, like, limit * 4)).fetchall()
        except sqlite3.Error as exc:
            raise ApiError(503, f"the alarm journal is not readable: {exc}",
                           f"el diario de alarmas no se puede leer: {exc}") from exc
        finally:
            conn.close()
        out = []
        for row in rows:
            entry = dict(zip(JOURNAL_COLUMNS, row, strict=True))
            prefix = str(entry["alarm_id"]).partition(".")[0]
            well = prefix if prefix in self.config.wells else None
            if self.gate.allowed(user, "alarms", "read", well):
                out.append(entry)
            if len(out) >= limit:
                break
        return out

    def history_csv(self, user: User, tag: str, start: str | None, end: str | None,
                    points: int) -> str:
        """The same decimated trend as `/api/history`, as CSV (same authorization)."""
        d = self.api.history(user, tag, start, end, points)
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\r\n")
        out.writerow(["ts", "value", "min", "max", "quality"])
        for row in zip(d["ts"], d["value"], d["min"], d["max"], d["quality"], strict=True):
            out.writerow(["" if v is None else v for v in row])
        return buf.getvalue()
