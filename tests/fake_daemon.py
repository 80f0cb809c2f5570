"""A stand-in for acqd's or alarmd's command socket (daemons/core/commands framing),
shared by the tests of the daemons that talk to them (webd, opcuad)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from daemons.core.commands import pack, read_message


class FakeDaemon:
    """A Unix socket answering like acqd or alarmd (same framing), recording requests."""

    def __init__(self, path: Path, answer: Any) -> None:
        self.path, self.answer = path, answer
        self.requests: list[dict] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def client(reader, writer):
            msg = await read_message(reader)
            if msg is not None:
                self.requests.append(msg)
                writer.write(pack(self.answer(msg)))
                await writer.drain()
            writer.close()

        async def main():
            self.server = await asyncio.start_unix_server(client, path=str(self.path))
            self.ready.set()
            await self.server.serve_forever()

        try:
            self.loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.path.unlink(missing_ok=True)
