"""A tiny daemon on the real framework, run as a child process by the service tests.

Configuration (TOML, read by its own loader so the tests do not depend on
daemons.core.config)::

    [paths]   runtime_dir = "..."
    [service] metrics_port = 0, log_level = "info"
    [example] interval_s = 0.05, greeting = "hola",
              close = "ok" | "await" (never returns) | "block" (blocks the event loop),
              start = "ok" | "fail"

Signals the component handles itself: SIGUSR1 makes run() hang (await forever, no more
heartbeats — what a stuck driver looks like); SIGUSR2 makes run() raise.
Environment: EXAMPLE_STOP_TIMEOUT_S overrides the 5 s stop deadline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemons.core.problems import Problem, ValidationError
from daemons.core.service import ServiceContext, daemon_main


@dataclass(frozen=True)
class Paths:
    runtime_dir: Path


@dataclass(frozen=True)
class Service:
    metrics_port: int
    log_level: str


@dataclass(frozen=True)
class ExampleConfig:
    paths: Paths
    svc: Service
    interval_s: float
    greeting: str
    close: str
    start: str

    def service(self, name: str) -> Service:
        return self.svc


def load(path: Path) -> ExampleConfig:
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+), column (\d+)", str(exc))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        raise ValidationError([Problem(str(path), line, col, en=f"not valid TOML: {exc}",
                                       es=f"TOML no válido: {exc}")]) from exc
    ex = data.get("example", {})
    interval = ex.get("interval_s", 0.05)
    if not isinstance(interval, int | float) or interval <= 0:
        raise ValidationError([Problem(str(path), 0, 0, en="interval_s must be > 0",
                                       es="interval_s debe ser > 0")])
    svc = data.get("service", {})
    return ExampleConfig(
        paths=Paths(Path(data["paths"]["runtime_dir"])),
        svc=Service(int(svc.get("metrics_port", 0)), str(svc.get("log_level", "info"))),
        interval_s=float(interval), greeting=str(ex.get("greeting", "hola")),
        close=str(ex.get("close", "ok")), start=str(ex.get("start", "ok")))


class Example:
    def __init__(self, config: ExampleConfig) -> None:
        self.config = config
        self.hang = asyncio.Event()
        self.crash = asyncio.Event()

    async def start(self, ctx: ServiceContext) -> None:
        if self.config.start == "fail":
            raise RuntimeError("cannot open /dev/ttyFAKE")
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, self.hang.set)
        loop.add_signal_handler(signal.SIGUSR2, self.crash.set)
        # A stdlib logger, as pymodbus uses: must come out in the same format.
        logging.getLogger("pymodbus.client").warning("library says %s", "hello")
        ctx.error("device", "simulated timeout")
        ctx.log.info("example started", greeting=self.config.greeting)

    async def run(self, ctx: ServiceContext) -> None:
        while True:
            if self.crash.is_set():
                raise RuntimeError("simulated crash in the main loop")
            if self.hang.is_set():
                ctx.log.info("example hanging")
                await asyncio.Event().wait()
            with ctx.iteration():
                await asyncio.sleep(0)  # the "work"
            await asyncio.sleep(self.config.interval_s)

    async def reload(self, config: ExampleConfig, ctx: ServiceContext) -> None:
        self.config = config
        ctx.log.info("example reloaded", greeting=config.greeting)

    async def close(self) -> None:
        if self.config.close == "await":
            await asyncio.Event().wait()
        elif self.config.close == "block":
            time.sleep(60)  # a synchronous call into a stuck driver


def main(argv: list[str] | None = None) -> int:
    timeout = float(os.environ.get("EXAMPLE_STOP_TIMEOUT_S", "5.0"))

    def factory(config: Any) -> Example:
        return Example(config)

    return daemon_main("example", factory, argv, load=load, version="9.9.9-test",
                       stop_timeout_s=timeout)


if __name__ == "__main__":
    sys.exit(main())
