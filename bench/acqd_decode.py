"""Decode benchmark: one 125-register block of mixed tags, BlockDecoder against a naive loop.

    .venv/bin/python bench/acqd_decode.py [--rounds 20000]

The block holds 87 scalar tags as a flow computer or pump-off controller would: float32 in
CDAB, int32, float64, uint64 in DCBA, uint32 in BADC, scaled int16/uint16 and a status word
split into 16 bit:N tags.  The registers come as a Python list, as pymodbus returns them,
and also as a uint16 ndarray.  The naive baseline is the obvious per-tag loop: slice the
words, reorder them, struct.pack/unpack, scale.  Both decode the same reply in the same
run; the figures are medians of 7 repeats of `rounds` calls (microseconds per block).
Values are checked equal before timing.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from daemons.acqd.decode import BlockDecoder
from daemons.acqd.plan import plan_blocks
from daemons.core.tagmap import TagDef
from daemons.sim.bank import encode

# (type, order, count of tags, scale)
LAYOUT = (("float32", "CDAB", 20, 1.0), ("int32", "ABCD", 10, 0.01),
          ("float64", "ABCD", 4, 1.0), ("uint64", "DCBA", 2, 1.0),
          ("int16", "ABCD", 15, 0.1), ("uint16", "ABCD", 15, 1.0),
          ("uint32", "BADC", 5, 1.0))
CODES = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "int64": "q",
         "uint64": "Q", "float32": "f", "float64": "d"}


def build() -> tuple[list[TagDef], list[int]]:
    tags: list[TagDef] = []
    words: list[int] = []
    for type_, order, n, scale in LAYOUT:
        for i in range(n):
            t = TagDef(f"{type_}_{i}", "dev", 1, "hr", len(words), type_, order=order,
                       scale=scale, offset=1.0, scan="fast")
            tags.append(t)
            words += encode(type_, (i + 1) * 37.25 if "float" in type_ else (i + 1) * 37,
                            order)
    status = len(words)
    tags += [TagDef(f"st_{b}", "dev", 1, "hr", status, "bit", bit=b, scan="fast")
             for b in range(16)]
    words.append(0b1010_0101_1100_0011)
    assert len(words) == 125, len(words)
    return tags, words


def naive(tags: Sequence[TagDef], start: int) -> Callable[[Sequence[int]], list[float]]:
    """The per-tag loop a first implementation writes."""
    def decode(words: Sequence[int]) -> list[float]:
        out = []
        for t in tags:
            o = t.address - start
            if t.type == "bit":
                w = words[o]
                if t.order in ("BADC", "DCBA"):
                    w = ((w & 0xFF) << 8) | (w >> 8)
                out.append(float((w >> t.bit) & 1))
                continue
            part = list(words[o:o + t.registers_per_value])
            if t.order in ("CDAB", "DCBA"):
                part.reverse()
            data = struct.pack(f">{len(part)}H", *part)
            if t.order in ("BADC", "DCBA"):
                data = b"".join(data[i + 1:i + 2] + data[i:i + 1] for i in range(0, len(data), 2))
            raw = struct.unpack(">" + CODES[t.type], data)[0]
            out.append(raw * t.scale + t.offset)
        return out
    return decode


def timed_us(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(7):
        t0 = time.perf_counter_ns()
        for _ in range(rounds):
            fn()
        samples.append((time.perf_counter_ns() - t0) / rounds / 1e3)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20000)
    args = ap.parse_args()
    tags, words = build()
    [block] = plan_blocks(tags, max_gap=0)
    decoder = BlockDecoder(block)
    slow = naive(decoder.scalar_tags, block.start)
    array = np.array(words, dtype=np.uint16)
    eng, _ = decoder.decode(words)
    assert np.allclose(eng, slow(words), rtol=0, atol=0), "decoders disagree"
    assert np.array_equal(decoder.decode(array)[0], eng)

    t0 = time.perf_counter_ns()
    for _ in range(200):
        BlockDecoder(block)
    compile_us = (time.perf_counter_ns() - t0) / 200 / 1e3
    vec_list = timed_us(lambda: decoder.decode(words), args.rounds)
    vec_array = timed_us(lambda: decoder.decode(array), args.rounds)
    to_array = timed_us(lambda: np.asarray(words, dtype=np.uint16), args.rounds)
    loop = timed_us(lambda: slow(words), max(1, args.rounds // 4))
    print(f"block: {block.count} registers, {len(decoder.scalar_tags)} scalar tags")
    print(f"BlockDecoder build (once per plan):      {compile_us:8.1f} us")
    print(f"BlockDecoder.decode(list from pymodbus): {vec_list:8.2f} us/block")
    print(f"BlockDecoder.decode(uint16 ndarray):     {vec_array:8.2f} us/block"
          f"  (+ {to_array:.2f} us for np.asarray(list))")
    print(f"naive per-tag struct loop:               {loop:8.2f} us/block")
    print(f"speed-up (list input):                   {loop / vec_list:8.1f}x")


if __name__ == "__main__":
    main()
