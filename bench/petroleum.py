"""Benchmark: downhole cards per second on one core (200-point surface card, 3 tapers).

Run:  .venv/bin/python bench/petroleum.py [--seconds 2]

Target (issue 5): >= 1,000 cards/s.  Prints the numpy engine and the numba engine side by
side (`downhole_card(engine=...)`; "auto" picks numba when it is installed, the `fast`
extra).  The numba column reads "not installed" without numba.  The kernel's one-off
compile (or load from numba's on-disk cache) is timed separately and excluded from the
rates.  Also prints fillage and kill-sheet throughput, since calcd runs them on every card.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable

import numpy as np

from daemons.petroleum import rodpump as rp
from daemons.petroleum import wellcontrol as wc

TAPERS = (
    rp.RodTaper.steel(2000.0, 1.0),
    rp.RodTaper.steel(2200.0, 0.875),
    rp.RodTaper.steel(2300.0, 0.75),
)


def _card(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A conventional-unit-like surface card: 100-in stroke, fluid load picked up and
    released, a little noise."""
    ph = 2.0 * math.pi * np.arange(n) / n
    pos = 50.0 * (1.0 - np.cos(ph)) + 4.0 * np.sin(2.0 * ph)
    load = 9000.0 + 5000.0 * np.tanh(4.0 * np.sin(ph)) + 800.0 * np.sin(3.0 * ph)
    load += np.random.default_rng(1).normal(0.0, 30.0, n)
    return pos, load


def _rate(fn: Callable[[], object], seconds: float) -> float:
    fn()  # warm up
    count, start = 0, time.perf_counter()
    while True:
        for _ in range(50):
            fn()
        count += 50
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed


def _card_fn(pos: np.ndarray, load: np.ndarray, spm: float, engine: str
             ) -> Callable[[], object]:
    return lambda: rp.downhole_card(surface_position=pos, surface_load=load, spm=spm,
                                    rods=TAPERS, damping=0.1, engine=engine)


def _rodpump_numba_cached() -> bool:
    from daemons.petroleum import _rodpump_numba

    return _rodpump_numba.kernel().cached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per figure")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as calcd
    pos, load = _card()
    print(f"downhole_card: 200 points, 3 tapers ({sum(t.length_ft for t in TAPERS):.0f} ft),"
          f" target >= 1,000 cards/s, {args.seconds:g} s per figure, one core")
    engines = ("numpy", "numba") if rp.NUMBA_AVAILABLE else ("numpy",)
    if rp.NUMBA_AVAILABLE:
        start = time.perf_counter()
        _card_fn(pos, load, 8.0, "numba")()
        cached = _rodpump_numba_cached()
        print(f"numba first call (compile{' or cache load' if cached else ', in memory'}):"
              f" {time.perf_counter() - start:.2f} s")
    print(f"{'spm':>5} {'numpy cards/s':>14} {'numba cards/s':>14} {'speed-up':>9}")
    for spm in (4.0, 8.0, 12.0):
        rates = {e: _rate(_card_fn(pos, load, spm, e), args.seconds) for e in engines}
        if "numba" in rates:
            print(f"{spm:5.1f} {rates['numpy']:14,.0f} {rates['numba']:14,.0f}"
                  f" {rates['numba'] / rates['numpy']:8.1f}x")
        else:
            print(f"{spm:5.1f} {rates['numpy']:14,.0f} {'not installed':>14} {'-':>9}")
    card = rp.downhole_card(surface_position=pos, surface_load=load, spm=8.0, rods=TAPERS)
    rate = _rate(lambda: rp.fillage(pump_position=card.position, pump_load=card.load),
                 args.seconds)
    print(f"fillage: {rate:,.0f} cards/s")
    rate = _rate(lambda: wc.kill_sheet(omw=10.0, sidpp=520.0, tvd=10000.0, scr=800.0,
                                       pump_output=0.1,
                                       drillstring=[(9500.0, 0.01776), (500.0, 0.0077)]),
                 args.seconds)
    print(f"kill_sheet: {rate:,.0f} sheets/s")


if __name__ == "__main__":
    main()
