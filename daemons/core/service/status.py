"""Status files: what each running daemon is doing, for `wellgate status` and reloads.

Every daemon keeps ``<runtime_dir>/status/<name>.json``.  It is written atomically
(temporary file + rename, so a reader never sees half a file) and at most once a second
while only loop counters change; state changes (starting, ready, reloading, stopping) are
written at once because they are rare and the CLI must see them promptly.  The file is
removed on a clean stop, so a file whose process is gone means the daemon crashed.

The process start time (from /proc) is stored next to the pid: after a crash the pid may
be reused by an unrelated process, and `signal_daemons` must not send it SIGHUP (whose
default action is to terminate).
"""

from __future__ import annotations

import json
import os
import signal as _signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATES = ("starting", "ready", "reloading", "stopping")
WRITE_INTERVAL_S = 1.0
STALE_AFTER_S = 15.0  # several missed 1 Hz loops, well inside a 30 s WatchdogSec


def status_dir(runtime_dir: Path) -> Path:
    return Path(runtime_dir) / "status"


def iso_utc(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def _parse_iso(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def proc_start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), or None if unknown."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and ')': split after the last ')'.
    fields = raw[raw.rfind(")") + 2:].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int, start_ticks: int | None = None) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, it just belongs to another user
    if start_ticks is not None:
        current = proc_start_ticks(pid)
        if current is not None and current != start_ticks:
            return False  # the pid now belongs to another process
    return True


class StatusWriter:
    """Keeps one daemon's status file up to date."""

    def __init__(self, runtime_dir: Path, name: str, *, config_file: Path | str,
                 version: str, argv: Iterable[str] | None = None,
                 clock: Any = time.time) -> None:
        self.path = status_dir(runtime_dir) / f"{name}.json"
        self._clock = clock
        pid = os.getpid()
        self._data: dict[str, Any] = {
            "name": name, "pid": pid, "start_ticks": proc_start_ticks(pid),
            "state": "starting", "started_at": iso_utc(clock()), "last_loop": None,
            "loops": 0, "errors": 0, "last_error": None, "text": "",
            "config": str(config_file), "version": version,
            "argv": None if argv is None else list(argv), "updated_at": None,
        }
        self._last_write = float("-inf")
        self._dirty = True
        self.write_error: OSError | None = None

    @property
    def state(self) -> str:
        return str(self._data["state"])

    def set_state(self, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        self._data["state"] = state
        self.write()

    def loop(self, when: float | None = None) -> None:
        self._data["loops"] += 1
        self._data["last_loop"] = iso_utc(self._clock() if when is None else when)
        self._dirty = True

    def error(self, text: str) -> None:
        self._data["errors"] += 1
        self._data["last_error"] = text
        self._dirty = True

    def text(self, text: str) -> None:
        if self._data["text"] != text:
            self._data["text"] = text
            self._dirty = True

    def flush(self) -> bool:
        """Write if something changed and the last write is a second old; True if written."""
        now = time.monotonic()
        if not self._dirty or now - self._last_write < WRITE_INTERVAL_S:
            return False
        return self.write()

    def write(self) -> bool:
        """Write now; False (and `write_error` set) if the runtime dir refused it.

        A status file is diagnostics: failing to write it must never stop a daemon, so
        the error is kept for the framework to log once instead of being raised.
        """
        self._data["updated_at"] = iso_utc(self._clock())
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self._data, indent=1) + "\n", encoding="utf-8")
            # The runtime dir is a tmpfs: no fsync; the file must be whole, not durable.
            os.replace(tmp, self.path)
        except OSError as exc:
            self.write_error = exc
            return False
        self.write_error = None
        self._last_write = time.monotonic()
        self._dirty = False
        return True

    def remove(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            self.write_error = exc


class SignalPermissionError(PermissionError):
    """Some daemons could not be signalled (another user's processes); others were."""

    def __init__(self, reached: list[str], denied: list[str]) -> None:
        self.reached = reached
        self.denied = denied
        super().__init__(f"not allowed to signal {', '.join(denied)} "
                         f"(signalled: {', '.join(reached) or 'none'})")


@dataclass(frozen=True)
class DaemonStatus:
    """One status file as read back, with what the reader could verify about it."""

    name: str
    pid: int
    state: str  # one of STATES, or "unreadable"
    started_at: str | None
    last_loop: str | None
    loops: int
    errors: int
    last_error: str | None
    text: str
    config: str
    version: str
    alive: bool  # the process that wrote the file still runs
    stale: bool  # ready, but no loop for `stale_after_s` (hung, or dead)
    path: Path
    start_ticks: int | None = None


def read_statuses(runtime_dir: Path, *, stale_after_s: float = STALE_AFTER_S,
                  now: float | None = None) -> list[DaemonStatus]:
    """Every status file under `runtime_dir`, sorted by daemon name."""
    moment = time.time() if now is None else now
    found: list[DaemonStatus] = []
    directory = status_dir(runtime_dir)
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.json")):
        found.append(_read_one(path, moment, stale_after_s))
    return found


def _read_one(path: Path, now: float, stale_after_s: float) -> DaemonStatus:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
        pid = int(data.get("pid", 0))
    except (OSError, ValueError, TypeError):
        return DaemonStatus(path.stem, 0, "unreadable", None, None, 0, 0, None, "", "", "",
                            False, True, path)
    ticks = data.get("start_ticks")
    ticks = ticks if isinstance(ticks, int) else None
    alive = pid_alive(pid, ticks)
    state = str(data.get("state", "unreadable"))
    last = _parse_iso(data.get("last_loop"))
    started = _parse_iso(data.get("started_at"))
    reference = last if last is not None else started
    stale = (not alive) or (state == "ready" and (reference is None
                                                  or now - reference > stale_after_s))
    return DaemonStatus(
        name=str(data.get("name", path.stem)), pid=pid, state=state,
        started_at=data.get("started_at"), last_loop=data.get("last_loop"),
        loops=int(data.get("loops", 0)), errors=int(data.get("errors", 0)),
        last_error=data.get("last_error"), text=str(data.get("text", "")),
        config=str(data.get("config", "")), version=str(data.get("version", "")),
        alive=alive, stale=stale, path=path, start_ticks=ticks)


def signal_daemons(runtime_dir: Path, sig: int = _signal.SIGHUP,
                   names: Iterable[str] | None = None) -> list[str]:
    """Send `sig` to the running daemons (all, or those in `names`); return who got it.

    Daemons whose status file is left over from a crash are skipped.  If some could not
    be signalled for lack of permission, the others are still signalled and then
    `SignalPermissionError` (a PermissionError) names both lists.
    """
    wanted = None if names is None else set(names)
    reached: list[str] = []
    denied: list[str] = []
    for status in read_statuses(runtime_dir):
        if (wanted is not None and status.name not in wanted) or not status.alive:
            continue
        try:
            os.kill(status.pid, sig)
        except ProcessLookupError:
            continue  # exited between reading and signalling
        except PermissionError:
            denied.append(status.name)
            continue
        reached.append(status.name)
    if denied:
        raise SignalPermissionError(reached, denied)
    return reached
