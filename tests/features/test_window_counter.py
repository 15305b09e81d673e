"""WindowCounter: the documented edge semantics, checked against a brute-force reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedmix.features.window_counter import WindowCounter

# a 60 s window of 6 × 10 s buckets keeps the numbers readable
W, B = 60.0, 10.0


def counter(channels: int = 1) -> WindowCounter:
    return WindowCounter(W, B, channels=channels, capacity=2)


def total(c: WindowCounter, q: float, slot: int = 0) -> int:
    return int(c.totals([slot], q)[0, 0])


def test_an_event_counts_while_its_bucket_start_is_inside_the_window() -> None:
    c = counter()
    c.add([0], [0], [105.0], now=105.0)  # bucket [100, 110)

    assert total(c, 105.0) == 1
    # q - 60 < 100  <=>  q < 160: it leaves exactly when its bucket's start falls out
    assert total(c, 159.999) == 1
    assert total(c, 160.0) == 0
    # and before its bucket starts it does not count yet
    assert total(c, 99.999) == 0


def test_the_window_is_the_current_bucket_plus_the_n_minus_1_before_it() -> None:
    c = counter()
    c.add([0] * 3, [0] * 3, [100.0, 109.9, 150.0], now=155.0)
    assert total(c, 155.0) == 3
    assert total(c, 165.0) == 1  # [100, 110) left at 160; [150, 160) is still in


def test_future_events_count_at_now_and_too_old_ones_are_dropped() -> None:
    c = counter()
    c.add([0, 0], [0, 0], [10_000.0, 10.0], now=200.0)
    assert total(c, 200.0) == 1  # the future event, clamped to 200
    assert total(c, 259.0) == 1 and total(c, 260.0) == 0
    assert c.dropped == 1  # the event at 10 s was older than the ring at 200 s


def test_slots_and_channels_are_independent_and_capacity_grows() -> None:
    c = counter(channels=3)
    c.add([0, 5, 5, 5], [1, 0, 2, 2], [1.0, 1.0, 2.0, 3.0], now=3.0)
    assert c.capacity >= 6
    assert c.totals([5, 0, 3], 3.0).tolist() == [[1, 0, 2], [0, 1, 0], [0, 0, 0]]


def test_advance_reports_exactly_the_slots_that_lost_counts() -> None:
    c = counter()
    c.add([1, 2], [0, 0], [100.0, 125.0], now=125.0)
    assert c.advance(155.0).tolist() == []  # nothing left the window yet
    assert c.advance(165.0).tolist() == [1]  # bucket [100, 110) dropped
    assert c.advance(190.0).tolist() == [2]
    assert c.active([1, 2]).tolist() == [False, False]


def test_a_long_gap_clears_the_whole_ring() -> None:
    c = counter()
    c.add([0], [0], [100.0], now=100.0)
    assert c.advance(10_000.0).tolist() == [0]
    assert total(c, 10_000.0) == 0


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError):
        WindowCounter(60.0, 7.0, channels=1)
    with pytest.raises(ValueError):
        WindowCounter(60.0, 10.0, channels=0)


def reference(events: list[tuple[int, float, float]], q: float, slots: int) -> list[int]:
    """Count (slot, t, now) events by the documented rule, with t clamped to its apply's now."""
    out = [0] * slots
    for slot, t, now in events:
        b = math.floor(min(t, now) / B)
        if math.floor(q / B) - W / B < b <= math.floor(q / B):
            out[slot] += 1
    return out


batches = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=400.0),  # how far `now` moves forward
        st.lists(
            st.tuples(st.integers(0, 3), st.floats(min_value=-120.0, max_value=30.0)),  # (slot, t - now)
            max_size=8,
        ),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(batches=batches, later=st.floats(min_value=0.0, max_value=100.0))
def test_totals_match_the_brute_force_reference(
    batches: list[tuple[float, list[tuple[int, float]]]], later: float
) -> None:
    c = counter()
    applied: list[tuple[int, float, float]] = []
    now = 1000.0
    for step, events in batches:
        now += step
        slots = [s for s, _ in events]
        times = [now + dt for _, dt in events]
        c.add(np.array(slots, dtype=np.int64), np.zeros(len(events), dtype=np.int64), times, now=now)
        applied += [(s, t, now) for s, t in zip(slots, times, strict=True)]
        # at every step, at the step's time and a little later
        for q in (now, now + later):
            assert c.totals(np.arange(4), q)[:, 0].tolist() == reference(applied, q, 4)


def test_cleared_slots_read_zero_and_the_others_keep_their_totals() -> None:
    """The running sum behind queries at the ring's head follows clear() like the ring does."""
    c = counter()
    now = 1000.0
    c.add(np.array([0, 1, 1, 2]), np.zeros(4, dtype=np.int64), [now - 5, now - 1, now, now], now=now)
    assert c.totals(np.arange(3), now)[:, 0].tolist() == [1, 2, 1]
    c.clear(np.array([1]))
    assert c.totals(np.arange(3), now)[:, 0].tolist() == [1, 0, 1]
    c.add(np.array([1]), np.zeros(1, dtype=np.int64), [now], now=now)
    assert c.totals(np.arange(3), now)[:, 0].tolist() == [1, 1, 1]
