"""numba kernel for `rodpump.downhole_card`: the Everitt–Jennings march as plain loops.

Optional: importing this module imports numba, so `rodpump` imports it inside
try/except and falls back to its numpy path when numba (or llvmlite) is missing.  The
recurrence, its coefficients and the order of every floating-point operation are the
numpy path's (`rodpump._march_taper`), so both give the same card to rounding (tests
demand 1e-9 relative; in practice they agree bit for bit or to a few ulps).  Why a
kernel at all: the numpy path spends most of its time in ~100 small array operations per
taper (Python and numpy call overhead on 200-element arrays); plain loops over the same
arithmetic march about 6× faster, about 2× for the whole `downhole_card` call, whose
argument checks both engines share (bench/petroleum.py prints both engines).

Source of the recurrence (see rodpump.py and docs/petroleum/rodpump.md): Everitt, T.A. &
Jennings, J.W., SPE 18189, SPE Production Engineering, Feb. 1992, with the central-
difference damping velocity and ghost-node Hooke's law at each taper's ends:

    u[i+1,j] = 2u[i,j] − u[i−1,j] + ρ² ((1+k) u[i,j+1] − 2u[i,j] + (1−k) u[i,j−1])

Compilation (PITFALLS.md, "systemd, PyInstaller, numba"): the kernel is compiled on first
use by a `functools.cache`d factory, not at import, so importing rodpump never pays for
it.  `cache=True` is used only when numba can find a writable cache directory (its own
locators test that by creating the directory and a temporary file in it); when none is
usable — a read-only image, or a frozen build with no source file beside the bytecode —
numba refuses `cache=True` with RuntimeError and the kernel is compiled in memory instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

# Columns of the per-taper coefficient table handed to the kernel (one row per taper,
# top first): space step h (ft), EA (lbf), and the recurrence weights ρ²(1+k), 2−2ρ²,
# ρ²(1−k) of u[j+1], u[j], u[j−1].
COLUMNS = ("h", "ea", "cp", "c0", "cm")

# One explicit signature: compiled once, eagerly, inside the factory (so the cost falls
# on the first call and nowhere else), and no re-specialisation on odd array layouts.
_SIGNATURE = "Tuple((float64[::1], float64[::1]))(float64[::1], float64[::1], int64[::1], float64[:, ::1])"  # noqa: E501


def _march(
    w0: np.ndarray, t0: np.ndarray, steps: np.ndarray, coef: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Carry (displacement ft upward, tension lbf) from the polished rod to the pump.

    Same arithmetic, in the same order, as `rodpump._march_taper` applied taper after
    taper; j ± 1 wraps around because the card is periodic in time.
    """
    n = w0.size
    prev = np.empty(n)
    cur = w0.copy()
    nxt = np.empty(n)
    ten = t0.copy()
    for k in range(steps.size):
        h, ea, cp, c0, cm = coef[k, 0], coef[k, 1], coef[k, 2], coef[k, 3], coef[k, 4]
        # Ghost node above the top (central Hooke's law): u[1] = ½·op(u[0]) − h·T/EA.
        for j in range(n):
            up = cur[j + 1] if j + 1 < n else cur[0]
            dn = cur[j - 1] if j > 0 else cur[n - 1]
            nxt[j] = 0.5 * (cp * up + c0 * cur[j] + cm * dn) - h * ten[j] / ea
        prev, cur, nxt = cur, nxt, prev
        for _ in range(steps[k] - 1):
            for j in range(n):
                up = cur[j + 1] if j + 1 < n else cur[0]
                dn = cur[j - 1] if j > 0 else cur[n - 1]
                nxt[j] = (cp * up + c0 * cur[j] + cm * dn) - prev[j]
            prev, cur, nxt = cur, nxt, prev
        # Ghost node below the bottom from the same recurrence; central Hooke's law:
        # T = −EA (op(u[M]) − 2u[M−1]) / 2h.
        for j in range(n):
            up = cur[j + 1] if j + 1 < n else cur[0]
            dn = cur[j - 1] if j > 0 else cur[n - 1]
            grad = ((cp * up + c0 * cur[j] + cm * dn) - 2.0 * prev[j]) / (2.0 * h)
            ten[j] = -ea * grad
    return cur, ten


@dataclass(frozen=True, slots=True)
class Kernel:
    """The compiled march and whether it is backed by numba's on-disk cache."""

    march: Callable[..., tuple[np.ndarray, np.ndarray]]
    cached: bool


def _jit(*, cache: bool) -> Callable[..., Any]:
    # fastmath stays off: reassociation would break agreement with the numpy path.
    # error_model="numpy" drops the ZeroDivisionError checks (h and EA are validated > 0).
    return numba.njit(_SIGNATURE, cache=cache, error_model="numpy", nogil=True)(_march)


@functools.cache
def kernel() -> Kernel:
    """Compile (or load from numba's cache) the march, once per process."""
    try:
        return Kernel(_jit(cache=True), cached=True)
    except RuntimeError:
        # numba: "cannot cache function …: no locator available" — no writable cache
        # directory (or no source file, as in a frozen build).  Compile in memory.
        return Kernel(_jit(cache=False), cached=False)


def march(
    w0: np.ndarray, t0: np.ndarray, steps: Sequence[int], coef: Sequence[Sequence[float]]
) -> tuple[np.ndarray, np.ndarray]:
    """Run the compiled march; `coef` rows hold the `COLUMNS` of each taper, top first."""
    return kernel().march(
        np.ascontiguousarray(w0, dtype=np.float64),
        np.ascontiguousarray(t0, dtype=np.float64),
        np.asarray(steps, dtype=np.int64),
        np.ascontiguousarray(coef, dtype=np.float64),
    )
