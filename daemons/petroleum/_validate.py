"""Shared argument checks for the petroleum library.

Every public function in `daemons.petroleum` checks its inputs with these helpers so that a
bad value (a negative pressure, a NaN from a failed sensor, a b-factor out of range) raises
`ValueError` naming the argument and saying why, instead of quietly producing a wrong kill
sheet or fillage.  The message always starts with the argument name so callers (calcd,
webd) can map it back to the tag or form field that supplied it.

Return convention: a Python scalar (or 0-d array) comes back as a `float`; anything
array-like comes back as a float64 `np.ndarray` of the same shape.  `restore` applies the
same rule to a computed result so public functions keep "float in, float out; array in,
array of the same shape out".

API (stable — the other petroleum modules import it):

- ``finite(name, value)``: every element finite.
- ``positive(name, value)``: finite and > 0.
- ``non_negative(name, value)``: finite and >= 0.
- ``in_range(name, value, lo, hi, *, lo_open=False, hi_open=False)``: finite and inside.
- ``fraction(name, value)``: finite and in [0, 1].
- ``not_above(name, value, other_name, other)``: value <= other, element-wise.
- ``one_of(name, value, choices)``: a string option from a fixed set.
- ``array_1d(name, value, *, min_len=1)``: a finite 1-D float array with enough points.
- ``same_length(**arrays)``: all given 1-D arrays have the same length.
- ``is_scalar(*values)`` / ``restore(result, *inputs)``: the float-or-array return rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

Number = float | np.ndarray


def _as_array(name: str, value: Any) -> np.ndarray:
    """Convert to float64, translating numpy's conversion errors at this one boundary."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: must be a number or an array of numbers ({exc})") from exc
    return arr


def _out(arr: np.ndarray) -> Number:
    return float(arr) if arr.ndim == 0 else arr


def _first_bad(arr: np.ndarray, bad: np.ndarray) -> str:
    """Describe the first offending element, so a 10,000-point array error stays readable."""
    if arr.ndim == 0:
        return repr(float(arr))
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    where = idx[0] if len(idx) == 1 else idx
    return f"{float(arr[idx])!r} at index {where}"


def finite(name: str, value: Any) -> Number:
    """Return `value` as float / float64 array; raise if any element is NaN or infinite."""
    arr = _as_array(name, value)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name}: must be finite, got {_first_bad(arr, bad)}")
    return _out(arr)


def positive(name: str, value: Any) -> Number:
    """Finite and strictly greater than zero."""
    arr = np.asarray(finite(name, value))
    bad = arr <= 0.0
    if bad.any():
        raise ValueError(f"{name}: must be > 0, got {_first_bad(arr, bad)}")
    return _out(arr)


def non_negative(name: str, value: Any) -> Number:
    """Finite and greater than or equal to zero."""
    arr = np.asarray(finite(name, value))
    bad = arr < 0.0
    if bad.any():
        raise ValueError(f"{name}: must be >= 0, got {_first_bad(arr, bad)}")
    return _out(arr)


def in_range(
    name: str,
    value: Any,
    lo: float,
    hi: float,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> Number:
    """Finite and inside [lo, hi] (either end open on request)."""
    arr = np.asarray(finite(name, value))
    below = arr <= lo if lo_open else arr < lo
    above = arr >= hi if hi_open else arr > hi
    bad = below | above
    if bad.any():
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ValueError(
            f"{name}: must be in {left}{lo:g}, {hi:g}{right}, got {_first_bad(arr, bad)}"
        )
    return _out(arr)


def fraction(name: str, value: Any) -> Number:
    """Finite and in [0, 1] (saturations, efficiencies, porosity)."""
    return in_range(name, value, 0.0, 1.0)


def not_above(name: str, value: Any, other_name: str, other: Any) -> Number:
    """Element-wise value <= other (e.g. pwf <= p_res); both already checked finite."""
    arr = np.asarray(finite(name, value))
    lim = np.asarray(finite(other_name, other))
    try:
        bad = arr > lim
    except ValueError as exc:  # shapes that do not broadcast
        raise ValueError(f"{name}: shape {arr.shape} does not match {other_name}") from exc
    if bad.any():
        b_arr, b_lim = np.broadcast_arrays(arr, lim)
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
        raise ValueError(
            f"{name}: must not exceed {other_name} ({float(b_lim[idx]):g}), "
            f"got {float(b_arr[idx])!r}" + (f" at index {idx[0]}" if len(idx) == 1 else "")
        )
    return _out(arr)


def one_of(name: str, value: Any, choices: Iterable[str]) -> str:
    """A string option from a fixed set (e.g. z-factor method)."""
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name}: must be one of {', '.join(options)}; got {value!r}")
    return value


def array_1d(name: str, value: Any, *, min_len: int = 1) -> np.ndarray:
    """A finite 1-D float64 array with at least `min_len` points (fits, curves)."""
    arr = np.atleast_1d(np.asarray(finite(name, value)))
    if arr.ndim != 1:
        raise ValueError(f"{name}: must be one-dimensional, got shape {arr.shape}")
    if arr.size < min_len:
        raise ValueError(f"{name}: needs at least {min_len} points, got {arr.size}")
    return arr


def same_length(**arrays: np.ndarray) -> int:
    """All given 1-D arrays have one length; return it."""
    lengths = {k: int(np.size(v)) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{k}={n}" for k, n in lengths.items())
        first = next(iter(lengths))
        raise ValueError(f"{first}: arrays must have the same length ({described})")
    return next(iter(lengths.values())) if lengths else 0


def is_scalar(*values: Any) -> bool:
    """True when every input is a scalar (so the result should be a float)."""
    return all(np.ndim(v) == 0 for v in values)


def restore(result: Any, *inputs: Any) -> Number:
    """Float when every input was scalar, otherwise a float64 array (broadcast shape)."""
    arr = np.asarray(result, dtype=np.float64)
    if is_scalar(*inputs) and arr.size == 1:
        return float(arr.reshape(()))
    return arr
