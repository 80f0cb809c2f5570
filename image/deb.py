"""The Debian package of the gateway image: wellgate_<version>_<arch>.deb from the bundle.

Layout (every path owned by root; modes set here, not taken from the build tree):

    /opt/wellgate/<version>/            the onedir bundle (wellgate + program links)
    /usr/bin/<program>                  -> /opt/wellgate/current/<program>
    /usr/lib/systemd/system/            systemd/wellgate-*.service, wellgate.target
    /usr/lib/systemd/system/wellgate-<daemon>.service.d/frozen.conf   (image/systemd/)
    /usr/lib/sysusers.d/wellgate.conf   the `wellgate` user; tmpfiles.d: directories
    /etc/wellgate/gateway.toml          the reference configuration, a conffile
    /etc/wellgate/update-keys/*.pub     release keys given with --update-key, conffiles
    /usr/share/doc/wellgate/            copyright, changelog.gz

/opt/wellgate/current is made by postinst (and moved by `wellgate update`), not shipped:
dpkg must not own the link that signed updates switch.  hostd's unit is not shipped
(the cloud side is not frozen).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
GATEWAY_UNITS = ("acqd", "calcd", "alarmd", "forwardd", "opcuad", "webd")
MAINTAINER = "wellgate developers <wellgate-dev@example.com>"
# The bundle carries its own libraries except glibc, which must be at least the build
# machine's (PyInstaller's advice: build on the oldest system you target); systemd 252
# is what the units are written for (systemd/README.md).
SYSTEMD_DEPENDS = "systemd (>= 252)"
DESCRIPTION = """\
oil & gas edge gateway: Modbus acquisition, calculations, alarms, HMI
 wellgate polls Modbus RTU and TCP field devices, keeps compressed history,
 computes artificial-lift, well-test, drilling and well-control figures, raises
 ISA-18.2 alarms and serves a web HMI, as small systemd daemons.
 .
 This package is the frozen gateway image: one self-contained runtime under
 /opt/wellgate/<version>/, the systemd units and target, the wellgate user and
 the reference configuration. Signed updates (wellgate update) install further
 versions beside it and roll back automatically."""


def _executable(path: Path) -> bool:
    """A program (x bit in the build), not a shared library (which must not be +x)."""
    return bool(path.stat().st_mode & stat.S_IXUSR) and ".so" not in path.name


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy the bundle with normalised modes: 0755 for directories and programs, 0644
    for everything else (shared libraries included); links kept as links."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        target = dst / rel
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(0o755)
        for name in [*filenames, *dirnames]:
            s, d = Path(dirpath) / name, target / name
            if s.is_symlink():
                d.symlink_to(os.readlink(s))
                if name in dirnames:
                    dirnames.remove(name)  # not walked: it is a link
            elif name in filenames:
                shutil.copyfile(s, d)
                d.chmod(0o755 if _executable(s) else 0o644)


def _install(src: Path, dst: Path, mode: int = 0o644) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    dst.chmod(mode)


def _write(dst: Path, text: str | bytes, mode: int = 0o644) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    (dst.write_bytes if isinstance(text, bytes) else dst.write_text)(text)
    dst.chmod(mode)


def _changelog(version: str) -> bytes:
    when = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    text = (f"wellgate ({version}) unstable; urgency=medium\n\n"
            f"  * Frozen gateway image {version}.\n\n -- {MAINTAINER}  {when}\n")
    return gzip.compress(text.encode(), mtime=0)


def depends() -> str:
    """Depends: glibc at least the build machine's (upstream part of its version)."""
    try:
        version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libc6"],
                                 capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        version = ""
    upstream = version.split(":")[-1].split("-")[0]
    libc = f"libc6 (>= {upstream})" if upstream else "libc6"
    return f"{libc}, {SYSTEMD_DEPENDS}"


def _installed_kb(tree: Path) -> int:
    return sum(p.lstat().st_size for p in tree.rglob("*") if not p.is_dir()) // 1024 + 1


def stage(bundle: Path, tree: Path, *, update_keys: list[Path] | None = None) -> dict:
    """Lay the package's files out under `tree`; returns the bundle's build info."""
    info = json.loads((bundle / "wellgate-build.json").read_text())
    version, programs = info["version"], info["programs"]
    _copy_tree(bundle, tree / "opt" / "wellgate" / version)
    for name in programs:
        link = tree / "usr" / "bin" / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(f"/opt/wellgate/current/{name}")
    units = tree / "usr" / "lib" / "systemd" / "system"
    for name in GATEWAY_UNITS:
        unit = f"wellgate-{name}.service"
        _install(ROOT / "systemd" / unit, units / unit)
        dropin = Path(f"{unit}.d") / "frozen.conf"
        _install(HERE / "systemd" / dropin, units / dropin)
    _install(ROOT / "systemd" / "wellgate.target", units / "wellgate.target")
    _install(ROOT / "systemd" / "wellgate.sysusers.conf", tree / "usr/lib/sysusers.d/wellgate.conf")
    _install(ROOT / "systemd" / "wellgate.tmpfiles.conf", tree / "usr/lib/tmpfiles.d/wellgate.conf")
    conffiles = ["/etc/wellgate/gateway.toml"]
    _install(ROOT / "config" / "gateway.toml", tree / "etc/wellgate/gateway.toml", 0o640)
    for key in update_keys or []:
        _install(key, tree / "etc/wellgate/update-keys" / key.name)
        conffiles.append(f"/etc/wellgate/update-keys/{key.name}")
    doc = tree / "usr/share/doc/wellgate"
    _install(HERE / "debian" / "copyright", doc / "copyright")
    _write(doc / "changelog.gz", _changelog(version))
    _install(HERE / "debian" / "lintian-overrides", tree / "usr/share/lintian/overrides/wellgate")

    debian = tree / "DEBIAN"
    control = (f"Package: wellgate\nVersion: {version}\nArchitecture: {info['arch']}\n"
               f"Maintainer: {MAINTAINER}\nInstalled-Size: {_installed_kb(tree)}\n"
               f"Depends: {depends()}\nSection: misc\nPriority: optional\n"
               f"Description: {DESCRIPTION}\n")
    _write(debian / "control", control)
    _write(debian / "conffiles", "".join(f"{c}\n" for c in conffiles))
    for script in ("postinst", "prerm", "postrm"):
        text = (HERE / "debian" / script).read_text().replace("@VERSION@", version)
        _write(debian / script, text, 0o755)
    for folder in [tree, *[p for p in tree.rglob("*") if p.is_dir() and not p.is_symlink()]]:
        folder.chmod(0o755)
    return info


def deb_name(info: dict) -> str:
    return f"wellgate_{info['version']}_{info['arch']}.deb"


def build_deb(bundle: Path, out: Path, *, update_keys: list[Path] | None = None) -> Path:
    """Stage and pack the package into `out`; returns the .deb's path."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wellgate-deb-", dir=out) as tmp:
        tree = Path(tmp) / "root"
        info = stage(bundle, tree, update_keys=update_keys)
        path = out / deb_name(info)
        # --root-owner-group: every file root:root whoever builds; the postinst gives
        # /etc/wellgate its group (the uid of `wellgate` is only known on the target).
        # gzip, not xz: 4x faster to pack on the 2-core CI machine for a package 28 %
        # larger (38 vs 29 MB), and every dpkg reads it (zstd needs dpkg >= 1.21.18).
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(tree),
                        str(path)], check=True, stdout=subprocess.DEVNULL)
    return path
