"""webd benchmark (issue 12): live events at 20 SSE clients and /api/tags requests/s.

    .venv/bin/python bench/webd.py [--tags 5000] [--clients 20] [--seconds 20]

webd runs as a real process (`python -m daemons.webd --config`) on a free loopback port;
this script writes `acq.ring` as acqd would: every second all `--tags` values change
(a random walk, new timestamps) together with a sequence tag `BENCH.SEQ`.  `--clients`
event streams (`GET /api/events`, one logged-in session each, raw sockets so the client
side stays cheap) look for the sequence number in each event; the latency is from the
ring write to the event's arrival.  webd's CPU (utime + stime of the whole process from
/proc/<pid>/stat, every thread) is read over the same window; the baseline is the same
webd with the streams open and the ring not changing (what 20 quiet streams cost).

Targets (issue 12): p99 latency <= 1 s, webd CPU <= 15 % of one core.

Then requests per second for `GET /api/tags?pattern=…` matching 1,000 tags (keep-alive,
`--rps-clients` concurrent clients, no streams open), against `GET /api/me` (same
authentication, no tags) as the framework's baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from daemons.core.access.accounts import Accounts
from daemons.core.access.audit import AuditLog
from daemons.core.access.model import system_user
from daemons.core.access.passwords import HashParams, Passwords
from daemons.core.access.policy import load_policy
from daemons.core.access.users import UserStore
from daemons.core.config import load_config
from daemons.core.quality import Quality
from daemons.core.ring import RingWriter, SlotSpec

WELLS = 100
PASSWORD = "correct-horse-42"
SEQ_TAG = "BENCH.SEQ"
SEQ_RE = re.compile(rb'"tag": ?"BENCH\.SEQ", ?"value": ?([0-9.]+)')
CLK_TCK = os.sysconf("SC_CLK_TCK")


def gateway_toml(port: int) -> str:
    wells = "".join(f'[[well]]\nid = "W{i:03d}"\nfield = "F{i // 20}"\ntype = "flowing"\n\n'
                    for i in range(WELLS))
    return (f'[gateway]\nsite = "bench"\n\n[paths]\nruntime_dir = "run"\nstate_dir = "state"\n'
            f'tagmap_dir = "tagmaps"\n\n[web]\nbind = "127.0.0.1"\nport = {port}\n\n'
            f"[service.webd]\nmetrics_port = 0\n\n{wells}")


def tag_names(n: int) -> list[str]:
    per_well = max(1, n // WELLS)
    return [f"W{i // per_well % WELLS:03d}.T{i:05d}" for i in range(n)]


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Feeder:
    """acqd's part: all tags change once a second, with the sequence number."""

    def __init__(self, ring: RingWriter, n: int) -> None:
        self.ring, self.n = ring, n
        self.idx = np.arange(n + 1)
        self.values = np.random.default_rng(12).uniform(100, 900, n)
        self.written: dict[int, float] = {}  # seq -> perf_counter at the write
        self.seq = 0
        self.changing = False
        self.stop = threading.Event()

    def write_once(self) -> None:
        self.seq += 1
        self.values += 1.0
        self.ring.write_batch(self.idx, np.append(self.seq, self.values), time.time_ns(),
                              int(Quality.GOOD))

    def run(self) -> None:
        next_tick = time.monotonic()
        good = np.full(self.n + 1, int(Quality.GOOD), np.uint32)
        rng = np.random.default_rng(13)
        while not self.stop.is_set():
            next_tick += 1.0
            if self.changing:
                self.seq += 1
                self.values += rng.normal(0, 1.0, self.n)
                t = time.perf_counter()
                self.ring.write_batch(self.idx, np.append(self.seq, self.values),
                                      time.time_ns(), good)
                self.written[self.seq] = t
            self.stop.wait(max(0.0, next_tick - time.monotonic()))


async def stream(port: int, cookie: str, arrivals: list[tuple[int, float]],
                 stop: asyncio.Event, ready: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: wg_session={cookie}"
                 f"\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    tail = b""
    try:
        while not stop.is_set():
            try:
                chunk = await asyncio.wait_for(reader.read(1 << 20), 0.5)
            except TimeoutError:
                continue
            if not chunk:
                raise RuntimeError("an event stream ended")
            now = time.perf_counter()
            ready.set()
            buf = tail + chunk
            if buf.find(b"BENCH.SEQ") >= 0:  # a cheap look first: most chunks lack it
                arrivals.extend((int(float(m[1])), now) for m in SEQ_RE.finditer(buf))
            tail = buf[-64:]
    finally:
        writer.close()


async def streams(port: int, cookies: list[str], feeder: Feeder, seconds: float,
                  pid: int) -> tuple[list[float], float, float, int]:
    """Latencies (s), webd's CPU % while changing and while quiet, events missed."""
    stop = asyncio.Event()
    per_client: list[list[tuple[int, float]]] = [[] for _ in cookies]
    readies = [asyncio.Event() for _ in cookies]
    tasks = [asyncio.create_task(stream(port, c, a, stop, r))
             for c, a, r in zip(cookies, per_client, readies, strict=True)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
    await asyncio.sleep(2.0)  # first events (every value) sent; quiet from here
    c0, t0 = cpu_s(pid), time.monotonic()
    await asyncio.sleep(min(10.0, seconds / 2))
    quiet = (cpu_s(pid) - c0) / (time.monotonic() - t0) * 100
    feeder.changing = True
    await asyncio.sleep(3.0)  # warm-up
    first_seq = feeder.seq + 1
    c0, t0 = cpu_s(pid), time.monotonic()
    await asyncio.sleep(seconds)
    busy = (cpu_s(pid) - c0) / (time.monotonic() - t0) * 100
    last_seq = feeder.seq
    await asyncio.sleep(2.0)  # the last events arrive
    stop.set()
    feeder.changing = False
    await asyncio.gather(*tasks)
    latencies, missed = [], 0
    for arrivals in per_client:
        got = {seq: t for seq, t in arrivals}
        for seq in range(first_seq, last_seq + 1):
            if seq in got:
                latencies.append(got[seq] - feeder.written[seq])
            else:
                missed += 1
    return latencies, quiet, busy, missed


def per_tick_cpu(runtime_dir: Path, feeder: Feeder, clients: int, ticks: int = 10
                 ) -> tuple[float, float]:
    """CPU ms per second of changes: LiveHub (one tick serves every stream) against what
    webd did before it — each stream its own snapshot, a dict per changed tag
    (`tag_row`) and its own `json.dumps` — in this process, on the same ring."""
    from daemons.core.ring import RingDirectory
    from daemons.core.ring.rows import tag_row
    from daemons.webd.live import LiveHub

    async def hub_ticks() -> float:
        hub = LiveHub(runtime_dir)
        subs = [hub.subscribe("*", lambda n: True) for _ in range(clients)]
        cpu = 0.0
        for _ in range(ticks):
            feeder.write_once()
            t = time.process_time()
            hub.tick()
            cpu += time.process_time() - t
            for s in subs:
                while not s.queue.empty():
                    s.queue.get_nowait()
        hub.close()
        return cpu / ticks * 1000

    rings = [RingDirectory(runtime_dir) for _ in range(clients)]
    last = [r.snapshot().ts_ns.copy() for r in rings]
    naive = 0.0
    for _ in range(ticks):
        feeder.write_once()
        t = time.process_time()
        for k, r in enumerate(rings):
            snap = r.snapshot()
            moved = np.flatnonzero(snap.ts_ns != last[k])
            last[k] = snap.ts_ns.copy()
            json.dumps([tag_row(r, snap, int(i)) for i in moved], ensure_ascii=False)
        naive += time.process_time() - t
    for r in rings:
        r.close()
    return asyncio.run(hub_ticks()), naive / ticks * 1000


def rps(base: str, cookie: str, path: str, clients: int, seconds: float) -> tuple[float, int]:
    """Requests/s of `path` with `clients` keep-alive clients; and the answer's size."""
    counts = [0] * clients
    sizes = [0]
    end = time.monotonic() + seconds

    def client(k: int) -> None:
        with httpx.Client(base_url=base, cookies={"wg_session": cookie}, timeout=30) as http:
            while time.monotonic() < end:
                r = http.get(path)
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
                counts[k] += 1
                sizes[0] = len(r.content)

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - t0), sizes[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tags", type=int, default=5000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20.0, help="measured window with changes")
    ap.add_argument("--rps-clients", type=int, default=4)
    ap.add_argument("--rps-seconds", type=float, default=5.0)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-webd-", dir="/dev/shm"
                                 if Path("/dev/shm").is_dir() else None))
    port = free_port()
    (root / "gateway.toml").write_text(gateway_toml(port))
    cfg = load_config(root / "gateway.toml")
    users, audit = UserStore(cfg.paths.state_dir), AuditLog(cfg.paths.state_dir)
    fast = Passwords(HashParams(time_cost=1, memory_kib=1024, parallelism=1))
    Accounts(users, audit, load_policy(cfg), cfg.access, hasher=fast).add(
        system_user("root"), "cli", "bench", ["supervisor"], [], PASSWORD)
    users.close()
    audit.close()
    cfg.paths.runtime_dir.mkdir(parents=True)
    names = tag_names(args.tags)
    ring = RingWriter.create(cfg.paths.runtime_dir / "acq.ring",
                             [SlotSpec(n, 0, "psi") for n in [SEQ_TAG, *names]],
                             tagmap_version=1, history_depth=10)
    feeder = Feeder(ring, args.tags)
    feeder_thread = threading.Thread(target=feeder.run, daemon=True)
    feeder.changing = True  # one first write so every value is there
    feeder_thread.start()
    time.sleep(0.2)
    feeder.changing = False
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    log = open(root / "webd.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([sys.executable, "-m", "daemons.webd", "--config",
                             str(root / "gateway.toml")], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/api/me", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"webd did not start; see {root}/webd.log") from None
                time.sleep(0.1)
        cookies = []
        for _ in range(args.clients):
            r = httpx.post(base + "/api/login", json={"user": "bench", "password": PASSWORD})
            r.raise_for_status()
            cookies.append(r.cookies["wg_session"])
        latencies, quiet, busy, missed = asyncio.run(
            streams(port, cookies, feeder, args.seconds, proc.pid))
        ms = np.array(latencies) * 1000
        pattern = "W0[01]?.*"  # W000–W019: 1,000 of 5,000 tags
        tags_rps, size = rps(base, cookies[0], f"/api/tags?pattern={pattern}",
                             args.rps_clients, args.rps_seconds)
        me_rps, _ = rps(base, cookies[0], "/api/me", args.rps_clients, args.rps_seconds)
        matched = len(httpx.get(base + f"/api/tags?pattern={pattern}",
                                cookies={"wg_session": cookies[0]}).json())
        proc.send_signal(signal.SIGTERM)  # the in-process comparison runs alone
        proc.wait(10)
        feeder.stop.set()
        feeder_thread.join()
        hub_ms, naive_ms = per_tick_cpu(cfg.paths.runtime_dir, feeder, args.clients)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        feeder.stop.set()
        ring.close()
        if not args.keep:
            subprocess.run(["rm", "-rf", str(root)], check=False)
    if len(ms) == 0:
        raise SystemExit("no event arrived")
    print(f"SSE latency ring -> event, {args.clients} clients, {args.tags:,} tags changing "
          f"every second: p50 {np.percentile(ms, 50):.0f} ms, p99 {np.percentile(ms, 99):.0f} "
          f"ms, max {ms.max():.0f} ms  target p99 <= 1000 ms (p90 {np.percentile(ms, 90):.0f} ms; "
          f"{len(ms)} events, "
          f"{missed} missed)")
    print(f"webd CPU with that load: {busy:.1f} % of one core  target <= 15 %  (baseline: "
          f"the same {args.clients} streams, ring quiet: {quiet:.1f} %)")
    print(f"one second of changes for {args.clients} streams, in-process CPU: LiveHub "
          f"{hub_ms:.1f} ms; each stream on its own with dict rows (webd before) "
          f"{naive_ms:.0f} ms  -> x{naive_ms / hub_ms:.0f}")
    print(f"GET /api/tags of {matched:,} tags ({size / 1024:.0f} KiB): {tags_rps:,.0f} "
          f"requests/s with {args.rps_clients} clients  (baseline GET /api/me: "
          f"{me_rps:,.0f} requests/s)")
    if args.keep:
        print(f"work directory: {root}")


if __name__ == "__main__":
    main()
