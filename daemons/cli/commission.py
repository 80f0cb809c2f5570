"""`wellgate tagmap check FILE`: read every mapped tag once from the live devices.

A technician sees a wrong word order or address (a pressure of 1.2e-38 psi, a quality of
device-failure) before applying the map, not after the operators do.  Reads use acqd's
planner, drivers and decoder, so a map that checks clean here polls the same way in acqd.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from daemons.acqd.decode import Gather, decode_tag
from daemons.acqd.drivers import ExceptionResponse, Link, ModbusError, NoResponse, open_link
from daemons.acqd.plan import Block, plan_blocks
from daemons.acqd.plan import default_gap as plan_gap
from daemons.core.config import GatewayConfig
from daemons.core.tagmap import TagDef


@dataclass(frozen=True)
class Checked:
    tag: TagDef
    value: float | str | np.ndarray | None
    quality: str  # good | no-communication | device-failure (NN) | frame-error

    @property
    def ok(self) -> bool:
        return self.quality == "good"


async def _read_block(link: Link, block: Block, timeout: float, attempts: int) -> list[int]:
    last: ModbusError | None = None
    for _ in range(attempts):
        try:
            return await link.read(block.unit, block.table, block.start, block.count,
                                   timeout=timeout)
        except ExceptionResponse:
            raise
        except ModbusError as exc:
            last = exc
    assert last is not None
    raise last


def _describe(exc: ModbusError) -> str:
    if isinstance(exc, ExceptionResponse):
        return f"device-failure ({exc.code:02d})"
    if isinstance(exc, NoResponse):
        return "no-communication"
    return "frame-error"


async def check_tags(cfg: GatewayConfig, tags: Sequence[TagDef]) -> list[Checked]:
    """One read of every tag; results in the order of `tags`."""
    results: dict[str, Checked] = {}
    by_device: dict[str, list[TagDef]] = defaultdict(list)
    for t in tags:
        by_device[t.device].append(t)
    for name, dev_tags in by_device.items():
        device = cfg.devices[name]
        link = open_link(device)
        gather = Gather()
        try:
            blocks = plan_blocks(dev_tags, max_registers=device.max_registers,
                                 max_bits=device.max_bits, max_gap=plan_gap(device))
            for block in blocks:
                try:
                    words = await _read_block(link, block, device.timeout, 1 + device.retries)
                except ModbusError as exc:
                    for t in (*block.tags, *(s.tag for s in block.segments)):
                        results[t.name] = Checked(t, None, _describe(exc))
                    continue
                for t in block.tags:
                    off = block.offset(t)
                    results[t.name] = Checked(t, decode_tag(t, words[off:off + t.total_registers]),
                                              "good")
                for seg in block.segments:
                    part = words[seg.block_offset:seg.block_offset + seg.length]
                    whole = gather.add(seg, part, 0)
                    if whole is not None and seg.tag.name not in results:
                        results[seg.tag.name] = Checked(seg.tag, decode_tag(seg.tag, whole),
                                                        "good")
        finally:
            await link.close()
    return [results.get(t.name, Checked(t, None, "no-communication")) for t in tags]


def format_value(value: float | str | np.ndarray | tuple | None, width: int = 24) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, tuple):
        text = " | ".join(value)
    elif isinstance(value, np.ndarray):
        head = " ".join(f"{v:g}" for v in value[:3])
        text = f"[{len(value)}] {head}{' …' if len(value) > 3 else ''}"
    else:
        text = f"{value:.7g}"
    return text if len(text) <= width else text[: width - 1] + "…"
