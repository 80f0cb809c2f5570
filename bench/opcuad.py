"""opcuad: N monitored items changing at 1 Hz to one subscribed client.

Measures, over a window after the client has subscribed every item:

* the CPU of the server process (utime + stime from /proc/<pid>/stat, all threads), as %
  of one core;
* the fraction of changes delivered: every value carries the writer's tick
  (value = tick * 1e6 + slot), the client counts notifications per tick, and the ticks
  wholly inside the window are compared with N.

Against, in the same run, a naive asyncua server (PITFALLS.md): the same N variables in
folders of 100, written one `write_value` per node every second.  The client is
node-opcua (hil-tests/opcua-node/bench-client.js, `make npm-deps`): a Python client could
not receive 10k changes/s on two cores and would measure itself.

    .venv/bin/python bench/opcuad.py                 # 10,000 items, ours and naive
    .venv/bin/python bench/opcuad.py --items 50000 --no-naive
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLIENT = ROOT / "hil-tests" / "opcua-node" / "bench-client.js"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NSURI = "urn:wellgate:bench"
SUBSCRIBE_TIMEOUT_S = 600

NAIVE = r'''
import asyncio, sys, time
from asyncua import Server, ua
N, PORT = int(sys.argv[1]), int(sys.argv[2])
async def main():
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{PORT}/wellgate")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = await server.register_namespace("urn:wellgate:bench")
    nodes = []
    for f in range(0, N, 100):
        folder = await server.nodes.objects.add_folder(ua.NodeId(f"f{f}", ns), f"f{f}")
        for i in range(f, min(N, f + 100)):
            nodes.append(await folder.add_variable(ua.NodeId(f"T{i:06d}", ns), f"T{i:06d}", 0.0))
    async with server:
        print("ready", flush=True)
        while True:
            tick = int(time.time())
            for i, node in enumerate(nodes):
                await node.write_value(float(tick * 1_000_000 + i))
            await asyncio.sleep(max(0.0, tick + 1 - time.time()))
asyncio.run(main())
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def names(n: int) -> list[str]:
    return [f"T{i:06d}" for i in range(n)]


class RingFeeder:
    """Writes every slot once a second, as acqd would (value = tick * 1e6 + slot)."""

    def __init__(self, runtime: Path, n: int) -> None:
        from daemons.core.ring import RingWriter, SlotSpec

        self.ring = RingWriter.create(runtime / "acq.ring", [SlotSpec(t) for t in names(n)],
                                      tagmap_version=0, history_depth=10)
        self.idx = np.arange(n)
        self.quality = np.zeros(n, np.uint32)
        self.stop = threading.Event()
        self.write(int(time.time()))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def write(self, tick: int) -> None:
        self.ring.write_batch(self.idx, tick * 1_000_000.0 + self.idx, tick * 1_000_000_000,
                              self.quality)

    def _run(self) -> None:
        while not self.stop.is_set():
            tick = int(time.time()) + 1
            self.stop.wait(max(0.0, tick - time.time()))
            self.write(tick)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(3)
        self.ring.close()


def start_ours(work: Path, n: int, port: int) -> tuple[subprocess.Popen, RingFeeder]:
    (work / "run").mkdir()
    (work / "gateway.toml").write_text(f"""\
[gateway]
site = "bench"
[paths]
runtime_dir = "run"
state_dir = "state"
tagmap_dir = "tagmaps"
[opcua]
bind = "127.0.0.1"
port = {port}
allow_none = true
anonymous = true
[service.opcuad]
metrics_port = 0
log_level = "warning"
""")
    feeder = RingFeeder(work / "run", n)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(work / "opcuad.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "daemons.opcuad", "--config",
                                 str(work / "gateway.toml")], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    return proc, feeder


def start_naive(work: Path, n: int, port: int) -> subprocess.Popen:
    (work / "naive.py").write_text(NAIVE)
    return subprocess.Popen([sys.executable, str(work / "naive.py"), str(n), str(port)],
                            stdout=subprocess.PIPE, stderr=open(work / "naive.log", "wb"))


def wait_port(port: int, proc: subprocess.Popen, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError("server exited before listening")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return time.monotonic() - started
        time.sleep(0.2)
    raise TimeoutError("server did not listen")


def measure(server: subprocess.Popen, port: int, n: int, seconds: float,
            publishing_ms: int) -> dict:
    args = {"endpoint": f"opc.tcp://127.0.0.1:{port}/wellgate", "namespaceUri": NSURI,
            "names": names(n), "seconds": seconds, "publishingMs": publishing_ms}
    argfile = Path(tempfile.mkstemp(suffix=".json")[1])
    argfile.write_text(json.dumps(args))
    client = subprocess.Popen(["node", "-e", f"process.argv[2]=require('fs').readFileSync("
                               f"{json.dumps(str(argfile))},'utf8');require("
                               f"{json.dumps(str(CLIENT))})"],
                              cwd=CLIENT.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    assert client.stderr is not None and client.stdout is not None
    errors: list[str] = []
    subscribed = threading.Event()

    def drain() -> None:  # also keeps the pipe from filling up with node-opcua's warnings
        for line in client.stderr:
            errors.append(line)
            if line.startswith("subscribed"):
                subscribed.set()

    threading.Thread(target=drain, daemon=True).start()
    if not subscribed.wait(SUBSCRIBE_TIMEOUT_S):
        client.kill()
        raise RuntimeError(f"the client did not subscribe {n} items within "
                           f"{SUBSCRIBE_TIMEOUT_S} s: " + "".join(errors[-5:]))
    t0, c0 = time.monotonic(), cpu_s(server.pid)
    c_client0 = cpu_s(client.pid)
    t_start = time.time()
    line = ""
    for line in client.stdout:  # node-opcua logs to stdout too: ours is marked RESULT
        if line.startswith("RESULT "):
            break
    t_end = time.time()
    t1, c1 = time.monotonic(), cpu_s(server.pid)
    client_cpu = cpu_s(client.pid) - c_client0
    client.stdout.read()
    client.wait(30)
    argfile.unlink()
    if not line.startswith("RESULT "):
        raise RuntimeError("the client ended without a result")
    result = json.loads(line[len("RESULT "):])
    ticks = {int(k): v for k, v in result["ticks"].items()}
    # Every whole second inside the window should bring N changes: a tick the server never
    # published (the naive one falls behind its own 1 Hz loop) counts as lost.
    inside = range(math.ceil(t_start + 1.5), math.floor(t_end - 1.5) + 1)
    delivered = sum(ticks.get(t, 0) for t in inside) / (n * len(inside)) if inside else 0.0
    return {"cpu_pct": 100.0 * (c1 - c0) / (t1 - t0), "delivered": delivered,
            "client_pct": 100.0 * client_cpu / (t1 - t0),
            "ticks": len(inside), "ticks_seen": sum(1 for t in inside if t in ticks),
            "subscribe_s": result["subscribe_s"]}


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_ours(n: int, seconds: float, publishing_ms: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-opcuad-", dir="/dev/shm"
                                 if Path("/dev/shm").is_dir() else None))
    port = free_port()
    proc, feeder = start_ours(work, n, port)
    try:
        start_s = wait_port(port, proc, 600)
        result = measure(proc, port, n, seconds, publishing_ms)
        result["start_s"] = round(start_s, 1)
        result["rss_mb"] = round(int(Path(f"/proc/{proc.pid}/statm").read_text().split()[1])
                                 * os.sysconf("SC_PAGE_SIZE") / 2**20)
        return result
    finally:
        stop(proc)
        feeder.close()
        shutil.rmtree(work, ignore_errors=True)


def run_naive(n: int, seconds: float, publishing_ms: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-naive-"))
    port = free_port()
    proc = start_naive(work, n, port)
    try:
        assert proc.stdout is not None
        started = time.monotonic()
        proc.stdout.readline()  # "ready"
        result = measure(proc, port, n, seconds, publishing_ms)
        result["start_s"] = round(time.monotonic() - started, 1)
        return result
    finally:
        stop(proc)
        shutil.rmtree(work, ignore_errors=True)


def show(name: str, n: int, r: dict) -> None:
    print(f"{name:<28} {n:>7,} items  CPU {r['cpu_pct']:5.1f} % of one core  "
          f"delivered {100 * r['delivered']:5.1f} % over {r['ticks']} s "
          f"({r['ticks_seen']} ticks published; client {r['client_pct']:.0f} %)  "
          f"(start {r['start_s']} s, subscribe {r['subscribe_s']:.1f} s"
          + (f", RSS {r['rss_mb']} MB" if "rss_mb" in r else "") + ")", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, nargs="*", default=[10_000, 50_000],
                    help="item counts for opcuad (default 10,000 and 50,000)")
    ap.add_argument("--seconds", type=float, default=20.0, help="measurement window")
    ap.add_argument("--publishing-ms", type=int, default=1000,
                    help="the client's publishing interval")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive asyncua server")
    args = ap.parse_args()
    if shutil.which("node") is None or not (CLIENT.parent / "node_modules").is_dir():
        print("needs Node.js and `make npm-deps` (node-opcua-client)", file=sys.stderr)
        return 1
    print(f"# {os.cpu_count()} CPUs; window {args.seconds:g} s; publishing interval "
          f"{args.publishing_ms} ms; values change every second", flush=True)
    for n in args.items:
        try:
            show("opcuad", n, run_ours(n, args.seconds, args.publishing_ms))
        except RuntimeError as exc:
            print(f"opcuad {n:,} items: {exc}", flush=True)
        if not args.no_naive and n <= 10_000:
            show("naive asyncua (write_value)", n, run_naive(n, args.seconds,
                                                             args.publishing_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
