"""The frozen gateway image against the virtualenv: bundle size, start-up time to READY
and resident memory of each daemon on the demo site (issue 15).

    python bench/image.py [--settle 10] [--keep]

Builds the bundle first if it is not up to date (image/build.py).  Each phase — the
virtualenv's daemons (`python -m daemons.X`), then the frozen ones (the bundle's links,
run with no virtualenv on PATH) — gets its own fresh demo site (`wellgate demo`'s files:
the reference tag maps and alarms on the simulated wells) and its own simulator.  The
daemons start one after another in data-flow order, each with its own sd_notify socket:
start-up is the time from spawning the process to its READY=1.  Resident memory
(VmRSS, the process and any children) is read once every daemon has run for --settle
seconds.  Targets: bundle ≤ 150 MB, every daemon READY ≤ 3 s, RSS ≤ 80 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "image"))

import build  # noqa: E402  image/build.py
from daemons.cli.cmd_demo import (  # noqa: E402
    GATEWAY_DAEMONS,
    first_administrator,
    install_alarms,
    install_tagmaps,
    prepare,
)

TARGET_MB, TARGET_READY_S, TARGET_RSS_MB = 150.0, 3.0, 80.0
BARE_PATH = "/usr/local/bin:/usr/bin:/bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    """VmRSS of a process and its children (a bootloader parent and its Python child
    are both memory the gateway pays for)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_s(pid: int) -> float:
    """utime + stime of a process so far: start-up cost that a loaded machine's waiting
    does not inflate."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = raw[raw.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(sock: socket.socket, proc: subprocess.Popen, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            return None
        try:
            if b"READY=1" in sock.recv(4096):
                return time.monotonic()
        except TimeoutError:
            pass
    return None


def phase(label: str, command: dict[str, list[str]], env: dict[str, str], work: Path,
          settle: float) -> dict[str, dict[str, float | None]]:
    """Start the simulator and the daemons on a fresh demo site; READY time and RSS."""
    site = work / label
    layout = prepare(site, http_port=free_port(), opcua_port=free_port())
    install_tagmaps(layout)
    install_alarms(layout)
    first_administrator(layout)
    procs: list[subprocess.Popen] = []
    results: dict[str, dict[str, float | None]] = {}
    try:
        sim_env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with (layout.logs / "sim.log").open("ab") as log:
            procs.append(subprocess.Popen([sys.executable, "-m", "daemons.sim", "run", "--site",
                                           str(layout.site), "--dir", str(layout.sim_state),
                                           "--isolated"], stdout=log, stderr=log,
                                          env=sim_env))
        deadline = time.monotonic() + 60
        while not (layout.sim_state / "sim-ports.json").exists():
            if time.monotonic() > deadline:
                raise SystemExit(f"the simulator did not start; see {layout.logs}/sim.log")
            time.sleep(0.1)
        for name, argv in command.items():
            path = site / f"{name}.notify"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(str(path))
            sock.settimeout(0.05)
            with (layout.logs / f"{name}.log").open("ab") as log:
                t0 = time.monotonic()
                proc = subprocess.Popen([*argv, "--config", str(layout.gateway)], stdout=log,
                                        stderr=log, env={**env, "NOTIFY_SOCKET": str(path)},
                                        cwd=site)
            procs.append(proc)
            ready = wait_ready(sock, proc, 60.0)
            sock.close()
            results[name] = {"ready_s": None if ready is None else ready - t0, "pid": proc.pid,
                             "cpu_s": cpu_s(proc.pid) if ready is not None else None}
        time.sleep(settle)
        for name, r in results.items():
            alive = procs[list(command).index(name) + 1].poll() is None
            r["rss_mb"] = rss_kb(int(r["pid"] or 0)) / 1024 if alive else None
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return results


def fmt(value: float | None, unit: str, digits: int = 2) -> str:
    return "failed" if value is None else f"{value:.{digits}f} {unit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds every daemon runs before its memory is read")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    t0 = time.monotonic()
    bundle = build.build_bundle(build.DEFAULT_OUT)
    build_s = time.monotonic() - t0
    info = json.loads((bundle / "wellgate-build.json").read_text())
    size_mb = build.tree_size(bundle) / 1e6
    daemons = [d for d in GATEWAY_DAEMONS if d in info["programs"]]

    work = Path(tempfile.mkdtemp(prefix="wellgate-bench-image-"))
    try:
        venv_env = {**os.environ, "PYTHONPATH": str(ROOT)}
        venv = phase("venv", {d: [sys.executable, "-m", f"daemons.{d}"] for d in daemons},
                     venv_env, work, args.settle)
        frozen_env = {"PATH": BARE_PATH, "HOME": str(work), "LANG": "C.UTF-8"}
        frozen = phase("frozen", {d: [str(bundle / d)] for d in daemons}, frozen_env, work,
                       args.settle)
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    ready = [frozen[d]["ready_s"] for d in daemons]
    rss = [frozen[d]["rss_mb"] for d in daemons]
    slowest = None if None in ready else max(ready)  # type: ignore[type-var]
    largest = None if None in rss else max(rss)  # type: ignore[type-var]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    print(f"bundle size: {size_mb:.1f} MB (target ≤ {TARGET_MB:.0f} MB): "
          f"{verdict(size_mb <= TARGET_MB)}")
    print(f"slowest frozen daemon to READY: {fmt(slowest, 's')} (target ≤ "
          f"{TARGET_READY_S:.0f} s): {verdict(slowest is not None and slowest <= TARGET_READY_S)}")
    print(f"largest frozen daemon RSS: {fmt(largest, 'MB', 1)} (target ≤ {TARGET_RSS_MB:.0f} MB)"
          f": {verdict(largest is not None and largest <= TARGET_RSS_MB)}")
    print(f"\n{len(daemons)} daemons on the demo site, {args.settle:g} s after start; "
          f"image {info['version']} ({info['arch']}, Python {info['python']}, no numba); "
          f"bundle step {build_s:.1f} s (0 if reused)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall-clock "
          "start-up grows with it; the CPU seconds to READY do not")
    print(f"{'daemon':<9} {'READY frozen':>13} {'READY venv':>11} {'CPU frozen':>11} "
          f"{'CPU venv':>9} {'RSS frozen':>11} {'RSS venv':>10}")
    for d in daemons:
        f, v = frozen[d], venv[d]
        print(f"{d:<9} {fmt(f['ready_s'], 's'):>13} {fmt(v['ready_s'], 's'):>11} "
              f"{fmt(f['cpu_s'], 's'):>11} {fmt(v['cpu_s'], 's'):>9} "
              f"{fmt(f['rss_mb'], 'MB', 1):>11} {fmt(v['rss_mb'], 'MB', 1):>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
