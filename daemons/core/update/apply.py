"""apply, rollback and status of signed image updates, every step audited.

apply BUNDLE
  1 verify      signature, architecture, payload (bundle.verify); refused → nothing changed
  2 unpack      into /opt/wellgate/.incoming-<v>, checked file by file, then renamed to <v>
  3 config      the NEW version migrates a copy of gateway.toml and validates it
                (`<v>/wellgate update migrate-config`, `<v>/wellgate config validate`);
                refused → the unpacked version is removed, nothing else changed
  4 switch      the config is backed up, the migrated one put in place, `current` → <v>
  5 restart     wellgate.target through the service manager
  6 health      every daemon of <v> READY and staying up within the timeout
  7 rollback    otherwise: `current` → the previous version, its config restored,
                restart, <v> removed
"""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemons.core.update import bundle as bundle_file
from daemons.core.update.errors import UpdateError
from daemons.core.update.keys import trusted_keys
from daemons.core.update.layout import Layout
from daemons.core.update.services import TARGET, ServiceManager, units_for, wait_healthy

# (action, object, details) → one audit entry; the CLI binds it to the audit log.
Audit = Callable[[str, str, dict[str, Any]], None]
KEEP_VERSIONS = 2  # current and previous (plus what dpkg owns): eMMC space is small
NEW_CONFIG_SUFFIX = ".update-new"


@dataclass(frozen=True)
class Health:
    timeout_s: float = 120.0
    settle_s: float = 10.0
    poll_s: float = 0.5


@dataclass(frozen=True)
class Outcome:
    ok: bool
    version: str  # what runs now
    en: str
    es: str


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Updater:
    def __init__(self, layout: Layout, audit: Audit, *, arch: str,
                 manager: ServiceManager | None, config: Path | None = None,
                 health: Health = Health()) -> None:
        self.layout, self.audit, self.arch = layout, audit, arch
        self.manager, self.health = manager, health
        self.config = config or layout.config

    # -- apply ---------------------------------------------------------------------------
    def apply(self, path: Path) -> Outcome:
        with self.layout.locked():
            return self._apply(path)

    def _apply(self, path: Path) -> Outcome:
        lay = self.layout
        previous = lay.current()
        try:
            verified = bundle_file.verify(path, trusted_keys(lay.keys_dir), self.arch)
        except UpdateError as exc:
            self.audit("update.refused", str(path), {"reason": exc.en, "running": previous})
            raise
        version = verified.version
        self.audit("update.verified", version, {"file": str(path), "key": verified.key.id,
                                                "arch": self.arch, "running": previous})
        if version == previous or lay.version_dir(version).exists():
            reason = (f"version {version} is already installed"
                      + (" and running" if version == previous else ""))
            self.audit("update.refused", version, {"reason": reason})
            raise UpdateError(f"{path}: refused, {reason}; nothing was changed",
                              f"{path}: rechazado, la versión {version} ya está instalada; "
                              "no se cambió nada")
        staging = lay.staging_dir(version)
        shutil.rmtree(staging, ignore_errors=True)  # left by an interrupted earlier try
        try:
            bundle_file.unpack(verified, staging)
        except UpdateError as exc:
            self.audit("update.refused", version, {"reason": exc.en, "step": "unpack"})
            raise
        staging.rename(lay.version_dir(version))
        self.audit("update.unpacked", version, {"dir": str(lay.version_dir(version))})
        try:
            candidate = self._migrate_config(version)
        except UpdateError as exc:
            lay.remove_version(version)
            self.audit("update.refused", version, {"reason": exc.en, "step": "config"})
            raise
        self._backup_config(previous)
        earlier = lay.read_state().get("previous")  # restored if this update rolls back
        if candidate is not None:
            candidate.replace(self.config)
            self.audit("update.config_migrated", str(self.config), {"version": version})
        lay.switch(version)
        self._record("apply", version, "switched", previous=previous)
        self.audit("update.switched", version, {"from": previous})
        healthy, why = self._restart(verified.manifest.get("programs", []), version)
        if healthy:
            removed = self._prune(keep={version, previous})
            self._record("apply", version, "ok")
            self.audit("update.done", version, {"from": previous, "removed": removed})
            return Outcome(True, version, f"updated {previous} → {version}: every daemon READY "
                           "and healthy", f"actualizado {previous} → {version}: todos los "
                           "servicios listos y sanos")
        return self._roll_back(version, previous, why, automatic=True, earlier=earlier)

    # -- rollback ------------------------------------------------------------------------
    def rollback(self) -> Outcome:
        with self.layout.locked():
            lay = self.layout
            running = lay.current()
            state = lay.read_state()
            target = state.get("previous")
            if not target or target == running or not lay.version_dir(target).is_dir():
                raise UpdateError("there is no previous version to roll back to",
                                  "no hay una versión anterior a la que volver")
            self._backup_config(running)  # rolling forward again restores it
            return self._roll_back(running, target, "asked for", automatic=False)

    def _roll_back(self, bad: str | None, target: str | None, why: str, *,
                   automatic: bool, earlier: str | None = None) -> Outcome:
        lay = self.layout
        if target is None:  # the very first install failed: nothing to go back to
            self._record("apply", bad, "failed", why)
            self.audit("update.failed", str(bad), {"reason": why, "rollback": "none possible"})
            return Outcome(False, str(bad), f"{bad} is not healthy ({why}) and there is no "
                           "earlier version to roll back to", f"{bad} no está sano ({why}) y "
                           "no hay versión anterior a la que volver")
        self.audit("update.rollback", str(bad), {"to": target, "reason": why,
                                                 "automatic": automatic})
        self._restore_config(target)
        lay.switch(target)
        healthy, after = self._restart(self._programs(target), target)
        if automatic and bad is not None:
            lay.remove_version(bad)
        # After an automatic rollback the version before is what it was before the apply;
        # after a manual one it is the version left, so `rollback` again goes forward.
        before = earlier if automatic else bad
        if before is not None and not lay.version_dir(before).is_dir():
            before = None
        self._record("rollback", target, "ok" if healthy else "unhealthy", why,
                     previous=before)
        self.audit("update.rolled_back", target, {"from": bad, "healthy": healthy,
                                                  "problem": after})
        if automatic:
            return Outcome(False, target, f"{bad} was not healthy ({why}); rolled back to "
                           f"{target}" + ("" if healthy else f", which is not healthy either "
                                          f"({after})"),
                           f"{bad} no estaba sano ({why}); se volvió a {target}"
                           + ("" if healthy else f", que tampoco está sano ({after})"))
        return Outcome(healthy, target, f"rolled back {bad} → {target}"
                       + ("" if healthy else f"; not healthy: {after}"),
                       f"se volvió de {bad} a {target}" + ("" if healthy else
                                                          f"; no está sano: {after}"))

    # -- steps ---------------------------------------------------------------------------
    def _restart(self, programs: list[str], version: str) -> tuple[bool, str]:
        if self.manager is None:
            self.audit("update.restart", version, {"skipped": "no service manager"})
            return True, ""
        units = units_for(programs)
        try:
            self.manager.restart(TARGET)
            self.audit("update.restart", version, {"unit": TARGET, "waiting_for": units})
            healthy, why = wait_healthy(self.manager, units, timeout_s=self.health.timeout_s,
                                        settle_s=self.health.settle_s,
                                        poll_s=self.health.poll_s)
        except UpdateError as exc:
            healthy, why = False, exc.en
        self.audit("update.health", version, {"healthy": healthy, "problem": why})
        return healthy, why

    def _migrate_config(self, version: str) -> Path | None:
        """The new version's migrated config (validated by it), or None if unchanged."""
        if not self.config.is_file():
            return None
        program = self.layout.version_dir(version) / "wellgate"
        candidate = self.config.with_name(self.config.name + NEW_CONFIG_SUFFIX)
        candidate.unlink(missing_ok=True)
        done = self._run_new(program, "update", "migrate-config", str(self.config),
                             "--out", str(candidate))
        if done.returncode != 0 or not candidate.is_file():
            candidate.unlink(missing_ok=True)
            raise UpdateError(f"version {version} cannot migrate {self.config}: "
                              f"{_tail(done)}", f"la versión {version} no puede migrar "
                              f"{self.config}: {_tail(done)}")
        done = self._run_new(program, "--lang", "en", "config", "validate", str(candidate))
        if done.returncode != 0:
            candidate.unlink(missing_ok=True)
            raise UpdateError(f"version {version} rejects the configuration {self.config}: "
                              f"{_tail(done)}", f"la versión {version} rechaza la "
                              f"configuración {self.config}: {_tail(done)}")
        self.audit("update.config_valid", str(self.config), {"version": version})
        if filecmp.cmp(candidate, self.config, shallow=False):
            candidate.unlink()
            return None
        return candidate

    @staticmethod
    def _run_new(program: Path, *args: str) -> subprocess.CompletedProcess:
        try:
            return subprocess.run([str(program), *args], capture_output=True, text=True,
                                  timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return subprocess.CompletedProcess([str(program)], 126, "", str(exc))

    def _backup_dir(self, version: str | None) -> Path:
        return self.layout.state_dir / "config-backup" / (version or "none")

    def _backup_config(self, version: str | None) -> None:
        if version is not None and self.config.is_file():
            folder = self._backup_dir(version)
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.config, folder / self.config.name)

    def _restore_config(self, version: str) -> None:
        saved = self._backup_dir(version) / self.config.name
        if saved.is_file() and not filecmp.cmp(saved, self.config, shallow=False):
            tmp = self.config.with_name(self.config.name + ".rollback")
            shutil.copy2(saved, tmp)
            tmp.replace(self.config)
            self.audit("update.config_restored", str(self.config), {"version": version})

    def _programs(self, version: str) -> list[str]:
        """The programs of an installed version (its build info, else its links)."""
        folder = self.layout.version_dir(version)
        try:
            return list(json.loads((folder / bundle_file.BUILD_INFO).read_text())["programs"])
        except (OSError, ValueError, KeyError):
            return sorted(p.name for p in folder.iterdir() if p.is_symlink())

    def _prune(self, keep: set[str | None]) -> list[str]:
        lay = self.layout
        keep = keep | lay.dpkg_owned()
        removed = [v for v in lay.installed() if v not in keep]
        for v in removed:
            lay.remove_version(v)
            shutil.rmtree(self._backup_dir(v), ignore_errors=True)
        return removed

    _UNSET: Any = object()

    def _record(self, op: str, version: str | None, result: str, why: str = "", *,
                previous: Any = _UNSET) -> None:
        state = self.layout.read_state()
        if previous is not self._UNSET:
            state["previous"] = previous
        state["last"] = {"op": op, "version": version, "result": result, "problem": why,
                         "at": _now()}
        self.layout.write_state(state)

    # -- status --------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        lay = self.layout
        state = lay.read_state()
        try:
            keys = [k.id for k in trusted_keys(lay.keys_dir)]
        except UpdateError as exc:
            keys = [f"error: {exc.en}"]
        return {"current": lay.current(), "previous": state.get("previous"),
                "installed": lay.installed(), "arch": self.arch, "trusted_keys": keys,
                "last": state.get("last")}


def _tail(done: subprocess.CompletedProcess) -> str:
    text = (done.stderr or done.stdout or "").strip().splitlines()
    return " / ".join(text[-3:]) if text else f"exit {done.returncode}"
