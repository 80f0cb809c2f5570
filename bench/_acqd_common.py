"""Shared parts of the acqd benchmarks: processes, CPU accounting, health counters.

Everything a benchmark starts is a real process (the simulator, acqd, baselines) so that
each one's CPU time can be read from /proc/<pid>/stat, apart from the others, the way
`top` would show it on a gateway.  `Processes` stops every process it started (SIGTERM,
then SIGKILL after a grace period) even when the benchmark fails half-way.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

from daemons.sim.testmodel import StaticModel

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PYTHON = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")
PORTS_FILE = "sim-ports.json"  # daemons/sim/site.py PORTS_FILE: written once listening
HEALTH_COUNTERS = ("success", "timeouts", "exceptions", "crc_errors", "demotions")


# --- a simulator model with plain register contents ------------------------------------
class BenchRegisters(StaticModel):
    """A simulator model whose holding registers 0..`registers`-1 hold their address.

    Used by the RTU bench, which needs more registers than the test_counter model has
    (four 125-register blocks per slave).  Loaded by `--models _acqd_common:MODELS` with
    bench/ on PYTHONPATH.
    """

    model = "bench_registers"

    def __init__(self, bank: Any, *, wells: list[str], params: dict[str, Any],
                 seed: int = 0) -> None:
        count = int(params.get("registers", 500))
        bank.set_registers("hr", 0, [i & 0xFFFF for i in range(count)])


MODELS = MappingProxyType({"bench_registers": BenchRegisters})


# --- small utilities --------------------------------------------------------------------
def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (bind to 0, read it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may contain spaces: split after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLK_TCK


@contextlib.contextmanager
def scratch_dir(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A temp dir in /dev/shm when present: acqd's ring lives on tmpfs (/run) on a gateway.

    keep=True leaves it in place (its path is printed) to look at the logs afterwards.
    """
    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    if keep:
        print(f"work dir (kept): {path}")
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str,
             alive: Callable[[], None] | None = None, poll_s: float = 0.2) -> Any:
    """Poll `predicate` until it returns something truthy; RuntimeError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None:
            alive()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll_s)


# --- processes ----------------------------------------------------------------------------
class Processes:
    """Start child processes with logs in `root`; stop all of them on exit."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        for _, proc in reversed(self.procs):
            self._end(proc)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None
              ) -> subprocess.Popen[bytes]:
        base = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        base["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(BENCH)])
        base.update(env or {})
        with open(self.log_path(name), "ab") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=base,
                                    cwd=str(self.root))
        self.procs.append((name, proc))
        return proc

    def log_path(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            text = self.log_path(name).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self, name: str) -> None:
        proc = self.get(name)
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode}:\n"
                               f"{self.log_tail(name)}")

    def get(self, name: str) -> subprocess.Popen[bytes]:
        """The latest process started under `name`."""
        return next(p for n, p in reversed(self.procs) if n == name)

    def stop(self, name: str, grace_s: float = 8.0) -> int | None:
        return self._end(self.get(name), grace_s)

    @staticmethod
    def _end(proc: subprocess.Popen[bytes], grace_s: float = 8.0) -> int | None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode


def start_simulator(procs: Processes, site_text: str, models: str | None = None,
                    timeout: float = 60.0) -> dict[str, Any]:
    """`python -m daemons.sim run --isolated` in its own process; returns its ports info."""
    state = procs.root / "sim"
    state.mkdir(parents=True, exist_ok=True)
    site = procs.root / "site.toml"
    site.write_text(site_text)
    argv = [PYTHON, "-m", "daemons.sim", "run", "--site", str(site), "--dir", str(state),
            "--isolated"]
    if models:
        argv += ["--models", models]
    procs.start("sim", argv)
    ports = state / PORTS_FILE

    def ready() -> dict[str, Any] | None:
        try:
            return json.loads(ports.read_text())
        except (OSError, ValueError):
            return None

    return wait_for(ready, timeout, "the simulator", lambda: procs.check_alive("sim"))


def start_acqd(procs: Processes, config: Path) -> subprocess.Popen[bytes]:
    return procs.start("acqd", [PYTHON, "-m", "daemons.acqd", "--config", str(config),
                                "--log-format", "json"])


# --- acqd's health tags ------------------------------------------------------------------
def health_totals(runtime_dir: Path) -> dict[str, dict[str, float]]:
    """{"success": {"device.unit": n, ...}, "timeouts": {...}, ...} from acqd's ring."""
    from daemons.core.ring import RingDirectory

    out: dict[str, dict[str, float]] = {k: {} for k in HEALTH_COUNTERS}
    with RingDirectory(runtime_dir) as rings:
        snap = rings.snapshot()
    for name, value in zip(snap.names, snap.values.tolist(), strict=True):
        if not name.startswith("_sys."):
            continue
        prefix, _, what = name.rpartition(".")
        if what in out:
            out[what][prefix.removeprefix("_sys.")] = value
    return out


def try_health_totals(runtime_dir: Path) -> dict[str, dict[str, float]] | None:
    from daemons.core.ring import RingError

    try:
        return health_totals(runtime_dir)
    except (RingError, OSError, KeyError):
        return None


def delta(after: dict[str, float], before: dict[str, float]) -> float:
    return sum(after.get(k, 0.0) - before.get(k, 0.0) for k in after)


@contextlib.contextmanager
def window(pid: int) -> Iterator[dict[str, float]]:
    """Measure a stretch of wall time and a process's CPU time over it."""
    out: dict[str, float] = {}
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    yield out
    out["cpu_s"] = cpu_seconds(pid) - cpu0
    out["wall_s"] = time.monotonic() - wall0


def scrape(port: int) -> dict[tuple[str, str], float]:
    """(metric name, labels text) -> value from acqd's /metrics ({} if unreachable)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for m in re.finditer(r"^(\w+)(\{[^}]*\})? (\S+)$", text, re.M):
        out[(m[1], m[2] or "")] = float(m[3])
    return out


def metric_for_scan(metrics: dict[tuple[str, str], float], name: str, scan: str) -> float | None:
    found = [v for (n, labels), v in metrics.items() if n == name and f'scan="{scan}"' in labels]
    return found[0] if found else None


def metric_total(metrics: dict[tuple[str, str], float], name: str) -> float | None:
    """Sum of a metric over all its label sets (None if acqd does not export it)."""
    found = [v for (n, _), v in metrics.items() if n == name]
    return sum(found) if found else None


def gateway_header(runtime: Path, state: Path, tagmaps: Path, scans: dict[str, float],
                   metrics_port: int = 0, history_depth: int = 60,
                   history: bool = True) -> str:
    """The [gateway], [paths], [ring], [history], [scan.*] and [service.acqd] tables.

    history=True keeps the historian's defaults (on, as on a gateway); False turns it off
    so that its share of acqd's CPU can be told apart.
    """
    text = (f'[gateway]\nsite = "bench"\nlanguage = "en"\n\n'
            f'[paths]\nruntime_dir = "{runtime}"\nstate_dir = "{state}"\n'
            f'tagmap_dir = "{tagmaps}"\n\n[ring]\nhistory_depth = {history_depth}\n\n')
    if not history:
        text += "[history]\nenabled = false\n\n"
    for name, interval in scans.items():
        text += f"[scan.{name}]\ninterval = {interval}\n\n"
    text += f"[service.acqd]\nmetrics_port = {metrics_port}\n\n"
    return text


def sim_served(root: Path) -> dict[str, int]:
    """Requests the simulator has answered, per device (its own count: any master)."""
    from daemons.sim import control

    reply = control.request(root / "sim", {"cmd": "status"})
    return {d["name"]: int(d["served"]) for d in reply["status"]["devices"]}


# --- Node-RED with node-red-contrib-modbus (optional comparison) -----------------------
NODE_RED_CACHE = Path.home() / ".cache" / "wellgate-bench" / "node-red"
# 5.23.3 is the newest release whose dependencies all come from the npm registry; later
# ones fetch their modbus-serial fork from a download host outside the npm registry.
NODE_RED_PACKAGES = ("node-red@4", "node-red-contrib-modbus@5.23.3")

# One function node per device decodes the 100 tags as a Node-RED user would write it.
_DECODE_JS = """const r = msg.payload, out = {}, b = Buffer.alloc(4);
for (const [name, a, kind, swap, scale, offset] of T) {
  let v;
  if (kind === 'uint16') v = r[a];
  else if (kind === 'int16') v = (r[a] << 16) >> 16;
  else {
    const hi = swap ? r[a + 1] : r[a], lo = swap ? r[a] : r[a + 1];
    b.writeUInt16BE(hi, 0); b.writeUInt16BE(lo, 2);
    v = kind === 'int32' ? b.readInt32BE(0) : b.readFloatBE(0);
  }
  out[name] = v * scale + offset;
}
msg.payload = out;
return msg;
"""


def _node_red_installed(cache: Path) -> bool:
    return (cache / "node_modules" / "node-red-contrib-modbus" / "package.json").exists() and (
        cache / "node_modules" / "node-red" / "red.js").exists()


def _install_node_red(cache: Path, timeout_s: float) -> str:
    """'' when installed, else why not."""
    if _node_red_installed(cache):
        return ""
    if shutil.which("npm") is None or shutil.which("node") is None:
        return "node/npm not found"
    cache.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", *NODE_RED_PACKAGES],
                              cwd=cache, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return f"npm install did not finish within {timeout_s:g} s"
    if done.returncode != 0 or not _node_red_installed(cache):
        lines = (done.stderr or done.stdout).strip().splitlines()
        return "npm install failed: " + (lines[-1] if lines else f"exit {done.returncode}")
    return ""


def _node_red_flows(ports: dict[str, int], registers: int, tags: list[tuple]) -> list[dict]:
    table = [[name, a, kind, order == "CDAB", float(scale or 1), float(offset or 0)]
             for name, a, kind, order, scale, offset in tags]
    code = f"const T = {json.dumps(table)};\n{_DECODE_JS}"
    flows: list[dict[str, Any]] = [{"id": "tab1", "type": "tab", "label": "bench"}]
    for i, (name, port) in enumerate(sorted(ports.items())):
        flows += [
            {"id": f"c{i}", "type": "modbus-client", "name": name, "clienttype": "tcp",
             "bufferCommands": True, "stateLogEnabled": False, "queueLogEnabled": False,
             "failureLogEnabled": False, "tcpHost": "127.0.0.1", "tcpPort": str(port),
             "tcpType": "DEFAULT", "serialPort": "", "serialType": "RTU-BUFFERD",
             "serialBaudrate": "9600", "serialDatabits": "8", "serialStopbits": "1",
             "serialParity": "none", "serialConnectionDelay": "100",
             "serialAsciiResponseStartDelimiter": "0x3A", "unit_id": "1",
             "commandDelay": "1", "clientTimeout": "1000", "reconnectOnTimeout": True,
             "reconnectTimeout": "2000", "parallelUnitIdsAllowed": True},
            {"id": f"r{i}", "type": "modbus-read", "z": "tab1", "name": name, "topic": "",
             "showStatusActivities": False, "logIOActivities": False, "showErrors": False,
             "unitid": "", "dataType": "HoldingRegister", "adr": "0",
             "quantity": str(registers), "rate": "1", "rateUnit": "s",
             "delayOnStart": False, "startDelayTime": "", "server": f"c{i}",
             "useIOFile": False, "ioFile": "", "useIOForPayload": False,
             "emptyMsgOnFail": False, "x": 100, "y": 40 * i, "wires": [[f"f{i}"], []]},
            {"id": f"f{i}", "type": "function", "z": "tab1", "name": f"decode {name}",
             "func": code, "outputs": 1, "noerr": 0, "initialize": "", "finalize": "",
             "libs": [], "x": 300, "y": 40 * i, "wires": [[]]},
        ]
    return flows


def node_red(procs: Processes, ports: dict[str, int], registers: int, tags: list[tuple],
             warmup: float, duration: float, cache: Path = NODE_RED_CACHE,
             install_timeout_s: float = 240.0) -> tuple[dict[str, float] | None, str]:
    """Run Node-RED polling `ports`; ({cpu_s, wall_s, requests}, note) or (None, why not)."""
    why = _install_node_red(cache, install_timeout_s)
    if why:
        return None, why
    user = procs.root / "node-red"
    user.mkdir()
    (user / "node_modules").symlink_to(cache / "node_modules")
    (user / "flows.json").write_text(json.dumps(_node_red_flows(ports, registers, tags)))
    (user / "settings.js").write_text(
        f"module.exports = {{uiHost: '127.0.0.1', uiPort: {free_port()}, flowFile: "
        "'flows.json',\n  credentialSecret: false, httpNodeRoot: false, disableEditor: true,\n"
        "  logging: {console: {level: 'warn', metrics: false, audit: false}}};\n")
    proc = procs.start("node-red", ["node", str(cache / "node_modules" / "node-red" / "red.js"),
                                    "--userDir", str(user), "--settings",
                                    str(user / "settings.js")])

    def all_served() -> bool:
        served = sim_served(procs.root)
        return all(served[name] > base[name] for name in ports)

    base = sim_served(procs.root)
    try:
        wait_for(all_served, 60, "Node-RED to poll every device",
                 lambda: procs.check_alive("node-red"), poll_s=1.0)
    except RuntimeError as exc:
        return None, f"{exc}\n{procs.log_tail('node-red', 10)}"
    time.sleep(warmup)
    s0 = sim_served(procs.root)
    with window(proc.pid) as w:
        time.sleep(duration)
    s1 = sim_served(procs.root)
    procs.check_alive("node-red")
    procs.stop("node-red")
    w["requests"] = float(sum(s1[n] - s0[n] for n in ports))
    return w, f"node-red-contrib-modbus {NODE_RED_PACKAGES[1].split('@')[1]}, Node.js " + (
        subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":  # `make bench` runs every bench/*.py
    print("helpers of bench/acqd_tcp.py and bench/acqd_rtu.py: nothing to measure here")
