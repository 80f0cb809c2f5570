"""Optional lossy filters of one series' chunk: deadband and swinging door.

Off by default (lossless); set per series with `HistoryWriter.set_compression`.  Both run
once per series per closed window (never per sample on the ingest path) and always keep
the first and last sample of the chunk and every sample whose quality differs from the
previous one, so quality changes and gaps stay exact whatever the tolerance.
The work is a loop over *kept* samples, each step one numpy scan, so a well-chosen
tolerance (few kept samples) is also the cheap case.
"""

from __future__ import annotations

import numpy as np

METHODS = ("deadband", "swinging-door")


def _forced(ts: np.ndarray, quality: np.ndarray) -> np.ndarray:
    keep = np.zeros(len(ts), bool)
    keep[0] = keep[-1] = True
    change = quality[1:] != quality[:-1]
    keep[1:] |= change
    keep[:-1] |= change  # the last sample before a change ends the old segment exactly
    return keep


def deadband_keep(values: np.ndarray, quality: np.ndarray, tolerance: float) -> np.ndarray:
    """Mask of samples kept: a sample is stored when it differs from the last stored one by
    more than ``tolerance`` (the exception test of report-by-exception historians)."""
    n = len(values)
    keep = _forced(np.arange(n), quality)
    v = values.astype(np.float64)
    i = 0
    ref = v[0]
    while i < n - 1:
        nxt_forced = i + 1 + int(np.argmax(keep[i + 1:]))  # keep[-1] is True: always found
        seg = np.abs(v[i + 1:nxt_forced] - ref) > tolerance
        if seg.any():
            i = i + 1 + int(np.argmax(seg))
            keep[i] = True
        else:
            i = nxt_forced
        ref = v[i]
    return keep


def swinging_door_keep(ts: np.ndarray, values: np.ndarray, quality: np.ndarray,
                       tolerance: float) -> np.ndarray:
    """Mask of samples kept by swinging-door trending (Bristol, "Swinging door trending:
    adaptive trend recording?", ISA National Conference 1990): from the last stored point,
    the upper and lower doors pivot at ±tolerance; when they open past parallel, the
    previous sample is stored and becomes the new pivot.  Linear interpolation between
    stored samples then stays within ±tolerance of every dropped sample (see below)."""
    n = len(values)
    keep = _forced(ts, quality)
    t = ts.astype(np.float64)
    v = values.astype(np.float64)
    i = 0
    while i < n - 1:
        end = i + 1 + int(np.argmax(keep[i + 1:]))
        if end == i + 1:
            i = end
            continue
        dt = t[i + 1:end + 1] - t[i]
        dt[dt <= 0] = np.finfo(np.float64).tiny  # equal timestamps: door fully open
        rise = v[i + 1:end + 1] - v[i]
        upper = np.maximum.accumulate((rise - tolerance) / dt)
        lower = np.minimum.accumulate((rise + tolerance) / dt)
        opened = upper > lower
        k = int(np.argmax(opened)) if opened.any() else len(opened)
        # Store the last sample before the doors opened whose own line from the pivot lies
        # between the doors: classic SDT stores the sample just before, whose line can
        # miss earlier samples by more than the tolerance; this keeps the bound exact.
        slope = rise[:k] / dt[:k]
        fits = (upper[:k] <= slope) & (slope <= lower[:k])
        # The first sample always fits (its slope lies within ±tolerance/dt).
        stored = i + 1 + (int(np.flatnonzero(fits)[-1]) if fits.any() else 0)
        keep[stored] = True
        i = stored
    return keep


def apply_filter(method: str, tolerance: float, ts: np.ndarray, values: np.ndarray,
                 quality: np.ndarray) -> np.ndarray:
    """Mask of kept samples for one series' chunk."""
    if method == "deadband":
        return deadband_keep(values, quality, tolerance)
    if method == "swinging-door":
        return swinging_door_keep(ts, values, quality, tolerance)
    raise ValueError(f"unknown compression method {method!r}; known: {', '.join(METHODS)}")
