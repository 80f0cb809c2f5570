"""Processed history's statuses (OPC 10000-13 with its default AggregateConfiguration):
Calculated/Interpolated/raw historian bits, Partial intervals, Uncertain_DataSubNormal
where some samples were not Good, Bad_NoData where none was."""

from __future__ import annotations

import numpy as np
from asyncua import ua

from daemons.core.quality import Quality
from daemons.opcuad.history import aggregate

S = 1_000_000_000
GOOD, BAD = int(Quality.GOOD), int(Quality.BAD_NO_COMMUNICATION)
START = 1_764_000_000 * S
NOW = START + 10_000 * S


def bits(dv: ua.DataValue) -> tuple[int, int]:
    """(severity and sub-code without the info bits, historian bits)"""
    v = dv.StatusCode.value
    return v & 0xFFFF0000, v & 0x1F if v & 0x400 else -1


def samples(*rows: tuple[int, float, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ts = np.array([START + t * S for t, _, _ in rows], dtype=np.int64)
    return ts, np.array([v for _, v, _ in rows]), np.array([q for *_, q in rows], np.uint32)


def test_whole_good_intervals_are_calculated_and_the_cut_last_one_is_partial():
    ts, val, q = samples((0, 1.0, GOOD), (5, 3.0, GOOD), (10, 5.0, GOOD), (15, 7.0, GOOD),
                         (20, 9.0, GOOD))
    out = aggregate("avg", ts, val, q, START, 10 * S, 3, START + 25 * S, NOW)
    assert [d.Value.Value for d in out] == [2.0, 6.0, 9.0]
    assert [bits(d) for d in out] == [(0, 1), (0, 1), (0, 1 | 4)]  # the last ends at 25 s


def test_an_interval_still_open_now_is_partial():
    ts, val, q = samples((0, 1.0, GOOD), (12, 2.0, GOOD))
    out = aggregate("max", ts, val, q, START, 10 * S, 2, START + 20 * S, START + 15 * S)
    assert [bits(d) for d in out] == [(0, 1), (0, 1 | 4)]


def test_bad_samples_make_the_interval_uncertain_and_no_good_one_is_no_data():
    ts, val, q = samples((0, 1.0, GOOD), (5, 100.0, BAD), (10, 7.0, BAD))
    out = aggregate("min", ts, val, q, START, 10 * S, 2, START + 20 * S, NOW)
    assert out[0].Value.Value == 1.0  # the Bad sample is left out of the minimum
    assert bits(out[0]) == (ua.StatusCodes.UncertainDataSubNormal, 1)
    assert out[1].StatusCode.value == ua.StatusCodes.BadNoData


def test_interpolative_marks_interpolated_raw_and_skipped_bad_samples():
    ts, val, q = samples((0, 0.0, GOOD), (10, 10.0, GOOD), (14, 99.0, BAD), (20, 20.0, GOOD))
    out = aggregate("interp", ts, val, q, START + 5 * S, 5 * S, 3, START + 20 * S, NOW)
    assert [d.Value.Value for d in out] == [5.0, 10.0, 15.0]
    assert bits(out[0]) == (0, 2)  # between two Good samples
    assert bits(out[1]) == (0, 0)  # a Good sample is exactly there: raw
    assert bits(out[2]) == (ua.StatusCodes.UncertainDataSubNormal, 2)  # a Bad one skipped
