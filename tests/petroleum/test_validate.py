"""Shared argument checks: messages start with the argument name and say why."""

import numpy as np
import pytest

from daemons.petroleum import _validate as v


def test_scalars_come_back_as_float_and_arrays_keep_shape():
    assert isinstance(v.positive("p", 3), float)
    assert isinstance(v.finite("p", np.float32(2.5)), float)
    arr = v.non_negative("q", [[0.0, 1.0], [2.0, 3.0]])
    assert isinstance(arr, np.ndarray) and arr.shape == (2, 2) and arr.dtype == np.float64
    assert v.restore(np.array([4.0]), 1.0, 2.0) == 4.0
    assert isinstance(v.restore(np.array([4.0]), [1.0]), np.ndarray)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: v.positive("p_res", -1), "p_res: must be > 0, got -1.0"),
        (lambda: v.positive("p_res", 0), "p_res: must be > 0, got 0.0"),
        (lambda: v.non_negative("q", [1, -2]), "q: must be >= 0, got -2.0 at index 1"),
        (lambda: v.finite("t", [1, np.inf]), "t: must be finite, got inf at index 1"),
        (lambda: v.finite("t", "abc"), "t: must be a number"),
        (lambda: v.in_range("b", 2.5, 0, 2), "b: must be in [0, 2], got 2.5"),
        (lambda: v.in_range("d", 1.0, 0, 1, hi_open=True), "d: must be in [0, 1), got 1.0"),
        (lambda: v.fraction("sw", 1.2), "sw: must be in [0, 1]"),
        (lambda: v.not_above("pwf", [1, 5], "p_res", 3), "pwf: must not exceed p_res (3)"),
        (lambda: v.one_of("method", "x", ("a", "b")), "method: must be one of a, b"),
        (lambda: v.array_1d("q", [[1, 2]]), "q: must be one-dimensional"),
        (lambda: v.array_1d("q", [1], min_len=3), "q: needs at least 3 points, got 1"),
        (lambda: v.same_length(t=np.ones(2), q=np.ones(3)), "t: arrays must have the same"),
    ],
)
def test_messages_name_the_argument_and_the_reason(call, expected):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value).startswith(expected)


def test_nan_is_rejected_by_every_range_check():
    for check in (v.positive, v.non_negative, v.fraction):
        with pytest.raises(ValueError, match="must be finite"):
            check("x", float("nan"))
