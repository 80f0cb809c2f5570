"""The update file: a signed manifest and the image tree, in one uncompressed tar.

    manifest.json    format, version, arch, programs, key id, the payload's SHA-256 and
                     size, and every file of the tree (path, type, size, SHA-256, mode)
    manifest.sig     Ed25519 signature of manifest.json's exact bytes (64 bytes)
    payload.tar.gz   the version's tree (the onedir bundle as it goes under /opt/wellgate)

Checking goes outside in, and nothing is written before the first three checks pass:
the signature (against the trusted keys), then the architecture, then the payload's
hash and size read to the end (a truncated or altered file stops here).  Unpacking then
checks every file against the manifest again and refuses links or paths that leave the
tree, and a tree that lacks a file or has one too many.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from daemons.core.update.errors import UpdateError
from daemons.core.update.keys import TrustedKey, key_id, load_private

FORMAT = "wellgate-update/1"
MANIFEST, SIGNATURE, PAYLOAD = "manifest.json", "manifest.sig", "payload.tar.gz"
VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+~_-]{0,63}$")  # a safe directory name
BUILD_INFO = "wellgate-build.json"
_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _tree_entries(tree: Path) -> Iterator[dict[str, Any]]:
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames.sort()
        for name in sorted([*dirnames, *filenames]):
            path = Path(dirpath) / name
            rel = path.relative_to(tree).as_posix()
            if path.is_symlink():
                yield {"path": rel, "type": "link", "target": os.readlink(path)}
            elif path.is_dir():
                yield {"path": rel, "type": "dir"}
            else:
                yield {"path": rel, "type": "file", "size": path.stat().st_size,
                       "sha256": _sha256(path), "mode": path.stat().st_mode & 0o777}


def check_version(version: str) -> str:
    if not VERSION.match(version):
        raise UpdateError(f"'{version}' is not a usable version (letters, digits, . + ~ _ -)",
                          f"'{version}' no es una versión utilizable (letras, dígitos, . + ~ _ -)")
    return version


def build(tree: Path, out: Path, key_path: Path, *, version: str | None = None,
          arch: str | None = None) -> dict[str, Any]:
    """Pack `tree` (a built bundle) into the signed update file `out`; the manifest.

    Version, arch and programs come from the bundle's wellgate-build.json unless given.
    """
    key = load_private(key_path)
    info_path = tree / BUILD_INFO
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    version = check_version(version or info.get("version") or "")
    arch = arch or info.get("arch")
    if not arch:
        raise UpdateError(f"{tree} has no {BUILD_INFO}: give the architecture (--arch)",
                          f"{tree} no tiene {BUILD_INFO}: indique la arquitectura (--arch)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wellgate-update-", dir=out.parent) as tmp:
        payload = Path(tmp) / PAYLOAD
        with tarfile.open(payload, "w:gz", compresslevel=6) as tar:
            for entry in _tree_entries(tree):
                tar.add(tree / entry["path"], arcname=entry["path"], recursive=False)
        manifest = {
            "format": FORMAT, "version": version, "arch": arch,
            "programs": info.get("programs", []),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "key_id": key_id(key.public_key()),
            "payload": {"name": PAYLOAD, "size": payload.stat().st_size,
                        "sha256": _sha256(payload)},
            "files": list(_tree_entries(tree)),
        }
        text = json.dumps(manifest, indent=1, sort_keys=True).encode()
        partial = out.with_name(out.name + ".part")
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in ((MANIFEST, text), (SIGNATURE, key.sign(text))):
                member = tarfile.TarInfo(name)
                member.size, member.mtime, member.mode = len(data), int(time.time()), 0o644
                tar.addfile(member, io.BytesIO(data))
            tar.add(payload, arcname=PAYLOAD)
        partial.replace(out)
    return manifest


@dataclass(frozen=True)
class Verified:
    """An update file whose signature, architecture and payload were checked."""

    path: Path
    manifest: dict[str, Any]
    key: TrustedKey

    @property
    def version(self) -> str:
        return str(self.manifest["version"])


def _refuse(path: Path, en: str, es: str) -> UpdateError:
    return UpdateError(f"{path}: refused, {en}; nothing was changed",
                       f"{path}: rechazado, {es}; no se cambió nada")


def _read_member(tar: tarfile.TarFile, path: Path, name: str, limit: int) -> bytes:
    member = tar.next()
    if member is None or member.name != name or not member.isfile() or member.size > limit:
        raise _refuse(path, f"not a wellgate update (expected {name} here)",
                      f"no es una actualización de wellgate (se esperaba {name})")
    fh = tar.extractfile(member)
    assert fh is not None
    return fh.read()


def verify(path: Path, keys: list[TrustedKey], arch: str) -> Verified:
    """Check signature, architecture and payload; UpdateError (nothing changed) if not."""
    if not keys:
        raise _refuse(path, "no trusted update keys are installed (update-keys/*.pub)",
                      "no hay claves de actualización de confianza (update-keys/*.pub)")
    try:
        with tarfile.open(path, "r:") as tar:
            text = _read_member(tar, path, MANIFEST, 64 << 20)
            signature = _read_member(tar, path, SIGNATURE, 1024)
            signer = next((k for k in keys if k.verifies(text, signature)), None)
            if signer is None:
                raise _refuse(path, "the signature does not match any trusted key "
                              f"({', '.join(k.id for k in keys)})",
                              "la firma no corresponde a ninguna clave de confianza "
                              f"({', '.join(k.id for k in keys)})")
            manifest = json.loads(text)
            if manifest.get("format") != FORMAT:
                raise _refuse(path, f"unknown format {manifest.get('format')!r}",
                              f"formato desconocido {manifest.get('format')!r}")
            check_version(str(manifest.get("version", "")))
            if manifest.get("arch") != arch:
                raise _refuse(path, f"built for {manifest.get('arch')}, this gateway is {arch}",
                              f"compilado para {manifest.get('arch')}, este gateway es {arch}")
            _check_payload(tar, path, manifest["payload"])
            _check_end(tar, path)
    except (tarfile.TarError, EOFError, OSError, ValueError, KeyError) as exc:
        raise _refuse(path, f"the file is damaged or truncated ({exc})",
                      f"el archivo está dañado o incompleto ({exc})") from exc
    return Verified(path, manifest, signer)


def _check_payload(tar: tarfile.TarFile, path: Path, expected: dict[str, Any]) -> None:
    member = tar.next()
    if member is None or member.name != expected["name"]:
        raise _refuse(path, "the payload is missing (truncated file?)",
                      "falta el contenido (¿archivo incompleto?)")
    fh = tar.extractfile(member)
    assert fh is not None
    h, size = hashlib.sha256(), 0
    while chunk := fh.read(_CHUNK):
        h.update(chunk)
        size += len(chunk)
    if size != expected["size"] or h.hexdigest() != expected["sha256"]:
        raise _refuse(path, f"the payload is incomplete or altered ({size} of "
                      f"{expected['size']} bytes, hash mismatch)",
                      f"el contenido está incompleto o alterado ({size} de "
                      f"{expected['size']} bytes, hash distinto)")


def _check_end(tar: tarfile.TarFile, path: Path) -> None:
    """Nothing after the payload but the end-of-archive blocks, all there: a file cut
    in the tar's padding still has a whole payload, but it is not the file that was
    built, and a copy that lost its end may have lost more on the way."""
    if tar.next() is not None:
        raise _refuse(path, "unexpected content after the payload",
                      "contenido inesperado después del contenido firmado")
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 1024))
        tail = fh.read()
    if size % tarfile.RECORDSIZE or tail != bytes(1024):
        raise _refuse(path, f"the file is truncated ({size} bytes, not a whole archive)",
                      f"el archivo está incompleto ({size} bytes, archivo no entero)")


def _safe(rel: str) -> bool:
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts


def _inside(link: str, target: str) -> bool:
    """A relative link target that stays inside the tree (onedir links such as
    _internal/libx.so -> numpy.libs/libx.so, or acqd -> wellgate)."""
    if PurePosixPath(target).is_absolute():
        return False
    depth = len(PurePosixPath(link).parts) - 1
    for part in PurePosixPath(target).parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            return False
    return True


def unpack(verified: Verified, dest: Path) -> None:
    """Extract the payload into the new directory `dest`, checking it file by file
    against the signed manifest; on any error `dest` is removed."""
    files = {e["path"]: e for e in verified.manifest["files"]}
    seen: set[str] = set()
    dest.mkdir(parents=True)
    try:
        with tarfile.open(verified.path, "r:") as outer:
            for _ in range(2):
                outer.next()
            payload = outer.next()
            assert payload is not None
            raw = outer.extractfile(payload)
            assert raw is not None
            with tarfile.open(fileobj=raw, mode="r|gz") as tar:
                for member in tar:
                    _extract_one(tar, member, files, dest, verified.path)
                    seen.add(member.name)
        missing = sorted(set(files) - seen)
        if missing:
            raise _refuse(verified.path, f"{len(missing)} file(s) missing, e.g. {missing[0]}",
                          f"faltan {len(missing)} archivo(s), p. ej. {missing[0]}")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def _extract_one(tar: tarfile.TarFile, member: tarfile.TarInfo, files: dict[str, Any],
                 dest: Path, path: Path) -> None:
    entry = files.get(member.name)
    if entry is None or not _safe(member.name):
        raise _refuse(path, f"'{member.name}' is not in the signed manifest",
                      f"'{member.name}' no está en el manifiesto firmado")
    target = dest / member.name
    if target.parent.resolve() != dest.resolve().joinpath(*PurePosixPath(member.name).parent.parts):
        # Written through a link: even a link that stays inside the tree would make the
        # lexical checks of the next links meaningless.
        raise _refuse(path, f"'{member.name}' lies under a link",
                      f"'{member.name}' está bajo un enlace")
    if entry["type"] == "dir" and member.isdir():
        target.mkdir(exist_ok=True)
        target.chmod(0o755)
    elif entry["type"] == "link" and member.issym() and member.linkname == entry["target"]:
        if not _inside(member.name, entry["target"]):
            raise _refuse(path, f"the link {member.name} points outside its folder",
                          f"el enlace {member.name} apunta fuera de su carpeta")
        target.symlink_to(entry["target"])
    elif entry["type"] == "file" and member.isfile():
        src = tar.extractfile(member)
        assert src is not None
        h = hashlib.sha256()
        with target.open("xb") as out:
            while chunk := src.read(_CHUNK):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != entry["sha256"]:
            raise _refuse(path, f"{member.name} does not match its signed hash",
                          f"{member.name} no coincide con su hash firmado")
        target.chmod(entry["mode"] & 0o755)
    else:
        raise _refuse(path, f"'{member.name}' is not the kind of file the manifest says",
                      f"'{member.name}' no es el tipo de archivo que dice el manifiesto")


def read_manifest(fh: IO[bytes]) -> dict[str, Any]:
    """The manifest of an update file, unverified (for display only)."""
    with tarfile.open(fileobj=fh, mode="r:") as tar:
        member = tar.next()
        if member is None or member.name != MANIFEST:
            raise ValueError("not a wellgate update")
        data = tar.extractfile(member)
        assert data is not None
        return json.loads(data.read())
