"""A tag-map reload while a client is subscribed: nodes are added and removed, a
GeneralModelChangeEvent is sent, and the session and its subscription on an unchanged
node carry on."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
from asyncua import ua

from daemons.core.quality import Quality
from daemons.core.ring import RingWriter, SlotSpec
from daemons.core.tagmap import store

from .conftest import TAGMAP, connect

pytestmark = pytest.mark.timeout(60)


class Handler:
    def __init__(self) -> None:
        self.values: list = []
        self.events: list = []

    def datachange_notification(self, node, val, data) -> None:
        self.values.append(val)

    def event_notification(self, event) -> None:
        self.events.append(event)


async def _wait(pred, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await pred():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_reload_adds_and_removes_nodes_and_keeps_the_session(site):
    async def main():
        c = await connect(site, user="oscar")
        try:
            ns = await c.get_namespace_index("urn:wellgate:opc test pad")
            handler = Handler()
            sub = await c.create_subscription(50, handler)
            await sub.subscribe_data_change(c.get_node(f"ns={ns};s=W101.THP"))
            await sub.subscribe_events(c.nodes.server,
                                       ua.ObjectIds.GeneralModelChangeEventType)
            await _wait(lambda: _true(handler.values), "the first value")

            new_map = TAGMAP.replace("SITE.FLARE_T,rtu1,hr,4,int16,,,degF,,,,,,flare temperature\n",
                                     "") + "W101.CHP,rtu1,hr,5,uint16,,,psi,,0,3000,W101,,\n"
            (site.root / "maps" / "site.csv").write_text(new_map)
            store.apply(site.cfg.paths.tagmap_dir, {"site.csv": site.root / "maps" / "site.csv"},
                        "test")
            # acqd replaces its ring on a new tag map (RingWriter.create supersedes the file).
            old = site.ring
            slots = [SlotSpec("W101.THP", 0, "psi"), SlotSpec("W101.SPM_SET", 0, "spm"),
                     SlotSpec("B201.THP", 0, "psi"), SlotSpec("B201.CHOKE_SET", 0, "1/64 in"),
                     SlotSpec("W101.CHP", 0, "psi"), SlotSpec("W101.CARD_LOAD", 4, "lbf"),
                     SlotSpec("_sys.rtu1.status", 0, "")]
            site.ring = RingWriter.create(site.cfg.paths.runtime_dir / "acq.ring", slots,
                                          tagmap_version=2)
            old.close()
            site.write(812.5)
            site.proc.send_signal(signal.SIGHUP)

            chp = c.get_node(f"ns={ns};s=W101.CHP")

            async def chp_exists():
                dv = await chp.read_data_value(False)
                return dv.StatusCode.value == int(Quality.BAD_NO_COMMUNICATION)
            await _wait(chp_exists, "the new node")
            props = {(await p.read_browse_name()).Name: await p.read_value()
                     for p in await chp.get_properties()}
            assert props["EURange"].High == 3000.0
            gone = await c.get_node(f"ns={ns};s=SITE.FLARE_T").read_data_value(False)
            assert gone.StatusCode.value == ua.StatusCodes.BadNodeIdUnknown
            await _wait(lambda: _true(handler.events), "the model change event")
            changes = handler.events[-1].Changes
            verbs = {(ch.Affected.Identifier, ch.Verb) for ch in changes}
            assert ("W101.CHP", 1) in verbs and ("SITE.FLARE_T", 2) in verbs

            n = len(handler.values)
            site.write(901.0)  # the subscription made before the reload still delivers
            await _wait(lambda: _true(len(handler.values) > n and
                                      handler.values[-1] == pytest.approx(901.0)),
                        "a value after the reload")
        finally:
            await c.disconnect()

    asyncio.run(main())


async def _true(value) -> bool:
    return bool(value)
