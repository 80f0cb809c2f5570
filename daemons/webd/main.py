"""webd: the REST API and the HMI pages on uvicorn, as a wellgate service.

`run(config)` is the daemon; `entry()` the console script (`webd --config PATH`).
uvicorn serves on a socket webd binds itself (a bind error is then an ordinary start
failure, not uvicorn's sys.exit) and does not touch signals: SIGTERM, SIGHUP and the
watchdog belong to daemons/core/service like in every other daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from daemons.core.config import GatewayConfig
from daemons.core.service import ServiceContext, daemon_main
from daemons.webd.app import WebState, build_app
from daemons.webd.auth import Gatekeeper, Worker
from daemons.webd.data import Api

PRUNE_PERIOD_S = 600.0  # expired sessions are removed from webd.db this often
STOP_GRACE_S = 5.0  # open SSE streams are cut after this on stop
RETIRE_AFTER_S = 5.0  # the old configuration's connections outlive a reload this long


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The service lifecycle owns SIGTERM/SIGINT (daemons/core/service/lifecycle.py).
        yield


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class WebDaemon:
    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.worker: Worker | None = None
        self.state: WebState | None = None
        self.server: _Server | None = None
        self.task: asyncio.Task | None = None
        self.sock: socket.socket | None = None
        self.retired: list[WebState] = []  # states replaced by a reload, closed soon

    async def _open_state(self, config: GatewayConfig, log: Any) -> WebState:
        assert self.worker is not None
        gate = await self.worker.call(lambda: Gatekeeper(config, log=log))
        api = await self.worker.call(Api, gate)
        return WebState(self.worker, gate, api)

    async def start(self, ctx: ServiceContext) -> None:
        self.worker = Worker()
        self.state = await self._open_state(self.config, ctx.log)
        web = self.config.web
        self.sock = listen(web.bind, web.port)
        uv = uvicorn.Config(build_app(self.state), lifespan="off", server_header=False,
                            access_log=False, log_config=None, timeout_graceful_shutdown=
                            STOP_GRACE_S)
        self.server = _Server(uv)
        self.task = asyncio.get_running_loop().create_task(self.server.serve([self.sock]))
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError("uvicorn stopped while starting")
            await asyncio.sleep(0.02)
        ctx.log.info("listening", bind=web.bind, port=self.sock.getsockname()[1])
        await self.worker.call(self.state.gate.audit.append, "system", "system",
                               "service.start", "webd", {"pid": os.getpid()})

    async def run(self, ctx: ServiceContext) -> None:
        assert self.task is not None and self.state is not None and self.worker is not None
        last_prune = 0.0
        while not self.task.done():
            if time.monotonic() - last_prune > PRUNE_PERIOD_S:
                last_prune = time.monotonic()
                await self.worker.call(self.state.gate.sessions.prune)
            ctx.heartbeat()
            await asyncio.sleep(1.0)
        self.task.result()  # uvicorn ended on its own: an error for the lifecycle
        raise RuntimeError("the HTTP server stopped")

    async def reload(self, config: Any, ctx: ServiceContext) -> None:
        """Users, roles, wells and the matrix change in place; a new address needs a
        restart (the socket stays bound)."""
        if (config.web.bind, config.web.port) != (self.config.web.bind, self.config.web.port):
            ctx.log.warning("web address changed: restart webd to use it")
        assert self.state is not None and self.worker is not None and self.server is not None
        old = self.state
        self.state = await self._open_state(config, ctx.log)
        self.server.config.app.state.web = self.state  # type: ignore[attr-defined]
        self.config = config
        # A request that picked up the old state just before the swap may still use it:
        # its databases are closed a little later, not under it.
        self.retired.append(old)
        asyncio.get_running_loop().call_later(RETIRE_AFTER_S, self._retire_one)

    def _retire_one(self) -> None:
        if self.retired and self.worker is not None:
            old = self.retired.pop(0)
            self.worker.pool.submit(old.api.close)
            self.worker.pool.submit(old.gate.close)

    async def close(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self.task, STOP_GRACE_S + 2)
        if self.sock is not None:
            self.sock.close()
        if self.state is not None and self.worker is not None:
            with contextlib.suppress(Exception):
                await self.worker.call(self.state.gate.audit.append, "system", "system",
                                       "service.stop", "webd", {"pid": os.getpid()})
            for state in [*self.retired, self.state]:
                await self.worker.call(state.api.close)
                await self.worker.call(state.gate.close)
            self.retired.clear()
        if self.worker is not None:
            self.worker.close()


def run(config: GatewayConfig) -> WebDaemon:
    """The component for `config` (DESIGN.md: each daemon's main.py has run(config))."""
    return WebDaemon(config)


def entry() -> None:
    sys.exit(daemon_main("webd", run))


if __name__ == "__main__":
    entry()
