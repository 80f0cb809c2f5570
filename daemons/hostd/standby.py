"""A standby hostd: watches the primary host's STATE and takes over when it goes offline.

Brokers hand a shared subscription's messages out round-robin (mosquitto, HiveMQ), which
would split one edge node's messages between two active hosts; so with such a broker a
group has one active instance, and a second one with ``standby = true`` waits here:
connected without a Will and subscribed to ``spBv1.0/STATE/<host_id>`` only.  When that
STATE says offline (the active instance's Will, or its orderly stop) — or nobody has
published one within `NO_PRIMARY_S` — it returns, and hostd connects as the primary with
a timestamp newer than that offline.  Edge nodes then see the host online again, send
their births, and replay what they buffered meanwhile.

The active side steps down (main.py) when it sees a newer online STATE for its host id
that is not its own: two standbys that took over at once converge on the newer one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from daemons.core.sparkplug import PayloadError, parse_state

NO_PRIMARY_S = 3.0


class StandbyWatch:
    """Collects the STATE messages of one host id and says when to take over."""

    def __init__(self, log: Any) -> None:
        self.log = log
        self.latest_online: int | None = None
        self.takeover_after: int | None = None  # the offline timestamp to supersede
        self.changed = asyncio.Event()

    def on_message(self, _client: Any, _topic: str, payload: bytes, _qos: int,
                   _properties: Any) -> int:
        try:
            online, ts = parse_state(payload)
        except PayloadError as exc:
            self.log.warning("malformed STATE ignored while standing by", reason=str(exc))
            return 0
        if online:
            if self.latest_online is None or ts >= self.latest_online:
                self.latest_online = ts
                self.takeover_after = None
        elif self.latest_online is None or ts >= self.latest_online:
            self.takeover_after = ts
        self.changed.set()
        return 0

    async def wait(self, lost: asyncio.Event) -> int | None:
        """The timestamp to supersede when it is time to take over; None if the broker
        connection was lost first."""
        deadline = asyncio.get_running_loop().time() + NO_PRIMARY_S
        while True:
            if self.takeover_after is not None:
                return self.takeover_after
            if self.latest_online is None and asyncio.get_running_loop().time() > deadline:
                return 0  # nobody is the primary host
            if lost.is_set():
                return None
            self.changed.clear()
            waiters = {asyncio.ensure_future(self.changed.wait()),
                       asyncio.ensure_future(lost.wait())}
            _done, pending = await asyncio.wait(waiters, timeout=0.5,
                                                return_when=asyncio.FIRST_COMPLETED)
            for w in pending:
                w.cancel()
