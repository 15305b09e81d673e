import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from feedmix.signals.drift import WEEK, psi, weekly_drift
from feedmix.signals.post_signal_table import PostSignalTable

counts = st.lists(st.integers(0, 1000), min_size=3, max_size=3).filter(lambda c: sum(c) > 0)


@given(counts, counts)
def test_psi_is_non_negative_and_symmetric(a: list[int], b: list[int]) -> None:
    assert psi(a, b) >= 0
    assert abs(psi(a, b) - psi(b, a)) < 1e-9


@given(counts, st.integers(1, 50))
def test_psi_of_the_same_mix_is_zero_whatever_the_volume(a: list[int], k: int) -> None:
    assert psi(a, [x * k for x in a]) < 1e-9


def test_the_textbook_value() -> None:
    # 90/10 -> 50/50: (0.5-0.9)ln(0.5/0.9) + (0.5-0.1)ln(0.5/0.1) = 0.879
    assert abs(psi([50, 50], [90, 10]) - 0.8789) < 1e-3


def test_weekly_drift_compares_the_last_week_with_the_one_before() -> None:
    n = 200
    table = PostSignalTable.empty(n)
    created = np.where(np.arange(n) < 100, 0.5 * WEEK, 1.5 * WEEK)
    table.intent[:100] = 5  # the week before: all "none"
    table.intent[100:] = np.arange(100) % 2 * 5  # the last week: half "review", half "none"
    table.sentiment[:] = 2
    table.safety[:] = 0
    out = weekly_drift(table, created, 2 * WEEK)
    assert out["posts_now"] == 100 and out["posts_before"] == 100
    assert out["psi"]["intent"] > 1.0 and out["psi"]["sentiment"] == 0.0
