"""image/install.sh: the image installed and removed without dpkg, from the bundle
itself, into a scratch root (issue 15)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

# The first test of a session builds the image (image/build.py; reused afterwards):
# longer than the suite's per-test timeout on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(900)


def sh(*argv: str) -> subprocess.CompletedProcess:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_install_uninstall_purge_without_dpkg(image, tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow"):
        (root / "etc" / name).touch()
    version = image.info["version"]
    sh(str(image.dir / "install.sh"), "--root", str(root))

    current = root / "opt/wellgate/current"
    assert current.readlink() == Path(version)
    gid = next(int(line.split(":")[2]) for line in (root / "etc/group").read_text().splitlines()
               if line.startswith("wellgate:"))
    config = root / "etc/wellgate/gateway.toml"
    assert (config.stat().st_gid, config.stat().st_mode & 0o777) == (gid, 0o640)
    units = root / "usr/lib/systemd/system"
    assert (units / "wellgate-calcd.service.d/frozen.conf").is_file()
    assert (root / "etc/systemd/system/multi-user.target.wants/wellgate.target").is_symlink()
    for program in image.info["programs"]:
        assert (root / "usr/bin" / program).readlink() == \
            Path(f"/opt/wellgate/current/{program}")
    done = sh(str(current / "wellgate"), "--lang", "en", "config", "validate", str(config))
    assert "OK" in done.stdout

    # A technician's configuration survives a reinstall and an uninstall; purge removes it.
    config.write_text(config.read_text() + "# site edit\n")
    sh(str(image.dir / "install.sh"), "--root", str(root))
    assert config.read_text().endswith("# site edit\n")
    sh(str(current / "install.sh"), "--root", str(root), "--uninstall")
    assert not (root / "opt/wellgate").exists()
    assert not (units / "wellgate-acqd.service").exists()
    assert not (root / "usr/bin/wellgate").is_symlink()
    assert config.read_text().endswith("# site edit\n")
    sh(str(image.dir / "install.sh"), "--root", str(root))
    sh(str(image.dir / "install.sh"), "--root", str(root), "--uninstall", "--purge")
    assert not (root / "etc/wellgate").exists() and not (root / "var/lib/wellgate").exists()
