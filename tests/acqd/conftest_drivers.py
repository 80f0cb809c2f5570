"""Helpers of the driver tests: an INDEPENDENT Modbus slave (pymodbus's server) in its own
process, socat pty pairs, the simulator's test site, and a way to run coroutines.

Run as a script it is the pymodbus slave itself:
    python conftest_drivers.py tcp PORTFILE            (binds 127.0.0.1:0, writes the port)
    python conftest_drivers.py rtu PORTFILE DEVICE BAUD  (serial server on a pty)
Its data: hr[i] = 1000 + i (0..199), ir[i] = 2000 + i (0..99), co[i] = (i % 3 == 0),
di[i] = (i % 2 == 1) (0..99); every other address answers exception 02.  Units 1 and 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from daemons.sim.testmodel import StaticModel

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HR_BASE, HR_COUNT = 1000, 200
IR_BASE, IR_COUNT = 2000, 100
BITS = 100
UNITS = (1, 2)


def coils() -> list[int]:
    return [1 if i % 3 == 0 else 0 for i in range(BITS)]


def inputs() -> list[int]:
    return [1 if i % 2 == 1 else 0 for i in range(BITS)]


def run(coro: Any, timeout: float = 30.0) -> Any:
    """Run one coroutine on a fresh loop (the tests are plain functions)."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def wait_path(path: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.01)


class Socat:
    """A socat pty pair: `a` and `b` are the two ends' links (a cable between two ports)."""

    def __init__(self, a: Path, b: Path) -> None:
        self.a, self.b = a, b
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Socat:
        for p in (self.a, self.b):
            if p.is_symlink():
                p.unlink()
        self.proc = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_path(self.a)
        wait_path(self.b)
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def socat_pair(a: Path, b: Path) -> Iterator[Socat]:
    if shutil.which("socat") is None:
        import pytest

        pytest.skip("socat is not installed (apt-get install -y socat)")
    pair = Socat(a, b).start()
    try:
        yield pair
    finally:
        pair.stop()


@contextlib.contextmanager
def pymodbus_slave(tmp: Path, kind: str = "tcp", *extra: str) -> Iterator[str]:
    """Start the independent slave in a child process; yields its port (tcp) or ''."""
    portfile = tmp / f"slave-{kind}.port"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(Path(__file__)), kind, str(portfile), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 20
        while not portfile.exists() or not portfile.read_text().endswith("\n"):
            if proc.poll() is not None:
                raise RuntimeError(f"pymodbus slave died: {proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                raise TimeoutError("pymodbus slave did not start")
            time.sleep(0.02)
        yield portfile.read_text().strip()
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the simulator ---------------------------------------------------------------------
class DriverTestModel(StaticModel):
    """A simulator device with the same known values as the pymodbus slave (+ offset)."""

    model = "driver_test"

    def __init__(self, bank: Any, *, wells: list[str], params: dict[str, Any],
                 seed: int = 0) -> None:
        offset = int(params.get("offset", 0))
        bank.set_registers("hr", 0, [HR_BASE + offset + i for i in range(HR_COUNT)])
        bank.set_registers("ir", 0, [IR_BASE + offset + i for i in range(IR_COUNT)])
        for i, (c, d) in enumerate(zip(coils(), inputs(), strict=True)):
            bank.set_bit("co", i, bool(c))
            bank.set_bit("di", i, bool(d))


SIM_MODELS = {"driver_test": DriverTestModel}


def sim_text(baud: int = 19200, turnaround_ms: float = 5.0) -> str:
    """Two RTU units on one bus ("rs485"), two TCP units behind one port, one TCP solo."""
    devices = "".join(f"""
[[device]]
name = "{name}"
model = "driver_test"
unit = {unit}
{where}
[device.params]
offset = {offset}
""" for name, unit, where, offset in (
        ("rtu1", 1, 'bus = "rs485"', 0), ("rtu2", 2, 'bus = "rs485"', 100),
        ("gw1", 1, "tcp_port = 5020", 0), ("gw2", 2, "tcp_port = 5020", 100),
        ("solo", 9, "tcp_port = 0", 0)))
    return f"""
[site]
name = "drivers"
seed = 3
truth_interval_s = 5.0

[[bus]]
name = "rs485"
link = "ttyRS485"
baud = {baud}
parity = "N"
stop_bits = 1
turnaround_ms = {turnaround_ms}
{devices}"""


@contextlib.contextmanager
def sim_site(tmp: Path, **kw: Any) -> Iterator[tuple[Any, Any]]:
    """The simulator on its own thread: yields (thread, site); faults via thread.call()."""
    if shutil.which("socat") is None:
        import pytest

        pytest.skip("socat is not installed (apt-get install -y socat)")
    from daemons.sim.background import SiteThread
    from daemons.sim.sitefile import parse_site

    config = parse_site(sim_text(**kw), "drivers-site.toml", set(SIM_MODELS))
    thread = SiteThread(config, state_dir=tmp, models=SIM_MODELS, isolated=True)
    with thread as site:
        yield thread, site


# --- the slave process ---------------------------------------------------------------
def _context() -> Any:
    from pymodbus.datastore import ModbusServerContext  # noqa: F401  (import check only)
    from pymodbus.simulator import DataType, SimData, SimDevice

    def device(unit: int) -> Any:
        return SimDevice(unit, simdata=(
            [SimData(0, values=[bool(b) for b in coils()], datatype=DataType.BITS)],
            [SimData(0, values=[bool(b) for b in inputs()], datatype=DataType.BITS)],
            [SimData(0, values=[HR_BASE + i for i in range(HR_COUNT)],
                     datatype=DataType.REGISTERS)],
            [SimData(0, values=[IR_BASE + i for i in range(IR_COUNT)],
                     datatype=DataType.REGISTERS)],
        ))

    return [device(u) for u in UNITS]


async def _serve(kind: str, portfile: Path, extra: list[str]) -> None:
    from pymodbus.framer import FramerType
    from pymodbus.server import ModbusSerialServer, ModbusTcpServer

    if kind == "tcp":
        server: Any = ModbusTcpServer(_context(), address=("127.0.0.1", 0))
        await server.serve_forever(background=True)
        port = server.transport.sockets[0].getsockname()[1]
    else:
        device, baud = extra[0], int(extra[1])
        server = ModbusSerialServer(_context(), framer=FramerType.RTU, port=device,
                                    baudrate=baud, bytesize=8, parity="N", stopbits=1)
        await server.serve_forever(background=True)
        port = 0
    tmp = portfile.with_suffix(".tmp")
    tmp.write_text(f"{port}\n")
    tmp.replace(portfile)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.shutdown()


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], Path(sys.argv[2]), sys.argv[3:]))
