"""acqd driver benchmark: CPU per request of our Modbus TCP master against pymodbus's, and
RTU throughput of our master against the physical limit of the line.

    .venv/bin/python bench/acqd_drivers.py [--requests 5000] [--rounds 3] [--rtu]

TCP: both masters read the same 100 holding registers from the same pymodbus server, which
runs in a child process so that time.process_time() in this process counts the master
alone.  The masters take turns (ours, pymodbus, ours, ...); the median per-request CPU of
each is printed with the ratio.

RTU (--rtu): our master reads 125 registers again and again from the simulator
(daemons.sim), which enforces the line's timing (character times, t3.5, a 10 ms device
turnaround) on a socat pty pair at 19,200 baud 8N1.  Physical limit per request, from
Modbus over Serial Line V1.02 §2.5.1: (8 + 255) bytes x 10 bits / 19,200 + 2 x t3.5 +
turnaround; registers/s achieved are printed against it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COUNT = 100


# --- the pymodbus server (child process) ------------------------------------------------
async def _serve(portfile: Path) -> None:
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    device = SimDevice(1, simdata=[SimData(0, values=list(range(1000)),
                                           datatype=DataType.REGISTERS)])
    server = ModbusTcpServer([device], address=("127.0.0.1", 0))
    await server.serve_forever(background=True)
    portfile.write_text(f"{server.transport.sockets[0].getsockname()[1]}\n")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.shutdown()


@contextlib.contextmanager
def pymodbus_server(tmp: Path) -> Any:
    portfile = tmp / "port"
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(portfile)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not portfile.exists() or not portfile.read_text().endswith("\n"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the pymodbus server did not start")
            time.sleep(0.02)
        yield int(portfile.read_text())
    finally:
        proc.terminate()
        proc.wait(5)


# --- the masters --------------------------------------------------------------------
async def ours(port: int, n: int) -> tuple[float, float]:
    from daemons.acqd.drivers.modbus_tcp import TcpLink

    link = TcpLink("127.0.0.1", port)
    try:
        for _ in range(200):  # warm-up: connection, caches
            await link.read(1, "hr", 0, COUNT, timeout=1.0)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            values = await link.read(1, "hr", 0, COUNT, timeout=1.0)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        assert values == list(range(COUNT)), values[:5]
        return cpu / n * 1e6, wall / n * 1e6
    finally:
        await link.close()


async def theirs(port: int, n: int) -> tuple[float, float]:
    from pymodbus.client import AsyncModbusTcpClient

    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    await client.connect()
    try:
        for _ in range(200):
            await client.read_holding_registers(0, count=COUNT, device_id=1)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            rr = await client.read_holding_registers(0, count=COUNT, device_id=1)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        assert rr.registers == list(range(COUNT))
        return cpu / n * 1e6, wall / n * 1e6
    finally:
        client.close()


def bench_tcp(n: int, rounds: int) -> None:
    import logging

    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp, pymodbus_server(Path(tmp)) as port:
        results: dict[str, list[tuple[float, float]]] = {"ours": [], "pymodbus": []}
        for _ in range(rounds):
            results["ours"].append(asyncio.run(ours(port, n)))
            results["pymodbus"].append(asyncio.run(theirs(port, n)))
    print(f"Modbus TCP, read {COUNT} holding registers, {n} requests x {rounds} rounds "
          f"(median of rounds; server in another process)")
    med = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v))
           for k, v in results.items()}
    for name, (cpu, wall) in med.items():
        print(f"  {name:9s} CPU {cpu:7.1f} us/request   wall {wall:7.1f} us/request")
    print(f"  pymodbus / ours CPU ratio: {med['pymodbus'][0] / med['ours'][0]:.2f}x")


# --- RTU against the simulator ---------------------------------------------------------
def bench_rtu(requests: int) -> None:
    from daemons.acqd.drivers.modbus_rtu import LineTiming, RtuLink
    from daemons.sim.background import SiteThread
    from daemons.sim.sitefile import parse_site

    baud, turnaround = 19200, 0.010
    text = f"""
[site]
name = "bench"
[[bus]]
name = "rs485"
link = "ttyBENCH"
baud = {baud}
parity = "N"
stop_bits = 1
turnaround_ms = {turnaround * 1000}
[[device]]
name = "d1"
model = "bench_registers"
unit = 1
bus = "rs485"
"""
    from _acqd_common import MODELS as models
    line = LineTiming(baud, "N", 1)
    per_request = line.frame_s(8 + 255) + 2 * line.silent_s + turnaround
    with tempfile.TemporaryDirectory() as tmp:
        site = parse_site(text, "bench-site.toml", set(models))
        with SiteThread(site, state_dir=Path(tmp), models=models, isolated=True) as sim:
            async def go() -> float:
                link = RtuLink(str(sim.pty_links["rs485"]), baud=baud, parity="N")
                try:
                    await link.read(1, "hr", 0, 125, timeout=1.0)
                    t0 = time.perf_counter()
                    for _ in range(requests):
                        await link.read(1, "hr", 0, 125, timeout=1.0)
                    return time.perf_counter() - t0
                finally:
                    await link.close()

            wall = asyncio.run(go())
    achieved = 125 * requests / wall
    limit = 125 / per_request
    print(f"Modbus RTU, {baud} baud 8N1, 125-register reads, {turnaround * 1000:g} ms "
          f"turnaround, {requests} requests (simulator enforcing line timing)")
    print(f"  physical limit {limit:7.1f} registers/s ({per_request * 1000:.1f} ms/request)")
    print(f"  achieved       {achieved:7.1f} registers/s ({wall / requests * 1000:.1f} "
          f"ms/request) = {100 * achieved / limit:.1f} % of the limit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rtu", action="store_true", help="also the RTU throughput bench")
    parser.add_argument("--rtu-requests", type=int, default=40)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        return
    os.environ.setdefault("PYTHONHASHSEED", "0")
    bench_tcp(args.requests, args.rounds)
    if args.rtu:
        bench_rtu(args.rtu_requests)


if __name__ == "__main__":
    main()
