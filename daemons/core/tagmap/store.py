"""Installed tag maps: the active set, a numbered history, atomic apply and rollback.

Layout of the tag-map directory:

    tagmap_dir/
      current -> versions/0003      the active set (a symlink, swapped atomically)
      versions/0001/*.csv           every set ever applied, with meta.json
      versions/0002/...
      *.csv                         a hand-installed set, used while `current` is absent

A new version is written completely into its own folder first, then `current` is
replaced with os.replace() on a new symlink, which is atomic on POSIX: a daemon reloading
at any moment sees either the old set or the new one, never a mixture.  A rollback is a
new version whose content equals an old one, so the history only ever grows.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from daemons.core.problems import Problem, ValidationError

CURRENT = "current"
VERSIONS = "versions"


@dataclass(frozen=True, slots=True)
class VersionInfo:
    version: int
    applied_at: str
    user: str
    action: str  # apply | rollback
    files: tuple[str, ...]
    note: str


def active_dir(tagmap_dir: Path) -> Path:
    """The folder holding the active CSV files."""
    current = tagmap_dir / CURRENT
    return current.resolve() if current.is_symlink() else tagmap_dir


def active_files(tagmap_dir: Path) -> list[Path]:
    folder = active_dir(tagmap_dir)
    return sorted(p for p in folder.glob("*.csv") if p.is_file())


def current_version(tagmap_dir: Path) -> int:
    """The active version number; 0 for a hand-installed set (or none)."""
    current = tagmap_dir / CURRENT
    if not current.is_symlink():
        return 0
    try:
        return int(Path(os.readlink(current)).name)
    except ValueError:
        return 0


def list_versions(tagmap_dir: Path) -> list[VersionInfo]:
    out = []
    for folder in sorted((tagmap_dir / VERSIONS).glob("[0-9]*")):
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError):
            meta = {}
        out.append(VersionInfo(int(folder.name), meta.get("applied_at", ""),
                               meta.get("user", ""), meta.get("action", ""),
                               tuple(meta.get("files", ())), meta.get("note", "")))
    return out


@contextmanager
def _locked(tagmap_dir: Path) -> Iterator[None]:
    """One apply at a time, even from two SSH sessions."""
    tagmap_dir.mkdir(parents=True, exist_ok=True)
    with open(tagmap_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _install(tagmap_dir: Path, sources: dict[str, Path], action: str, note: str) -> int:
    versions = tagmap_dir / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    existing = [int(p.name) for p in versions.glob("[0-9]*") if p.name.isdigit()]
    number = max(existing, default=0) + 1
    staging = versions / f".{number:04d}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for name, src in sorted(sources.items()):
        shutil.copyfile(src, staging / name)
    meta = {"version": number, "applied_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "user": _user(), "action": action, "files": sorted(sources), "note": note}
    (staging / "meta.json").write_text(json.dumps(meta, indent=1))
    for f in staging.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    final = versions / f"{number:04d}"
    os.replace(staging, final)
    link_tmp = tagmap_dir / f".{CURRENT}.tmp"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(Path(VERSIONS) / final.name, link_tmp)
    os.replace(link_tmp, tagmap_dir / CURRENT)
    dir_fd = os.open(tagmap_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return number


def _user() -> str:
    for var in ("SUDO_USER", "USER"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def proposed_set(tagmap_dir: Path, new_files: Sequence[Path]) -> dict[str, Path]:
    """The active set with each new file replacing the one of the same name (or added)."""
    files = {p.name: p for p in active_files(tagmap_dir)}
    for f in new_files:
        if f.suffix.lower() != ".csv":
            raise ValidationError([Problem(str(f), 0, 0, en="a tag map must be a .csv file",
                                           es="un mapa de etiquetas debe ser un archivo .csv")])
        if not f.is_file():
            raise ValidationError([Problem(str(f), 0, 0, en="file not found",
                                           es="archivo no encontrado")])
        files[f.name] = f
    return files


def apply(tagmap_dir: Path, sources: dict[str, Path], note: str = "") -> int:
    """Install an already validated set as a new version; returns its number."""
    with _locked(tagmap_dir):
        return _install(tagmap_dir, sources, "apply", note)


def rollback(tagmap_dir: Path, version: int | None = None) -> int:
    """Make an earlier version active again (default: the one before the current)."""
    versions = [v.version for v in list_versions(tagmap_dir)]
    now = current_version(tagmap_dir)
    if version is None:
        older = [v for v in versions if v < now]
        if not older:
            raise ValidationError([Problem(str(tagmap_dir), 0, 0,
                                           en="no earlier tag-map version to roll back to",
                                           es="no hay una versión anterior del mapa de "
                                              "etiquetas")])
        version = older[-1]
    folder = tagmap_dir / VERSIONS / f"{version:04d}"
    if version not in versions or not folder.is_dir():
        raise ValidationError([Problem(str(tagmap_dir), 0, 0,
                                       en=f"tag-map version {version} does not exist",
                                       es=f"la versión {version} del mapa no existe")])
    with _locked(tagmap_dir):
        sources = {p.name: p for p in sorted(folder.glob("*.csv"))}
        return _install(tagmap_dir, sources, "rollback", f"rollback to version {version}")
