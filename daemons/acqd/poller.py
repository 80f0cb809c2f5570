"""One task per bus: every slave on a serial port (or behind one TCP host:port) in turn.

The field's worst complaint about other gateways is one dead slave freezing a shared
RS-485 bus.  Here a slave that stops answering for `demote_after` consecutive cycles is
demoted: skipped until `demote_period` has passed, then probed with a single request.
So a dead slave costs the bus at most one timeout per demotion period, and the others
keep their scan rate.

Requests are executed one at a time; between requests the fastest scan class that has a
cycle pending goes first.  A slow class (e.g. dynamometer cards, several hundred
registers in a few blocks) is therefore interleaved with the 1 Hz scan, which slips by
at most one request.

An operator must never see Good from a device known to be down: when a slave is declared
down (its first unanswered request) or demoted, every tag it has, in every scan class,
goes Bad at once, not at its own next scan.  When it answers again, its other blocks are
read at once (at most once per `demote_period`) instead of waiting for their own scan.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from daemons.acqd.decode import BlockDecoder, Gather, decode_tag
from daemons.acqd.drivers.base import (
    ExceptionResponse,
    FrameError,
    Link,
    NoResponse,
)
from daemons.acqd.health import SlaveHealth
from daemons.acqd.output import RingOutput
from daemons.acqd.plan import Block, Planner
from daemons.acqd.scheduler import ScanClock
from daemons.core.config import DeviceConfig
from daemons.core.quality import Quality
from daemons.core.tagmap import TagDef

GOOD = int(Quality.GOOD)
NO_COMM = int(Quality.BAD_NO_COMMUNICATION)
DEVICE_FAILURE = int(Quality.BAD_DEVICE_FAILURE)
CONFIG_ERROR = int(Quality.BAD_CONFIG_ERROR)
ILLEGAL_ADDRESS = 2


@dataclass
class Slave:
    """One (device, unit) on the bus and its polling state."""

    device: DeviceConfig
    unit: int
    blocks: dict[str, list[Block]]  # scan class -> planned reads
    health: SlaveHealth
    failed_cycles: int = 0  # consecutive cycles without any answer
    demoted_until_ns: int = 0
    last_failed_tick: int = -1
    # A controller's "new card" counter (role card_sequence): when it changes, this
    # slave's array blocks are read at once instead of waiting for their scan.
    last_sequence: float | None = None
    # Samples are stamped with their scan tick, but a reply to a request queued before
    # the slave was marked down (or before a write's read-back was published) would then
    # be older than what the ring already shows: such replies take their arrival time.
    not_before_ns: int = 0
    # Tags marked Bad while down and not all read since: read the slave's blocks at its
    # next answer, no earlier than `next_refresh_ns` (a flapping slave must not make its
    # slow blocks a fast scan).
    refresh_due: bool = False
    next_refresh_ns: int = 0

    @property
    def key(self) -> str:
        return f"{self.device.name}/{self.unit}"

    def all_blocks(self) -> list[Block]:
        return [b for blocks in self.blocks.values() for b in blocks]

    def array_blocks(self) -> list[Block]:
        return [b for b in self.all_blocks() if b.segments or any(t.is_array for t in b.tags)]


@dataclass
class Request:
    slave: Slave
    block: Block
    tick_ns: int
    probe: bool = False  # a demoted slave's single probe (no retries)


@dataclass
class BusStats:
    requests: int = 0
    cpu_s: float = 0.0
    cycles: dict[str, int] = field(default_factory=dict)


class BusPoller:
    def __init__(self, name: str, link: Link, slaves: Sequence[Slave],
                 clocks: Sequence[ScanClock], planner: Planner, output: RingOutput,
                 availability: object, *, clock: Callable[[], int] = time.time_ns) -> None:
        self.name = name
        self.link = link
        self.slaves = list(slaves)
        self.clocks = sorted(clocks, key=lambda c: c.priority)
        self.planner = planner
        self.output = output
        self.availability = availability
        self.clock = clock
        self.pending: dict[str, deque[Request]] = {c.name: deque() for c in self.clocks}
        # id(block) -> (block, decoder, slots of its scalar tags); holding the block keeps
        # its id from being reused while the entry exists.
        self._prepared: dict[int, tuple[Block, BlockDecoder, np.ndarray]] = {}
        self.gather = Gather()  # arrays too big for one request, joined per scan tick
        # id(block) -> name of its card_sequence tag, for blocks that carry one
        self._sequence_tag = {id(b): t.name for sl in self.slaves
                              for blocks in sl.blocks.values() for b in blocks
                              for t in b.tags if t.role == "card_sequence"}
        self.stats = BusStats()
        self.commands: asyncio.Queue = asyncio.Queue()
        self._wake = asyncio.Event()

    # --- scheduling -------------------------------------------------------------------
    def _cycle(self, scan: str, tick_ns: int) -> deque[Request]:
        now = self.clock()
        queue: deque[Request] = deque()
        for slave in self.slaves:
            blocks = slave.blocks.get(scan, [])
            if not blocks:
                continue
            if slave.demoted_until_ns:
                if now < slave.demoted_until_ns:
                    for block in blocks:  # still down: keep them Bad, cost the bus nothing
                        self._mark(block, self._stamp(slave, tick_ns), NO_COMM)
                    continue
                queue.append(Request(slave, blocks[0], tick_ns, probe=True))
                continue
            for b in blocks:
                if self.planner.is_bad(b):  # refused by the device: retried every 10 min
                    self._mark(b, self._stamp(slave, tick_ns), CONFIG_ERROR)
                else:
                    queue.append(Request(slave, b, tick_ns))
        self.stats.cycles[scan] = self.stats.cycles.get(scan, 0) + 1
        return queue

    def _next_request(self) -> Request | None:
        now = self.clock()
        for c in self.clocks:
            tick = c.poll(now, busy=bool(self.pending[c.name]))
            if tick is not None:
                self.pending[c.name] = self._cycle(c.name, tick)
        for c in self.clocks:
            if self.pending[c.name]:
                return self.pending[c.name].popleft()
        return None

    async def run(self) -> None:
        now = self.clock()
        for c in self.clocks:
            c.start(now)
        while True:
            if not self.commands.empty():
                await self._serve_command(self.commands.get_nowait())
                continue
            request = self._next_request()
            if request is None:
                wait_ns = min(c.next_ns for c in self.clocks) - self.clock()
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), max(0.0, wait_ns / 1e9))
                except TimeoutError:
                    pass
                continue
            await self._execute(request)

    # --- one request ------------------------------------------------------------------
    async def _read(self, slave: Slave, block: Block, attempts: int) -> list[int]:
        last: Exception | None = None
        for _ in range(attempts):
            try:
                return await self.link.read(slave.unit, block.table, block.start, block.count,
                                            timeout=slave.device.timeout)
            except FrameError as exc:
                slave.health.crc_errors += 1
                last = exc
            except NoResponse as exc:
                slave.health.timeouts += 1
                last = exc
        assert last is not None
        raise last

    async def _execute(self, req: Request) -> None:
        slave, block = req.slave, req.block
        attempts = 1 if req.probe else 1 + slave.device.retries
        self.stats.requests += 1
        # CPU is timed from the reply on: process time over the await would also count
        # every other bus's work done while this one waited.
        cpu0 = None
        try:
            try:
                registers = await self._read(slave, block, attempts)
                cpu0 = time.process_time()
            except ExceptionResponse as exc:
                slave.health.exceptions += 1
                if exc.no_communication:  # 0x0A/0x0B: a serial gateway found no slave
                    self._no_answer(req, exc)
                    return
                self._answered(slave, req)
                if exc.code == ILLEGAL_ADDRESS:
                    self._split(req)
                else:
                    self._mark(block, self._stamp(slave, req.tick_ns), DEVICE_FAILURE)
                return
            except (NoResponse, FrameError) as exc:
                self._no_answer(req, exc)
                return
            self._answered(slave, req)
            slave.health.success += 1
            last = self.link.stats.last_response_s
            slave.health.response_ms = float("nan") if last is None else last * 1000.0
            self._deliver(slave, block, registers, req.tick_ns)
        finally:
            cpu0 = time.process_time() if cpu0 is None else cpu0
            self.output.health(slave.health, self._stamp(slave, req.tick_ns))
            self.stats.cpu_s += time.process_time() - cpu0

    def _prepare(self, block: Block) -> tuple[Block, BlockDecoder, np.ndarray]:
        found = self._prepared.get(id(block))
        if found is None:
            decoder = BlockDecoder(block)
            found = (block, decoder, self.output.slots(decoder.scalar_tags))
            self._prepared[id(block)] = found
        return found

    def _stamp(self, slave: Slave, tick_ns: int) -> int:
        """A sample's time: its scan tick, or its arrival time when the tick is older than
        what the ring already shows for the slave (see `Slave.not_before_ns`)."""
        return tick_ns if tick_ns >= slave.not_before_ns else max(self.clock(),
                                                                  slave.not_before_ns)

    def _deliver(self, slave: Slave, block: Block, registers: list[int],
                 tick_ns: int) -> None:
        _, decoder, slots = self._prepare(block)
        self._publish(slave, decoder, slots, registers, tick_ns)

    def _publish(self, slave: Slave, decoder: BlockDecoder, slots: np.ndarray,
                 registers: list[int], tick_ns: int) -> None:
        """Decode a reply and stage its values: polled blocks and read-backs alike."""
        ts_ns = self._stamp(slave, tick_ns)
        if decoder.scalar_tags:
            eng, raw = decoder.decode(registers)
            self.output.good(slots, eng, ts_ns, raw)
            trigger = decoder.index.get(self._sequence_tag.get(id(decoder.block), ""))
            if trigger is not None:
                self._new_card(slave, float(eng[trigger]), tick_ns)
        for tag, values in decoder.arrays(registers):
            self.output.array(tag, values, ts_ns, GOOD)
        for tag, text in decoder.strings(registers):
            self._text(tag, text, ts_ns)
        for segment, words in decoder.parts(registers):
            whole = self.gather.add(segment, words, tick_ns)  # pieces join by scan tick
            if whole is None:
                continue
            value = decode_tag(segment.tag, whole)
            if isinstance(value, np.ndarray):
                self.output.array(segment.tag, value, ts_ns, GOOD)
            else:
                self._text(segment.tag, "\n".join(value) if isinstance(value, tuple)
                           else str(value), ts_ns)

    def _new_card(self, slave: Slave, sequence: float, tick_ns: int) -> None:
        """Queue the slave's card blocks when the controller's card counter moves.

        They go to their own scan class's queue, so the fast scan still goes first and
        slips by at most one request; a block already queued is not queued twice.
        """
        previous, slave.last_sequence = slave.last_sequence, sequence
        if previous is None or previous == sequence:
            return
        for block in slave.array_blocks():
            queue = self.pending[block.scan]
            if not any(r.block is block for r in queue):
                queue.append(Request(slave, block, tick_ns))

    def _text(self, tag: TagDef, text: str, tick_ns: int) -> None:
        """Strings travel in an array slot as character codes (the ring holds numbers)."""
        codes = np.frombuffer(text.encode("latin-1", "replace"), dtype=np.uint8)
        self.output.array(tag, codes.astype(np.float64), tick_ns, GOOD)

    def _mark(self, block: Block, tick_ns: int, quality: int) -> None:
        _, decoder, slots = self._prepare(block)
        if decoder.scalar_tags:
            self.output.bad(slots, tick_ns, quality)
        whole = [t for t in block.tags if t.is_array or t.type == "string"]
        for t in whole + [seg.tag for seg in block.segments]:
            self.gather.discard(t)
            self.output.array_quality(t, tick_ns, quality)

    def _split(self, req: Request) -> None:
        parts = [b for b in self.planner.split(req.block) if not b.empty]
        if not parts:  # one tag the device refuses: a tag-map error, retried later
            self._mark(req.block, self._stamp(req.slave, req.tick_ns), CONFIG_ERROR)
            return
        slave = req.slave
        sequence = self._sequence_tag.get(id(req.block))
        if sequence is not None:
            for b in parts:
                if any(t.name == sequence for t in b.tags):
                    self._sequence_tag[id(b)] = sequence
        blocks = slave.blocks.get(req.block.scan, [])
        if req.block in blocks:
            i = blocks.index(req.block)
            slave.blocks[req.block.scan] = blocks[:i] + parts + blocks[i + 1:]
        # Read the parts in this same cycle so their tags are not a scan late.
        self.pending[req.block.scan].extendleft(
            Request(slave, b, req.tick_ns) for b in reversed(parts))

    def _answered(self, slave: Slave, req: Request | None = None) -> None:
        slave.failed_cycles = 0
        slave.health.comm = True
        if slave.demoted_until_ns or slave.health.demoted:
            slave.demoted_until_ns = 0
            slave.health.demoted = False
        self.availability.ok(slave.key)
        if slave.refresh_due and req is not None:
            self._refresh(slave, req)

    def _no_answer(self, req: Request, exc: Exception) -> None:
        slave = req.slave
        self._mark(req.block, self._stamp(slave, req.tick_ns), NO_COMM)
        slave.health.comm = False
        # The first failure since the slave last answered declares it down ("slave
        # unavailable" in the log): from then on none of its tags may show Good.
        down = self.availability.failed(slave.key, exc)
        # Count a failed *cycle* once per tick, not once per block.
        if slave.last_failed_tick != req.tick_ns:
            slave.last_failed_tick = req.tick_ns
            slave.failed_cycles += 1
        if req.probe or slave.failed_cycles >= slave.device.demote_after:
            if not slave.health.demoted:
                slave.health.demotions += 1
            slave.health.demoted = True
            slave.demoted_until_ns = self.clock() + int(slave.device.demote_period * 1e9)
            # Drop the rest of this slave's cycle: it would only cost more timeouts.
            for queue in self.pending.values():
                for other in [r for r in queue if r.slave is slave]:
                    queue.remove(other)
            down = True
        if down:
            self._mark_slave(slave)

    def _mark_slave(self, slave: Slave) -> None:
        """Every tag of a slave that is down goes Bad no-communication now, in every scan
        class (a slow class's tags would otherwise show Good until their own next scan).
        Tags the device refused (config-error) keep saying why they are Bad."""
        now = self.clock()
        slave.not_before_ns = max(slave.not_before_ns, now)
        slave.refresh_due = True
        for block in slave.all_blocks():
            if not self.planner.is_bad(block):
                self._mark(block, now, NO_COMM)

    def _refresh(self, slave: Slave, req: Request) -> None:
        """A slave answers again after its tags were marked down: read its other blocks in
        this cycle (each in its own class's queue, so the fast scan still goes first), so a
        slow class's tags are not Bad until their own next scan.  At most once per
        `demote_period`, so a flapping slave does not turn its slow blocks into a fast scan;
        until then `refresh_due` stays set and a later answer does it."""
        now = self.clock()
        if now < slave.next_refresh_ns:
            return
        slave.refresh_due = False
        slave.next_refresh_ns = now + int(slave.device.demote_period * 1e9)
        for scan, blocks in slave.blocks.items():
            queue = self.pending[scan]
            queued = {id(r.block) for r in queue}
            for block in blocks:
                if block is req.block or id(block) in queued or self.planner.is_bad(block):
                    continue
                queue.append(Request(slave, block, req.tick_ns))

    # --- a write's read-back: published like a polled value ---------------------------
    def publish_readback(self, tag: TagDef, registers: Sequence[int]) -> None:
        """Publish what a confirmed write read back, now, through the same decoding and
        staging as a polled block (identical scaling and quality), instead of leaving the
        old value in the ring until the tag's next scan.

        The read-back covers the tag's own registers only: every scalar tag wholly inside
        them is published (the other bit:N tags of a register written bit-wise, whose bits
        were kept); tags elsewhere in the tag's block were not read and keep their sample.
        """
        slave = next((s for s in self.slaves if s.device.name == tag.device
                      and s.unit == tag.unit), None)
        if slave is None:  # the map changed meanwhile: nothing of it is polled here
            return
        covered = {t.name: t for b in slave.all_blocks() for t in b.tags
                   if t.table == tag.table and t.count == 1 and t.type != "string"
                   and tag.address <= t.address and t.end_address <= tag.end_address}
        covered.setdefault(tag.name, tag)
        block = Block(tag.device, tag.unit, tag.table, tag.address, tag.total_registers,
                      tuple(sorted(covered.values(), key=lambda t: (t.address, t.name))),
                      tag.scan)
        decoder = BlockDecoder(block)
        now = self.clock()
        # A scan reply queued before now must not overwrite the read-back with an older time.
        slave.not_before_ns = max(slave.not_before_ns, now)
        self._publish(slave, decoder, self.output.slots(decoder.scalar_tags),
                      list(registers), now)
        if not self.availability.is_available(slave.key) or slave.health.demoted:
            # The device just answered a write and its read-back: it is not down.
            self._answered(slave)
            self.output.health(slave.health, now)

    # --- commands (writes and their read-back), served between scan requests ---------
    async def _serve_command(self, item: tuple) -> None:
        kind, unit, table, address, payload, timeout, future = item
        try:
            if kind == "write":
                result = await self.link.write(unit, table, address, payload, timeout=timeout)
            else:
                result = await self.link.read(unit, table, address, payload, timeout=timeout)
        except Exception as exc:  # reported to the caller, never fatal to the bus
            if not future.done():
                future.set_exception(exc)
        else:
            if not future.done():
                future.set_result(result)

    def submit(self, kind: str, unit: int, table: str, address: int,
               payload: Sequence[int] | int, timeout: float) -> asyncio.Future:
        """Queue a write (payload = registers/bits) or read (payload = count) ahead of the
        scan; the future resolves with the read values (or None for a write)."""
        future = asyncio.get_running_loop().create_future()
        self.commands.put_nowait((kind, unit, table, address, payload, timeout, future))
        self._wake.set()
        return future
