"""Build the gateway image: the PyInstaller bundle, then the Debian package.

    python image/build.py [bundle|deb|all] [--out build/image] [--force]

`bundle` runs PyInstaller on image/wellgate.spec into OUT/dist/wellgate and is skipped
when nothing it is made from changed since the last build (the fingerprint of the
sources, the spec, the reference files and the installed libraries is kept in
OUT/bundle.stamp): `make test` builds it once and reuses it afterwards.  `deb` lays the
bundle out as /opt/wellgate/<version>/ with the units, the user and the configuration
and packs OUT/wellgate_<version>_<arch>.deb with dpkg-deb (image/deb.py).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "image" / "wellgate.spec"
DEFAULT_OUT = ROOT / "build" / "image"
# What the bundle is made from: a change in any of these rebuilds it.
INPUT_DIRS = ("daemons", "config", "tagmaps", "alarms", "systemd", "image/systemd",
              "image/debian")
INPUT_FILES = ("image/wellgate.spec", "image/multicall.py", "image/install.sh",
               "pyproject.toml")


def bundle_dir(out: Path) -> Path:
    return out / "dist" / "wellgate"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def fingerprint(root: Path = ROOT) -> str:
    """A hash of everything the bundle is made from (sources, spec, reference files, the
    interpreter and the installed distributions' versions)."""
    h = hashlib.sha256()
    h.update(sys.version.encode())
    dists = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
    h.update("\n".join(dists).encode())
    paths = [root / f for f in INPUT_FILES]
    for folder in INPUT_DIRS:
        paths += _files(root / folder)
    for path in paths:
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes() if path.exists() else b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def build_info(out: Path) -> dict:
    """The bundle's wellgate-build.json (version, arch, programs …)."""
    return json.loads((bundle_dir(out) / "wellgate-build.json").read_text())


def build_bundle(out: Path = DEFAULT_OUT, *, force: bool = False) -> Path:
    """Build (or reuse) the onedir bundle; returns its directory."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = out / "bundle.stamp"
    want = fingerprint()
    target = bundle_dir(out)
    if not force and stamp.exists() and stamp.read_text().strip() == want \
            and (target / "wellgate-build.json").exists():
        print(f"bundle up to date: {target}")
        return target
    stamp.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this tree, not an editable install's
    started = time.monotonic()
    log = out / "pyinstaller.log"
    with log.open("w") as fh:
        done = subprocess.run([sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm",
                               "--distpath", str(out / "dist"), "--workpath", str(out / "work")],
                              cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        sys.exit(f"PyInstaller failed (exit {done.returncode}); see {log}:\n"
                 + "\n".join(log.read_text(errors="replace").splitlines()[-20:]))
    stamp.write_text(want + "\n")
    print(f"bundle built in {time.monotonic() - started:.1f} s: {target} "
          f"({tree_size(target) / 1e6:.1f} MB)")
    return target


def build_package(out: Path, deb: Any, *, update_keys: list[Path], force: bool = False) -> Path:
    """Pack (or reuse) the .deb of the current bundle."""
    h = hashlib.sha256((out / "bundle.stamp").read_bytes())
    inputs = [ROOT / "image" / "deb.py", ROOT / "config" / "gateway.toml", *update_keys]
    for folder in ("image/debian", "image/systemd", "systemd"):
        inputs += _files(ROOT / folder)
    for path in inputs:
        h.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    stamp, want = out / "deb.stamp", h.hexdigest()
    path = out / deb.deb_name(build_info(out))
    if not force and path.exists() and stamp.exists() and stamp.read_text().strip() == want:
        return path
    stamp.unlink(missing_ok=True)
    started = time.monotonic()
    path = deb.build_deb(bundle_dir(out), out, update_keys=update_keys)
    stamp.write_text(want + "\n")
    print(f"package built in {time.monotonic() - started:.1f} s")
    return path


def tree_size(folder: Path) -> int:
    """Bytes of the regular files under `folder` (links counted once, as on disk)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file()
               and not p.is_symlink())


@contextlib.contextmanager
def build_lock(out: Path) -> Iterator[None]:
    """One build at a time per build directory: test workers (pytest-xdist) that all
    need the image wait for the first one's build and then find it up to date."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / ".build.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="build the wellgate gateway image")
    parser.add_argument("what", nargs="?", choices=("bundle", "deb", "all"), default="all")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"build directory (default {DEFAULT_OUT.relative_to(ROOT)})")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("--update-key", type=Path, action="append", default=[],
                        metavar="PUB", help="a public key the package installs into "
                        "/etc/wellgate/update-keys/ (repeatable)")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    with build_lock(out):
        return _build(args, out)


def _build(args: argparse.Namespace, out: Path) -> int:
    if args.what in ("bundle", "all"):
        build_bundle(out, force=args.force)
    if args.what in ("deb", "all"):
        if shutil.which("dpkg-deb") is None:
            sys.exit("dpkg-deb is missing (apt-get install dpkg)")
        sys.path.insert(0, str(ROOT / "image"))
        import deb  # image/deb.py, beside this file

        path = build_package(out, deb, update_keys=args.update_key, force=args.force)
        print(f"package: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
