"""Modbus RTU slaves on a simulated RS-485 bus (a socat pty pair), with real line timing.

Framing (Modbus over Serial Line V1.02, modbus.org 2006, §2.5.1): a frame is unit, PDU,
CRC-16/MODBUS (polynomial 0xA001 reflected, initial 0xFFFF, low byte first).  A pty
delivers bytes in arbitrary chunks and garbage may precede a frame, so frames are found by
the function code's expected length and a matching CRC, dropping bytes to resync.

Line model.  A pty moves bytes instantly; a cable does not.  Every byte occupies the line
for one character time, bits_per_char / baud, with bits_per_char = 1 start + 8 data +
(1 parity unless "N") + stop bits (§2.5.1: 11 bits for 8E1/8O1/8N2, 10 for 8N1).  So:
  1. a request byte that reaches the pty at t starts on the line at max(t, line free) and
     ends one character later; the request is complete when its last byte has ended;
  2. the slave notices the end of frame after the silent interval t3.5 (3.5 characters,
     fixed 1.75 ms above 19,200 baud, §2.5.1.1) and then waits its turnaround time
     (per device, default 10 ms; plus any injected `slow` delay);
  3. the reply is written in small chunks, each only once its characters would have
     finished on the line, so the last byte leaves no earlier than the reply's frame time;
  4. the line is then silent for t3.5 before the next request can start.
So a master measuring bus time through the simulator measures physical bus time: a
125-register read at 19,200 8N1 costs (8 + 255) × 10 / 19,200 + 2 × t3.5 + 10 ms ≈ 151 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from daemons.sim import pdu as modbus
from daemons.sim.bank import RegisterBank
from daemons.sim.faults import FaultBoard
from daemons.sim.ptypair import PtyPair

log = logging.getLogger(__name__)

MAX_FRAME = 256  # serial line ADU limit (§2.5.1)
MAX_BUFFER = 1024
PACE_S = 0.002  # reply pacing granularity: fine enough for a 1 ms-scale model


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


CRC_TABLE = _crc_table()


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/MODBUS (Modbus over Serial Line V1.02, §6.2.2)."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def with_crc(frame: bytes) -> bytes:
    return frame + crc16(frame).to_bytes(2, "little")


@dataclass(frozen=True, slots=True)
class LineSettings:
    """Serial line parameters; Modbus RTU always uses 8 data bits."""

    baud: int = 19200
    parity: str = "N"
    stop_bits: int = 1

    @property
    def bits_per_char(self) -> int:
        return 1 + 8 + (0 if self.parity == "N" else 1) + self.stop_bits

    @property
    def char_s(self) -> float:
        return self.bits_per_char / self.baud

    @property
    def silent_s(self) -> float:
        """t3.5: 3.5 characters, fixed 1.75 ms above 19,200 baud (§2.5.1.1)."""
        return 3.5 * self.char_s if self.baud <= 19200 else 0.00175

    def frame_s(self, nbytes: int) -> float:
        return nbytes * self.char_s


@dataclass(frozen=True, slots=True)
class Slave:
    """One simulated device answering at `unit` (on a bus or behind a TCP port)."""

    name: str
    unit: int
    bank: RegisterBank
    identity: modbus.Identity
    turnaround_s: float = 0.010


def expected_length(buf: bytes | bytearray, i: int) -> int | None:
    """Length of the request frame starting at buf[i]: None = need more bytes, 0 = unknown."""
    avail = len(buf) - i
    if avail < 2:
        return None
    fc = buf[i + 1]
    if fc in (1, 2, 3, 4, 5, 6):
        return 8
    if fc in (15, 16):
        return 9 + buf[i + 6] if avail >= 7 else None
    if fc == 23:
        return 13 + buf[i + 10] if avail >= 11 else None
    if fc == 43:
        return 7
    return 0  # fc 8 (any echo length) and unknown codes: found by CRC alone


class RtuFramer:
    """Bytes from the pty -> request frames, with the line time at which each one ended."""

    def __init__(self, line: LineSettings) -> None:
        self.line = line
        self._buf = bytearray()
        self._ends: list[float] = []
        self._line_free = 0.0

    def __len__(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes, now: float) -> None:
        start = max(now, self._line_free)
        char = self.line.char_s
        self._buf += data
        self._ends.extend(start + (k + 1) * char for k in range(len(data)))
        self._line_free = self._ends[-1]
        if len(self._buf) > MAX_BUFFER:
            self._drop(len(self._buf) - MAX_BUFFER // 2)

    def occupy(self, until: float) -> None:
        """The slave's own transmission keeps the line busy until `until`."""
        self._line_free = max(self._line_free, until)

    def drop_stale(self) -> None:
        """Nothing more arrived: the first byte cannot start a frame; resync past it."""
        self._drop(1)

    def _drop(self, n: int) -> None:
        del self._buf[:n]
        del self._ends[:n]

    def _crc_scan(self, i: int) -> int:
        """Length of the shortest CRC-valid frame starting at i (0 if none yet)."""
        buf = self._buf
        crc = 0xFFFF
        limit = min(len(buf), i + MAX_FRAME)
        for j in range(i, limit - 2):
            crc = (crc >> 8) ^ CRC_TABLE[(crc ^ buf[j]) & 0xFF]
            length = j + 1 - i
            if length >= 2 and buf[j + 1] == crc & 0xFF and buf[j + 2] == crc >> 8:
                return length + 2
        return 0

    def next_frame(self) -> tuple[bytes, float] | None:
        """The next complete, CRC-valid frame (and its end time), dropping garbage before it.

        Start positions are tried in order; a candidate that still needs bytes is kept
        (it may be a frame split across reads) unless a complete valid frame follows it,
        which proves it was garbage: a master sends nothing while a request is pending.
        """
        buf = self._buf
        keep_from: int | None = None
        for i in range(len(buf) - 1):
            length = expected_length(buf, i)
            if length is None or length > len(buf) - i:
                keep_from = i if keep_from is None else keep_from
                continue
            if length == 0:
                length = self._crc_scan(i)
                if length == 0:
                    keep_from = i if keep_from is None else keep_from
                    continue
            elif crc16(memoryview(buf)[i : i + length]) != 0:
                continue  # a CRC over data+CRC is 0 when they match
            frame = bytes(buf[i : i + length])
            end = self._ends[i + length - 1]
            self._drop(i + length)
            return frame, end
        # Keep what could still become a frame; the last lone byte may be a unit id.
        self._drop(keep_from if keep_from is not None else max(0, len(buf) - 1))
        return None


async def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


class RtuBus:
    """The slaves of one RS-485 bus, served on a pty pair with the line model above."""

    def __init__(self, name: str, pair: PtyPair, line: LineSettings, slaves: Sequence[Slave],
                 faults: FaultBoard, *, idle_s: float = 0.1) -> None:
        self.name = name
        self.pair = pair
        self.line = line
        self.slaves = {s.unit: s for s in slaves}
        self.faults = faults
        self.idle_s = idle_s  # a partial frame older than this is garbage
        self.served: Counter[str] = Counter()
        self._fd: int | None = None
        self._framer = RtuFramer(line)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self._fd is not None

    async def start(self) -> None:
        """Create the pty pair and serve (also used to bring a dead bus back)."""
        if self._fd is not None:
            return
        await self._cancel()
        fd = self.pair.open()
        self._fd = fd
        self._framer = RtuFramer(self.line)
        asyncio.get_running_loop().add_reader(fd, self._on_readable)
        self._task = asyncio.create_task(self._serve(), name=f"rtu-{self.name}")

    async def stop(self) -> None:
        """Stop serving and remove the pty pair (a pulled cable, or shutdown)."""
        await self._cancel()
        self._detach()
        self.pair.close()

    async def _cancel(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _detach(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            asyncio.get_running_loop().remove_reader(fd)

    def _on_readable(self) -> None:
        if self._fd is None:
            return
        try:
            data = os.read(self._fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            # Our end only fails if socat died: the bus stays down until restarted.
            log.warning("rtu bus %s: pty closed under us", self.name)
            self._detach()
            return
        self._framer.feed(data, time.monotonic())
        self._wake.set()

    async def _serve(self) -> None:
        while True:
            found = self._framer.next_frame()
            if found is None:
                self._wake.clear()
                timeout = self.idle_s if len(self._framer) else None
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except TimeoutError:
                    self._framer.drop_stale()
                continue
            frame, end = found
            try:
                await self._answer(frame, end)
            except OSError as exc:
                log.warning("rtu bus %s: write failed: %s", self.name, exc)
            except Exception:  # one bad request must not leave the bus deaf
                log.exception("rtu bus %s: request %s failed", self.name, frame.hex())

    async def _answer(self, frame: bytes, end: float) -> None:
        unit, request = frame[0], frame[1:-2]
        received = end + self.line.silent_s
        now = time.time()
        if unit == 0:
            # Broadcast: every slave executes a write, none answers (serial line §2.1).
            await _sleep_until(received)
            if modbus.is_broadcastable(request):
                for slave in self.slaves.values():
                    decision = self.faults.decide(slave.name, modbus.spans(request), now)
                    if not decision.drop and decision.exception_code is None:
                        modbus.process(slave.bank, request, slave.identity)
                        self.served[slave.name] += 1
            return
        slave = self.slaves.get(unit)
        if slave is None:
            return  # another unit's request: real slaves stay silent
        decision = self.faults.decide(slave.name, modbus.spans(request), now)
        await _sleep_until(received)
        if decision.drop:
            return
        if decision.exception_code is not None:
            reply = modbus.exception_pdu(request[0], decision.exception_code)
        else:
            reply = modbus.process(slave.bank, request, slave.identity)
        out = with_crc(bytes((unit,)) + reply)
        if decision.corrupt_crc:
            out = out[:-2] + bytes((out[-2] ^ 0xFF, out[-1] ^ 0xFF))
        self.served[slave.name] += 1
        await self._transmit(decision.garbage + out,
                             received + slave.turnaround_s + decision.delay_s)

    async def _transmit(self, data: bytes, start: float) -> None:
        await _sleep_until(start)
        t0 = max(start, time.monotonic())
        char = self.line.char_s
        chunk = max(1, round(PACE_S / char))
        sent = 0
        while sent < len(data):
            due = min(len(data), int((time.monotonic() - t0) / char))
            if due > sent:
                if self._fd is None:
                    return
                sent += self._write(data[sent:due])
            if sent < len(data):
                await _sleep_until(t0 + min(len(data), sent + chunk) * char)
        self._framer.occupy(t0 + len(data) * char + self.line.silent_s)

    def _write(self, data: bytes) -> int:
        assert self._fd is not None
        try:
            return os.write(self._fd, data)
        except BlockingIOError:
            return 0  # pty buffer full: the rest goes in the next chunk
