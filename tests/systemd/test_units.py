"""The systemd units: what systemd itself says about them, and the rules they must keep.

systemd-analyze (the real one on this machine) checks syntax and scores the sandboxing;
the rest reads the unit files with a parser of the same grammar systemd uses (sections,
repeated keys, backslash continuations, '#'/';' comments) and checks the project's rules:
lifecycle settings, the target, shared directories, and which daemon may do what.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "systemd"
DAEMONS = ("acqd", "calcd", "alarmd", "forwardd", "opcuad", "webd", "hostd")
SERVICES = tuple(f"wellgate-{d}.service" for d in DAEMONS)
TARGET = "wellgate.target"
GATEWAY_SERVICES = tuple(f"wellgate-{d}.service" for d in DAEMONS if d != "hostd")
MAX_EXPOSURE = 2.0
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None,
                                   reason="systemd-analyze is not installed on this machine")

# --- a reader for systemd's unit-file syntax -----------------------------------------


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections → (key, value) in file order; keys may repeat, as in systemd."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):  # continuation: systemd joins with a space
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"assignment outside a section: {line!r}"
        key, sep, value = line.partition("=")
        assert sep, f"not an assignment: {line!r}"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    """Every assignment of key, with systemd's rule that an empty one resets the list."""
    out: list[str] = []
    for k, v in unit.get(section, []):
        if k == key:
            out = [] if v == "" else [*out, v]
    return out


def last(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> str | None:
    found = [v for k, v in unit.get(section, []) if k == key]
    return found[-1] if found else None


def words(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [w for v in values(unit, section, key) for w in v.split()]


def seconds(span: str) -> float:
    """systemd time span ("30s", "3min", "1min 30s", bare number = seconds)."""
    scale = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", span)
    assert parts, f"not a time span: {span!r}"
    return sum(float(n) * scale[u] for n, u in parts)


def load(name: str) -> dict[str, list[tuple[str, str]]]:
    return parse_unit((UNITS / name).read_text(encoding="utf-8"))


# --- systemd-analyze ------------------------------------------------------------------


def stage_for_verify(tmp_path: Path, texts: dict[str, str]) -> list[Path]:
    """Copies of the units whose ExecStart= points at stub executables that exist here.

    verify refuses an ExecStart= binary that does not exist, and /usr/bin/acqd exists only
    on a gateway; nothing else in the unit is changed.
    """
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    staged = []
    for name, text in texts.items():
        for daemon in DAEMONS:
            stub = stubs / daemon
            if f"/usr/bin/{daemon} " in text:
                stub.write_text("#!/bin/sh\nexit 0\n")
                stub.chmod(0o755)
                text = text.replace(f"ExecStart=/usr/bin/{daemon} ", f"ExecStart={stub} ")
        path = tmp_path / name
        path.write_text(text)
        staged.append(path)
    return staged


def verify(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, "verify", "--man=no", *map(str, paths)],
                          capture_output=True, text=True, timeout=60, check=False)


def exposure(path: Path) -> float:
    assert ANALYZE is not None
    run = subprocess.run([ANALYZE, "security", "--offline=yes", "--no-pager", str(path)],
                         capture_output=True, text=True, timeout=60, check=False)
    found = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", run.stdout)
    assert found, f"no overall exposure in output:\n{run.stdout}\n{run.stderr}"
    return float(found.group(1))


def all_unit_texts() -> dict[str, str]:
    return {n: (UNITS / n).read_text(encoding="utf-8") for n in (*SERVICES, TARGET)}


@needs_analyze
def test_verify_passes_without_any_message(tmp_path):
    run = verify(stage_for_verify(tmp_path, all_unit_texts()))
    assert run.returncode == 0, run.stderr
    # verify exits 0 on unknown keys (e.g. an option newer than this systemd) and only
    # warns: any output at all is a failure.
    assert run.stdout.strip() == "" and run.stderr.strip() == "", run.stdout + run.stderr


@needs_analyze
def test_verify_harness_reports_an_unknown_option(tmp_path):
    # The check above is only worth something if a bad unit does produce output.
    texts = all_unit_texts()
    texts["wellgate-webd.service"] = texts["wellgate-webd.service"].replace(
        "[Service]\n", "[Service]\nProtectEverything=yes\n")
    run = verify(stage_for_verify(tmp_path, texts))
    assert "ProtectEverything" in run.stderr


@needs_analyze
def test_verify_harness_reports_a_missing_executable(tmp_path):
    # Why the units are staged with stubs: verify checks that ExecStart= exists.
    if Path("/usr/bin/acqd").exists():
        pytest.skip("/usr/bin/acqd exists here, so there is nothing missing to detect")
    path = tmp_path / "wellgate-acqd.service"
    path.write_text((UNITS / "wellgate-acqd.service").read_text())
    run = verify([path])
    assert run.returncode != 0 and "/usr/bin/acqd" in run.stderr


@needs_analyze
@pytest.mark.parametrize("name", SERVICES)
def test_security_exposure_is_at_most_2(name):
    level = exposure(UNITS / name)
    print(f"{name}: exposure {level}")
    assert level <= MAX_EXPOSURE


@needs_analyze
def test_exposure_parser_sees_an_unhardened_unit(tmp_path):
    bare = tmp_path / "bare.service"
    bare.write_text("[Service]\nType=notify\nExecStart=/bin/true\nUser=wellgate\n")
    assert exposure(bare) > MAX_EXPOSURE


# --- lifecycle ------------------------------------------------------------------------


@pytest.mark.parametrize("daemon", DAEMONS)
def test_service_lifecycle(daemon):
    unit = load(f"wellgate-{daemon}.service")
    svc = "Service"
    assert last(unit, svc, "Type") == "notify"
    # The frozen build notifies from a child of the PyInstaller bootloader.
    assert last(unit, svc, "NotifyAccess") == "all"
    assert 0 < seconds(last(unit, svc, "WatchdogSec") or "0") <= 60
    assert last(unit, svc, "Restart") == "on-failure"
    reload_cmd = last(unit, svc, "ExecReload") or ""
    assert re.fullmatch(r"/(usr/)?bin/kill -s HUP \$MAINPID", reload_cmd), reload_cmd
    # Daemons stop within 5 s of SIGTERM; the timeout must leave them that time.
    assert seconds(last(unit, svc, "TimeoutStopSec") or "0") > 5
    assert last(unit, "Unit", "StartLimitIntervalSec") is not None
    assert int(last(unit, "Unit", "StartLimitBurst") or "0") > 1
    exec_start = last(unit, svc, "ExecStart")
    config = "hostd.toml" if daemon == "hostd" else "gateway.toml"  # hostd: its own file
    assert exec_start == f"/usr/bin/{daemon} --config /etc/wellgate/{config}"


@pytest.mark.parametrize("daemon", DAEMONS)
def test_service_runs_as_wellgate_with_shared_directories(daemon):
    unit = load(f"wellgate-{daemon}.service")
    svc = "Service"
    assert last(unit, svc, "User") == "wellgate"
    assert last(unit, svc, "Group") == "wellgate"
    assert last(unit, svc, "DynamicUser") in (None, "no")
    assert last(unit, svc, "UMask") == "0027"
    assert {"wellgate", "wellgate/status"} <= set(words(unit, svc, "RuntimeDirectory"))
    # Without it the first unit to stop deletes everyone's ring files.
    assert last(unit, svc, "RuntimeDirectoryPreserve") == "yes"
    assert words(unit, svc, "StateDirectory") == ["wellgate"]
    assert words(unit, svc, "ConfigurationDirectory") == ["wellgate"]


@pytest.mark.parametrize("daemon", DAEMONS)
def test_service_baseline_hardening(daemon):
    unit = load(f"wellgate-{daemon}.service")
    svc = "Service"
    expected = {
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "NoNewPrivileges": "yes", "ProtectProc": "invisible", "ProcSubset": "pid",
        "RestrictNamespaces": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
        "SystemCallArchitectures": "native", "RemoveIPC": "yes", "PrivateUsers": "yes",
        "ProtectClock": "yes", "ProtectControlGroups": "yes", "ProtectHostname": "yes",
        "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes", "RestrictRealtime": "yes",
    }
    got = {k: last(unit, svc, k) for k in expected}
    assert got == expected
    assert values(unit, svc, "CapabilityBoundingSet") == []
    assert values(unit, svc, "AmbientCapabilities") == []
    assert any(k == "CapabilityBoundingSet" for k, _ in unit[svc])  # set, and empty
    filters = values(unit, svc, "SystemCallFilter")
    assert filters[0] == "@system-service"
    assert {"@privileged", "@resources"} <= set(" ".join(filters[1:]).lstrip("~").split())
    families = set(words(unit, svc, "RestrictAddressFamilies"))
    assert families and families <= {"AF_UNIX", "AF_INET", "AF_INET6"}


def test_memory_deny_write_execute_everywhere_but_calcd():
    # numba's JIT needs writable-then-executable memory; README says why calcd is exempt.
    settings = {d: last(load(f"wellgate-{d}.service"), "Service", "MemoryDenyWriteExecute")
                for d in DAEMONS}
    assert settings == {d: ("no" if d == "calcd" else "yes") for d in DAEMONS}


# --- the target -----------------------------------------------------------------------


def test_target_lists_every_gateway_service_and_only_them():
    # hostd is the cloud side (it needs PostgreSQL): it runs on the host, not on a
    # gateway, so it has no place in the gateway's target.
    target = load(TARGET)
    assert sorted(words(target, "Unit", "Wants")) == sorted(GATEWAY_SERVICES)
    assert not words(target, "Unit", "Requires")  # one failed daemon must not stop all
    assert words(target, "Install", "WantedBy") == ["multi-user.target"]
    on_disk = {p.name for p in UNITS.glob("wellgate-*.service")}
    assert on_disk == set(SERVICES)


def test_hostd_is_installed_on_its_own():
    unit = load("wellgate-hostd.service")
    assert TARGET not in words(unit, "Unit", "PartOf")
    assert words(unit, "Install", "WantedBy") == ["multi-user.target"]


@pytest.mark.parametrize("name", GATEWAY_SERVICES)
def test_service_belongs_to_the_target(name):
    unit = load(name)
    assert TARGET in words(unit, "Unit", "PartOf")
    assert TARGET in words(unit, "Install", "WantedBy")
    assert TARGET in words(unit, "Unit", "ReloadPropagatedFrom")


# --- devices and network --------------------------------------------------------------


@pytest.mark.parametrize("daemon", DAEMONS)
def test_only_acqd_reaches_serial_ports(daemon):
    unit = load(f"wellgate-{daemon}.service")
    svc = "Service"
    allowed = values(unit, svc, "DeviceAllow")
    serial = [a for a in allowed if a.split()[0].startswith(("char-tty", "/dev/tty"))]
    if daemon == "acqd":
        assert last(unit, svc, "DevicePolicy") == "closed"
        assert last(unit, svc, "PrivateDevices") in (None, "no")
        classes = {a.split()[0] for a in serial}
        assert classes == {"char-ttyS", "char-ttyUSB", "char-ttyACM", "char-ttymxc",
                           "char-ttyAMA"}
        assert all(a.split()[1] == "rw" for a in serial)
        assert words(unit, svc, "SupplementaryGroups") == ["dialout"]
    else:
        assert serial == []
        assert last(unit, svc, "PrivateDevices") == "yes"
        assert words(unit, svc, "SupplementaryGroups") == []


@pytest.mark.parametrize("daemon", ["calcd", "alarmd"])
def test_loopback_only_daemons(daemon):
    unit = load(f"wellgate-{daemon}.service")
    assert words(unit, "Service", "IPAddressDeny") == ["any"]
    assert words(unit, "Service", "IPAddressAllow") == ["localhost"]


@pytest.mark.parametrize("daemon", ["webd", "opcuad"])
def test_site_lan_servers_never_answer_public_addresses(daemon):
    unit = load(f"wellgate-{daemon}.service")
    allow = set(words(unit, "Service", "IPAddressAllow"))
    assert words(unit, "Service", "IPAddressDeny") == ["any"]
    assert {"localhost", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= allow
    assert "any" not in allow and "0.0.0.0/0" not in allow


# --- sysusers.d and tmpfiles.d --------------------------------------------------------


def tmpfiles_lines() -> dict[str, tuple[str, str, str, str]]:
    out = {}
    for line in (UNITS / "wellgate.tmpfiles.conf").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            kind, path, mode, user, group, *_ = line.split()
            out[path] = (kind, mode, user, group)
    return out


def test_tmpfiles_modes_match_the_units():
    # Different modes would make every service start and every boot flip them.
    lines = tmpfiles_lines()
    for daemon in DAEMONS:
        unit = load(f"wellgate-{daemon}.service")
        for key, root in (("RuntimeDirectory", "/run"), ("StateDirectory", "/var/lib"),
                          ("ConfigurationDirectory", "/etc"), ("CacheDirectory", "/var/cache")):
            mode = last(unit, "Service", key + "Mode")
            for d in words(unit, "Service", key):
                path = f"{root}/{d}"
                if path in lines:
                    assert lines[path][1] == mode, (daemon, path)
    assert lines["/etc/wellgate"][2:] == ("root", "wellgate")
    assert lines["/var/lib/wellgate"][2:] == ("wellgate", "wellgate")


@pytest.mark.skipif(os.geteuid() != 0, reason="creating owned directories needs root")
@pytest.mark.skipif(not (shutil.which("systemd-sysusers") and shutil.which("systemd-tmpfiles")),
                    reason="systemd-sysusers/systemd-tmpfiles are not installed")
def test_sysusers_and_tmpfiles_build_the_tree(tmp_path):
    (tmp_path / "etc").mkdir()
    for tool, conf in (("systemd-sysusers", "wellgate.sysusers.conf"),
                       ("systemd-tmpfiles", "wellgate.tmpfiles.conf")):
        extra = ["--create"] if tool == "systemd-tmpfiles" else []
        run = subprocess.run([tool, f"--root={tmp_path}", *extra, str(UNITS / conf)],
                             capture_output=True, text=True, timeout=60, check=False)
        assert run.returncode == 0, run.stderr
    entry = next(line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines()
                 if line.startswith("wellgate:"))
    uid, gid, shell = int(entry[2]), int(entry[3]), entry[6]
    assert 0 < uid < 1000 and shell.endswith("nologin")
    for path, (_, mode, user, _group) in tmpfiles_lines().items():
        st = (tmp_path / path.lstrip("/")).stat()
        assert stat.S_ISDIR(st.st_mode), path
        assert oct(stat.S_IMODE(st.st_mode)) == oct(int(mode, 8)), path
        assert st.st_uid == (0 if user == "root" else uid), path
        assert st.st_gid == gid, path
