"""Quality of a result from the quality of its inputs, vectorised over wells.

OPC UA StatusCodes (daemons/core/quality.py): the top two bits are the severity.  A result
is as good as its worst input: any Bad input makes it Bad with that input's own code (so
a display says *why*: no-communication, device-failure, ...); a stale input makes it
Uncertain last-usable; any other Uncertain input makes it Uncertain sub-normal.
"""

from __future__ import annotations

import numpy as np

from daemons.core.quality import Quality

GOOD = np.uint32(Quality.GOOD)
BAD = np.uint32(Quality.BAD)
STALE = np.uint32(Quality.UNCERTAIN_LAST_USABLE)
SUBNORMAL = np.uint32(Quality.UNCERTAIN_SUBNORMAL)
CONFIG = np.uint32(Quality.BAD_CONFIG_ERROR)
WAITING = np.uint32(Quality.BAD_WAITING_FOR_INITIAL_DATA)
_SEVERITY_SHIFT = np.uint32(30)


def severity(q: np.ndarray) -> np.ndarray:
    """0 Good, 1 Uncertain, 2-3 Bad, per element."""
    return np.asarray(q, dtype=np.uint32) >> _SEVERITY_SHIFT


def worst(*qualities: np.ndarray) -> np.ndarray:
    """Element-wise result quality of inputs with these qualities (all the same shape)."""
    if not qualities:
        raise ValueError("worst() needs at least one quality array")
    q = np.stack([np.asarray(x, dtype=np.uint32) for x in qualities])
    worst_row = np.argmax(severity(q), axis=0)  # the first input of the highest severity
    return result_quality(q[worst_row, np.arange(q.shape[1])])


def result_quality(q: np.ndarray) -> np.ndarray:
    """Map the worst input's code to the result's: Bad codes pass through, stale stays
    stale, any other Uncertain becomes sub-normal, Good stays Good."""
    q = np.asarray(q, dtype=np.uint32)
    sev = severity(q)
    return np.where(sev >= 2, q, np.where(sev == 1, np.where(q == STALE, STALE, SUBNORMAL),
                                          GOOD)).astype(np.uint32)


def mark_stale(values_q: np.ndarray, ts_ns: np.ndarray, now_ns: int,
               stale_ns: np.ndarray) -> np.ndarray:
    """Good samples older than their slot's limit become Uncertain last-usable.

    acqd marks its own stale tags; this covers an acqd that is no longer running (its
    ring keeps the last values, Good, with their old timestamps).
    """
    old = (severity(values_q) == 0) & (ts_ns > 0) & (now_ns - ts_ns > stale_ns)
    return np.where(old, STALE, values_q).astype(np.uint32)


def worst_code(*codes: int) -> int:
    """`worst` for a handful of single codes (plain Python: one card, one result)."""
    pick = max(codes, key=lambda c: (int(c) >> 30) & 3)
    sev = (int(pick) >> 30) & 3
    if sev >= 2:
        return int(pick)
    if sev == 1:
        return int(STALE) if int(pick) == int(STALE) else int(SUBNORMAL)
    return int(GOOD)
