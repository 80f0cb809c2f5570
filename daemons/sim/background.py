"""A SimSite on its own event-loop thread, for synchronous code (tests, benches, tools).

pymodbus's synchronous clients block, so they cannot share an event loop with the
simulator they talk to; this runs the site on a private loop in a thread instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from daemons.sim.site import SimSite
from daemons.sim.sitefile import SiteConfig

T = TypeVar("T")

class SiteThread:
    """A SimSite on its own event loop thread, for synchronous code (tests, benches).

        runner = SiteThread(site, state_dir=tmp_path)
        with runner as sim:
            ModbusTcpClient("127.0.0.1", port=sim.tcp_ports["dev"])...
            runner.call(sim.fault("dev", "drop"))
    """

    def __init__(self, site: SiteConfig, *, state_dir: Path,
                 models: Mapping[str, type] | None = None, isolated: bool = False) -> None:
        self.sim = SimSite(site, state_dir=state_dir, models=models, isolated=isolated)
        self._thread = threading.Thread(target=self._run, name="sim-loop", daemon=True)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> SimSite:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self.sim

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine (e.g. sim.fault(...)) on the site's loop and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.sim.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.sim.stop()
