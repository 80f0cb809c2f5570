"""Where an image lives on a gateway, under a root ("/" on the gateway, a scratch
directory in tests or when preparing an SD card):

    <root>/opt/wellgate/<version>/          one directory per installed version
    <root>/opt/wellgate/current             -> <version>  (what the units run)
    <root>/etc/wellgate/update-keys/*.pub   trusted public keys
    <root>/var/lib/wellgate/update/         state.json, lock, config backups
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemons.core.update.errors import UpdateError

CURRENT = "current"
STAGING_PREFIX = ".incoming-"


def machine_arch() -> str:
    """This machine's Debian architecture name (amd64, arm64, armhf …), as the image
    build records it."""
    try:
        out = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                             timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf"}.get(machine, machine)


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def install_dir(self) -> Path:
        return self.root / "opt" / "wellgate"

    @property
    def current_link(self) -> Path:
        return self.install_dir / CURRENT

    @property
    def keys_dir(self) -> Path:
        return self.root / "etc" / "wellgate" / "update-keys"

    @property
    def config(self) -> Path:
        return self.root / "etc" / "wellgate" / "gateway.toml"

    @property
    def state_dir(self) -> Path:
        return self.root / "var" / "lib" / "wellgate" / "update"

    def version_dir(self, version: str) -> Path:
        return self.install_dir / version

    def staging_dir(self, version: str) -> Path:
        return self.install_dir / f"{STAGING_PREFIX}{version}"

    def current(self) -> str | None:
        """The version `current` points at, or None when there is none."""
        try:
            target = os.readlink(self.current_link)
        except OSError:
            return None
        return Path(target).name

    def installed(self) -> list[str]:
        if not self.install_dir.is_dir():
            return []
        return sorted(p.name for p in self.install_dir.iterdir()
                      if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))

    def switch(self, version: str) -> None:
        """Point `current` at `version` atomically (a new link renamed over the old one:
        a daemon started at any instant sees either version whole)."""
        if not self.version_dir(version).is_dir():
            raise UpdateError(f"version {version} is not installed in {self.install_dir}",
                              f"la versión {version} no está instalada en {self.install_dir}")
        tmp = self.install_dir / f".{CURRENT}.new"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(version)
        os.replace(tmp, self.current_link)
        _fsync_dir(self.install_dir)

    def remove_version(self, version: str) -> None:
        if version == self.current():
            raise UpdateError(f"version {version} is running; it cannot be removed",
                              f"la versión {version} está en uso; no se puede borrar")
        shutil.rmtree(self.version_dir(version), ignore_errors=True)

    def dpkg_owned(self) -> set[str]:
        """Versions the Debian package installed: dpkg removes those itself."""
        listing = self.root / "var" / "lib" / "dpkg" / "info" / "wellgate.list"
        try:
            lines = listing.read_text().splitlines()
        except OSError:
            return set()
        prefix = "/opt/wellgate/"
        return {line[len(prefix):].split("/")[0] for line in lines
                if line.startswith(prefix) and line[len(prefix):].count("/") == 0
                and line[len(prefix):] != CURRENT}

    # -- state -------------------------------------------------------------------------
    def read_state(self) -> dict[str, Any]:
        try:
            return json.loads((self.state_dir / "state.json").read_text())
        except (OSError, ValueError):
            return {}

    def write_state(self, state: dict[str, Any]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_dir / "state.json.tmp"
        with tmp.open("w") as fh:
            json.dump(state, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_dir / "state.json")
        _fsync_dir(self.state_dir)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One update operation at a time on this root."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.state_dir / "lock").open("w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise UpdateError("another update operation is running",
                                  "otra operación de actualización está en curso") from exc
            yield


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
