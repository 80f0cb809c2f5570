"""The service manager that restarts the stack after a switch, and the wait for health.

`Systemctl` drives systemd (the gateway).  `CommandHook` runs a program of the
integrator's (gateways without systemd, and the tests, where systemd is not PID 1):

    HOOK restart UNIT          restart it (return at once; the wait below follows)
    HOOK state UNIT…           one line per unit: "UNIT ACTIVE_STATE RESTARTS"

Healthy means: every daemon unit of the new version is `active` — for Type=notify
units that is after READY=1 — and stays active, without a restart, for the settle time
(a daemon that reports READY and then crashes on its first poll is not healthy).
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from daemons.core.update.errors import UpdateError

TARGET = "wellgate.target"
GATEWAY_DAEMONS = ("acqd", "calcd", "alarmd", "forwardd", "opcuad", "webd")


def units_for(programs: Iterable[str]) -> list[str]:
    """The service units of the gateway daemons among a version's programs."""
    have = set(programs)
    return [f"wellgate-{d}.service" for d in GATEWAY_DAEMONS if d in have]


@dataclass(frozen=True)
class UnitState:
    unit: str
    active: str  # systemd's ActiveState: active, activating, failed, inactive …
    restarts: int


class ServiceManager(Protocol):
    def restart(self, unit: str) -> None: ...

    def states(self, units: list[str]) -> list[UnitState]: ...


def _run(argv: list[str], timeout: float = 30.0) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UpdateError(f"{argv[0]} failed: {exc}", f"{argv[0]} falló: {exc}") from exc
    if done.returncode != 0:
        msg = (done.stderr or done.stdout).strip()
        raise UpdateError(f"{' '.join(argv)} exited {done.returncode}: {msg}",
                          f"{' '.join(argv)} terminó con {done.returncode}: {msg}")
    return done.stdout


class Systemctl:
    def restart(self, unit: str) -> None:
        _run(["systemctl", "restart", "--no-block", unit])

    def states(self, units: list[str]) -> list[UnitState]:
        out = _run(["systemctl", "show", "--property=Id,ActiveState,NRestarts", *units])
        states, block = [], {}
        for line in [*out.splitlines(), ""]:
            if line.strip():
                key, _, value = line.partition("=")
                block[key] = value
            elif block:
                states.append(UnitState(block.get("Id", "?"), block.get("ActiveState", "?"),
                                        int(block.get("NRestarts", "0") or 0)))
                block = {}
        return states


class CommandHook:
    def __init__(self, command: str) -> None:
        self.argv = shlex.split(command)

    def restart(self, unit: str) -> None:
        _run([*self.argv, "restart", unit])

    def states(self, units: list[str]) -> list[UnitState]:
        result = []
        for line in _run([*self.argv, "state", *units]).splitlines():
            parts = line.split()
            if len(parts) >= 2:
                result.append(UnitState(parts[0], parts[1],
                                        int(parts[2]) if len(parts) > 2 else 0))
        return result


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def manager_from(spec: str | None) -> ServiceManager | None:
    """`systemctl`, `command:HOOK`, `none`, or None = systemctl when systemd is PID 1."""
    if spec is None:
        if not systemd_running():
            raise UpdateError("systemd is not running here: give --service-manager "
                              "command:HOOK, or --service-manager none to switch without a "
                              "restart", "systemd no está en marcha aquí: indique "
                              "--service-manager command:PROGRAMA, o --service-manager none "
                              "para cambiar sin reiniciar")
        return Systemctl()
    if spec == "systemctl":
        return Systemctl()
    if spec == "none":
        return None
    if spec.startswith("command:") and spec[len("command:"):].strip():
        return CommandHook(spec[len("command:"):])
    raise UpdateError(f"unknown service manager '{spec}' (systemctl, command:HOOK, none)",
                      f"gestor de servicios desconocido '{spec}' (systemctl, command:PROGRAMA, "
                      "none)")


def wait_healthy(manager: ServiceManager, units: list[str], *, timeout_s: float,
                 settle_s: float, poll_s: float = 0.5,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> tuple[bool, str]:
    """Wait until every unit is active and stays so for `settle_s`; (healthy, why not)."""
    if not units:
        return True, ""
    deadline = clock() + timeout_s
    since: float | None = None
    baseline: dict[str, int] = {}
    why = "no state yet"
    while True:
        states = {s.unit: s for s in manager.states(units)}
        failed = [u for u in units if u in states and states[u].active == "failed"]
        if failed:
            return False, f"{', '.join(failed)} failed"
        waiting = [u for u in units if u not in states or states[u].active != "active"]
        if waiting:
            since, baseline = None, {}
            why = "not READY: " + ", ".join(
                f"{u} {states[u].active if u in states else 'unknown'}" for u in waiting)
        elif since is None:
            since, baseline = clock(), {u: states[u].restarts for u in units}
        else:
            restarted = [u for u in units if states[u].restarts != baseline[u]]
            if restarted:
                return False, f"{', '.join(restarted)} restarted after READY"
            if clock() - since >= settle_s:
                return True, ""
        if clock() >= deadline:
            return False, f"timed out after {timeout_s:g} s ({why})"
        sleep(poll_s)
