"""BusPoller without a bus: a scripted link and clock, a real ring (issue 8, parts 2 and 3).

The whole-daemon tests (test_live_updates.py) show the behaviour against the simulator;
these pin the rules that timing there cannot: sample times never go backwards past an
outage or a read-back, and a flapping slave does not turn its slow blocks into a fast scan.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from daemons.acqd.drivers.base import NoResponse
from daemons.acqd.health import SlaveHealth
from daemons.acqd.output import RingOutput
from daemons.acqd.plan import Planner
from daemons.acqd.poller import BusPoller, Slave
from daemons.acqd.scheduler import ScanClock
from daemons.core.config import DeviceConfig
from daemons.core.quality import detail
from daemons.core.ring import RingReader
from daemons.core.service.logsetup import Availability
from daemons.core.tagmap import TagDef

S = 1_000_000_000
INTERVALS = {"fast": 1 * S, "slow": 60 * S}


def device(name: str) -> DeviceConfig:
    return DeviceConfig(name=name, protocol="modbus-tcp", unit=1, timeout=0.1, retries=0,
                        max_registers=125, max_bits=2000, max_gap=4, demote_after=3,
                        demote_period=30.0, enabled=True, description="", host="h")


def tag(name: str, dev: str, address: int, scan: str, **kw) -> TagDef:
    return TagDef(name, dev, kw.pop("unit", 1), "hr", address, kw.pop("type_", "uint16"),
                  scan=scan, **kw)


class Link:
    """Answers hr[i] = 1000 + i, or times out for the devices listed in `down`."""

    def __init__(self) -> None:
        self.down: set[int] = set()
        self.stats = SimpleNamespace(last_response_s=0.001)
        self.words: dict[int, int] = {}

    async def read(self, unit, table, start, count, *, timeout):
        if unit in self.down:
            raise NoResponse("timeout", unit=unit)
        return [self.words.get(a, 1000 + a) for a in range(start, start + count)]


class Site:
    """Device `a` (unit 1) with a fast and a slow block, device `b` (unit 2) fast only."""

    def __init__(self, tmp: Path) -> None:
        self.now = 100 * S
        self.tags = [tag("A.FAST", "a", 0, "fast"), tag("A.SLOW", "a", 50, "slow"),
                     tag("A.SET", "a", 60, "fast", type_="bit", bit=0, access="rw"),
                     tag("A.BIT5", "a", 60, "fast", type_="bit", bit=5),
                     tag("A.NEXT", "a", 61, "fast"), tag("B.FAST", "b", 0, "fast", unit=2)]
        self.path = tmp / "acq.ring"
        self.output = RingOutput(self.path, self.tags, [("a", 1), ("b", 2)],
                                 tagmap_version=1, history_depth=4,
                                 scan_interval_ns=INTERVALS)
        planner = Planner()
        self.slaves = []
        for unit, dev in ((1, "a"), (2, "b")):
            cfg = device(dev)
            mine = [t for t in self.tags if t.device == dev]
            blocks: dict[str, list] = {}
            for block in planner.plan(mine, cfg):
                blocks.setdefault(block.scan, []).append(block)
            self.slaves.append(Slave(cfg, unit, blocks, SlaveHealth(dev, unit)))
        self.link = Link()
        clocks = [ScanClock(n, i, p) for p, (n, i) in enumerate(INTERVALS.items())]
        self.poller = BusPoller("bus", self.link, self.slaves, clocks, planner, self.output,
                                Availability(_Log(), "slave"),
                                clock=lambda: self.now)

    def cycle(self, scan: str, tick: int) -> None:
        """Start a cycle of `scan` for `tick`, a little after the tick (the clock never
        goes back)."""
        self.now = max(self.now, tick + S // 100)
        self.poller.pending[scan] = self.poller._cycle(scan, tick)

    def run(self, scan: str, count: int | None = None) -> None:
        queue = self.poller.pending[scan]
        for _ in range(len(queue) if count is None else count):
            asyncio.run(self.poller._execute(queue.popleft()))
            self.now += S // 100

    def ring(self) -> dict[str, tuple[float, int, str]]:
        self.output.flush(self.now)
        with RingReader(self.path) as reader:
            snap = reader.snapshot()
        return {t.name: _show(snap.get(t.name)) for t in self.tags} | {
            "a.comm": _show(snap.get("_sys.a.1.comm"))}


class _Log:
    def warning(self, *args, **kw) -> None:
        pass

    info = warning


def _show(sample: tuple[float, int, int]) -> tuple[float, int, str]:
    return sample[0], sample[1], detail(sample[2])


@pytest.fixture
def site(tmp_path: Path) -> Site:
    s = Site(tmp_path)
    s.cycle("fast", 100 * S)
    s.cycle("slow", 60 * S)
    s.run("fast")
    s.run("slow")
    assert all(q == "good" for _, _, q in s.ring().values())
    return s


def test_a_down_slave_marks_its_slow_tags_and_only_its_own(site):
    site.link.down = {1}
    site.cycle("fast", 101 * S)
    marked_at = site.now
    site.run("fast", 1)  # a's fast block: the first unanswered request
    ring = site.ring()
    assert ring["A.SLOW"][1:] == (marked_at, "no-communication")
    assert all(ring[n][2] == "no-communication" for n in ("A.FAST", "A.SET", "A.NEXT"))
    assert ring["B.FAST"][2] == "good"
    assert ring["a.comm"][::2] == (0.0, "good")  # health: a Good sample saying "down"


def test_replies_queued_before_the_outage_are_not_stamped_before_it(site):
    site.cycle("slow", 120 * S)  # queued now, read after the slave was marked down
    site.link.down = {1}
    site.cycle("fast", 121 * S)
    site.run("fast", 1)
    marked = site.ring()["A.SLOW"][1]
    assert marked > 121 * S
    site.link.down = set()
    site.run("slow")
    _, ts, quality = site.ring()["A.SLOW"]
    assert quality == "good" and ts > marked  # its arrival, not its tick (120 s)


def test_recovery_reads_the_other_classes_once_per_demote_period(site):
    poller = site.poller
    for second in (101, 103):  # down, then back: the slow block is queued at once
        site.link.down = {1}
        site.cycle("fast", second * S)
        site.run("fast")
        site.link.down = set()
        site.cycle("fast", (second + 1) * S)
        site.run("fast", 1)
        slow = [r.block.tags[0].name for r in poller.pending["slow"]]
        if second == 101:
            assert slow == ["A.SLOW"]
            site.run("slow")
            assert site.ring()["A.SLOW"][2] == "good"
        else:  # flapping within demote_period: no second refresh yet
            assert slow == []
    site.now += 31 * S
    site.cycle("fast", site.now)
    site.run("fast", 1)
    assert [r.block.tags[0].name for r in poller.pending["slow"]] == ["A.SLOW"]


def test_readback_publishes_the_register_it_read_and_nothing_else(site):
    before = site.ring()
    site.cycle("fast", 101 * S)  # a scan of the same register, stamped before the write
    site.now += S // 2
    site.poller.publish_readback(site.tags[2], [0x0001])  # bit 0 written, bit 5 cleared
    ring = site.ring()
    assert ring["A.SET"] == (1.0, site.now, "good")
    assert ring["A.BIT5"] == (0.0, site.now, "good")
    assert ring["A.NEXT"] == before["A.NEXT"]  # same block, not read back
    site.link.words[60] = 0x0001
    readback_at = site.now
    site.run("fast")
    value, ts, quality = site.ring()["A.SET"]
    assert (value, quality) == (1.0, "good")
    assert ts > readback_at  # the scan's reply is stamped on arrival, not at its tick (101 s)
