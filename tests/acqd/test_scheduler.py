"""Scan-class timing: aligned ticks, first cycle at start, overruns, jitter."""

from daemons.acqd.scheduler import NS, ScanClock, next_tick, tick_ns

T0 = 1_764_000_000 * NS  # a whole second (and a whole hour) of UTC


def test_next_tick_is_aligned_and_strictly_after():
    assert next_tick(T0, NS) == T0 + NS
    assert next_tick(T0 + 1, NS) == T0 + NS
    assert next_tick(T0 + 3 * NS + 5, 10 * NS) == T0 + 10 * NS
    assert tick_ns(0.5) == NS // 2


def test_cycles_fire_on_aligned_ticks_with_their_own_timestamp():
    c = ScanClock("fast", NS, 0)
    c.start(T0 + 300_000_000)
    assert c.poll(T0 + 900_000_000, busy=False) is None
    assert c.poll(T0 + NS + 2_000_000, busy=False) == T0 + NS  # late by 2 ms
    assert c.poll(T0 + NS + 500_000_000, busy=False) is None
    assert c.poll(T0 + 2 * NS, busy=False) == T0 + 2 * NS
    assert c.cycles == 2 and c.overruns == 0
    assert c.jitter_max_ns == 2_000_000


def test_slow_class_first_cycle_at_start_then_aligned():
    hourly = ScanClock("hourly", 3600 * NS, 1)
    hourly.start(T0 + 10 * NS + 1)
    first = hourly.poll(T0 + 11 * NS, busy=False)
    assert first == T0 + 11 * NS  # a value right away, not an hour later
    assert hourly.poll(T0 + 3599 * NS, busy=False) is None
    assert hourly.poll(T0 + 3600 * NS, busy=False) == T0 + 3600 * NS


def test_a_busy_tick_is_an_overrun_and_runs_as_soon_as_the_bus_is_free():
    c = ScanClock("fast", NS, 0)
    c.start(T0)
    assert c.poll(T0 + NS, busy=False) == T0 + NS
    assert c.poll(T0 + 2 * NS, busy=True) is None
    assert c.poll(T0 + 2 * NS + 100, busy=True) is None  # still busy: still owed, once
    assert c.overruns == 1
    # The previous cycle ends at 2.4 s: the owed cycle starts at once, for tick 2 s.
    assert c.poll(T0 + 2 * NS + 400_000_000, busy=False) == T0 + 2 * NS
    assert c.poll(T0 + 2 * NS + 500_000_000, busy=False) is None
    assert c.poll(T0 + 3 * NS, busy=False) == T0 + 3 * NS
    assert c.cycles == 3


def test_a_long_stall_runs_once_for_the_newest_tick():
    c = ScanClock("fast", NS, 0)
    c.start(T0)
    assert c.poll(T0 + NS, busy=False) == T0 + NS
    tick = c.poll(T0 + 5 * NS + 100, busy=False)  # ticks 2, 3, 4 passed by
    assert tick == T0 + 5 * NS
    assert c.overruns == 3
    assert c.next_ns == T0 + 6 * NS
