"""wellgate_<version>_<arch>.deb: contents with modes and owners, lintian, and the
maintainer scripts installing, reinstalling, removing and purging in a scratch root
(dpkg --root with --force-script-chrootless: the scripts honour DPKG_ROOT) (issue 15)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

# The first test of a session builds the image (image/build.py; reused afterwards):
# longer than the suite's per-test timeout on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(900)

GATEWAY_DAEMONS = ("acqd", "calcd", "alarmd", "forwardd", "opcuad", "webd")


def listing(deb: Path) -> dict[str, tuple[str, str, str]]:
    """path → (mode string, owner/group, link target) from `dpkg-deb -c`."""
    out = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                         check=True).stdout
    entries = {}
    for line in out.splitlines():
        m = re.match(r"(\S+) (\S+)\s+\d+ \S+ \S+ \.(/\S*)(?: -> (\S+))?$", line)
        assert m, line
        mode, owner, path, target = m.groups()
        entries[path.rstrip("/") or "/"] = (mode, owner, target or "")
    return entries


def test_contents_modes_and_owners(deb, image):
    files = listing(deb)
    version = image.info["version"]
    opt = f"/opt/wellgate/{version}"
    assert {owner for _, owner, _ in files.values()} == {"root/root"}
    assert files[f"{opt}/wellgate"][0] == "-rwxr-xr-x"
    for name in image.info["programs"]:
        if name != "wellgate":
            assert files[f"{opt}/{name}"] == ("lrwxrwxrwx", "root/root", "wellgate")
        assert files[f"/usr/bin/{name}"][2] == f"/opt/wellgate/current/{name}"
    libraries = [p for p in files if p.startswith(f"{opt}/_internal/") and ".so" in p
                 and files[p][0][0] == "-"]
    assert libraries and all(files[p][0] == "-rw-r--r--" for p in libraries)
    assert all(files[p][0] == "drwxr-xr-x" for p in files if files[p][0][0] == "d")
    # dpkg must not own the link that signed updates move.
    assert "/opt/wellgate/current" not in files
    units = "/usr/lib/systemd/system"
    for daemon in GATEWAY_DAEMONS:
        assert files[f"{units}/wellgate-{daemon}.service"][0] == "-rw-r--r--"
        assert f"{units}/wellgate-{daemon}.service.d/frozen.conf" in files
    assert f"{units}/wellgate-hostd.service" not in files  # the cloud side is not frozen
    for path in (f"{units}/wellgate.target", "/usr/lib/sysusers.d/wellgate.conf",
                 "/usr/lib/tmpfiles.d/wellgate.conf", "/usr/share/doc/wellgate/copyright"):
        assert path in files
    assert files["/etc/wellgate/gateway.toml"][0] == "-rw-r-----"


def test_control_and_conffiles(deb, image, tmp_path):
    field = lambda name: subprocess.run(["dpkg-deb", "-f", str(deb), name],  # noqa: E731
                                        capture_output=True, text=True, check=True).stdout.strip()
    assert field("Package") == "wellgate"
    assert field("Version") == image.info["version"]
    assert field("Architecture") == image.info["arch"]
    subprocess.run(["dpkg-deb", "-e", str(deb), str(tmp_path / "control")], check=True)
    conffiles = (tmp_path / "control" / "conffiles").read_text().split()
    assert "/etc/wellgate/gateway.toml" in conffiles
    for script in ("postinst", "prerm", "postrm"):
        assert (tmp_path / "control" / script).stat().st_mode & 0o111


def test_lintian_reports_no_errors(deb):
    if shutil.which("lintian") is None:
        pytest.fail("lintian is missing (make test installs it: apt-get install lintian)")
    done = subprocess.run(["lintian", "--fail-on", "error", str(deb)], capture_output=True,
                          text=True, timeout=300)
    errors = [line for line in done.stdout.splitlines() if line.startswith("E:")]
    assert done.returncode == 0 and not errors, done.stdout + done.stderr


def scratch_root(tmp_path: Path) -> Path:
    """An empty system as dpkg and systemd-sysusers need it: a dpkg database and an
    empty user database."""
    root = tmp_path / "root"
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"):
        (root / d).mkdir(parents=True)
    for f in ("var/lib/dpkg/status", "etc/passwd", "etc/group", "etc/shadow", "etc/gshadow"):
        (root / f).touch()
    return root


def dpkg(root: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(["dpkg", f"--root={root}", "--force-script-chrootless",
                           "--force-depends", *args], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def entry(root: Path, table: str, name: str) -> list[str]:
    for line in (root / "etc" / table).read_text().splitlines():
        if line.split(":")[0] == name:
            return line.split(":")
    raise AssertionError(f"{name} not in {table}: {(root / 'etc' / table).read_text()}")


def test_install_reinstall_remove_purge_in_a_scratch_root(deb, image, tmp_path):
    if shutil.which("systemd-sysusers") is None:
        pytest.fail("systemd-sysusers is missing (make test installs systemd)")
    root = scratch_root(tmp_path)
    version = image.info["version"]
    dpkg(root, "-i", str(deb))
    check_units(root)

    user, group = entry(root, "passwd", "wellgate"), entry(root, "group", "wellgate")
    uid, gid = int(user[2]), int(group[2])
    assert user[6] in ("/usr/sbin/nologin", "/sbin/nologin") and user[5] == "/"
    current = root / "opt/wellgate/current"
    assert current.is_symlink() and current.readlink() == Path(version)

    def owner(rel: str) -> tuple[int, int, int]:
        st = (root / rel).stat()
        return st.st_uid, st.st_gid, st.st_mode & 0o7777

    assert owner("etc/wellgate") == (0, gid, 0o750)
    assert owner("etc/wellgate/gateway.toml") == (0, gid, 0o640)
    assert owner("var/lib/wellgate") == (uid, gid, 0o750)
    assert owner("var/lib/wellgate/update") == (0, gid, 0o750)
    wants = root / "etc/systemd/system/multi-user.target.wants/wellgate.target"
    assert wants.is_symlink()
    assert (root / "usr/bin/wellgate").resolve() == \
        (root / "opt/wellgate" / version / "wellgate").resolve() or \
        (root / "usr/bin/wellgate").readlink() == Path("/opt/wellgate/current/wellgate")

    # The installed image runs, with no virtualenv, on the installed configuration.
    done = subprocess.run([str(current / "wellgate"), "--lang", "en", "config", "validate",
                           str(root / "etc/wellgate/gateway.toml")], capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr

    # A technician's edit survives a reinstall (dpkg's conffile handling, run as an
    # upgrade to the same version), a remove keeps the configuration and site data,
    # and only a purge deletes them.
    config = root / "etc/wellgate/gateway.toml"
    config.write_text(config.read_text() + "\n# edited on site\n")
    (root / "var/lib/wellgate/history.db").write_bytes(b"site data")
    dpkg(root, "-i", str(deb))
    assert config.read_text().endswith("# edited on site\n")
    assert owner("etc/wellgate/gateway.toml") == (0, gid, 0o640)

    dpkg(root, "-r", "wellgate")
    assert not (root / "opt/wellgate" / version).exists() and not current.is_symlink()
    assert config.read_text().endswith("# edited on site\n")
    assert (root / "var/lib/wellgate/history.db").read_bytes() == b"site data"
    assert not wants.exists()

    dpkg(root, "-P", "wellgate")
    assert not (root / "etc/wellgate").exists()
    assert not (root / "var/lib/wellgate").exists()
    assert not (root / "opt/wellgate").exists()
    entry(root, "passwd", "wellgate")  # the system user stays (Debian practice)


def check_units(root: Path) -> None:
    """systemd reads the installed units with the image's drop-ins: calcd gets W^X back
    (no numba in the image) and every unit stays within the project's exposure limit."""
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing (make test installs systemd)")
    for daemon in GATEWAY_DAEMONS:
        done = subprocess.run(["systemd-analyze", "security", "--offline=yes",
                               f"--root={root}", f"wellgate-{daemon}.service"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "Unknown key" not in done.stderr and "Invalid" not in done.stderr, done.stderr
        score = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)",
                                done.stdout).group(1))
        assert score <= 2.0, (daemon, score)
        mdwe = next(line for line in done.stdout.splitlines()
                    if "MemoryDenyWriteExecute=" in line)
        assert mdwe.lstrip().startswith("✓"), (daemon, mdwe)
