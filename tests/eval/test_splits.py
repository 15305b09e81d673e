"""The per-user temporal split never puts a user's future into their training history."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from feedmix.eval.splits import split_latest_per_user

events = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 30)),  # (user, ts): small ts range forces ties
    min_size=1,
    max_size=120,
)


@settings(max_examples=200, deadline=None)
@given(events, st.sampled_from([0.1, 0.2, 0.5, 0.9]))
def test_train_strictly_precedes_test_for_every_user(rows: list[tuple[int, int]], fraction: float) -> None:
    users = np.array([u for u, _ in rows], dtype=np.int64)
    ts = np.array([t for _, t in rows], dtype=np.float64)
    split = split_latest_per_user(users, ts, 7, test_fraction=fraction)
    for u in np.unique(users):
        mine = users == u
        train, test = ts[mine & ~split.test], ts[mine & split.test]
        assert test.size >= max(1, int(np.floor(fraction * mine.sum() + 0.5)))  # at least the quota
        if train.size:
            assert train.max() < test.min()  # no tie straddles the cut
        assert np.all(test >= split.cut_ts[u]) and np.all(train < split.cut_ts[u])
    assert np.all(np.isinf(split.cut_ts[np.bincount(users, minlength=7) == 0]))


def test_known_split_with_a_tie_at_the_cut() -> None:
    users = np.array([0, 0, 0, 0, 0, 1, 1], dtype=np.int64)
    ts = np.array([5.0, 1.0, 3.0, 3.0, 2.0, 9.0, 8.0])
    split = split_latest_per_user(users, ts, 2, test_fraction=0.2)
    # user 0: 5 ratings -> 1 test (ts 5); user 1: 2 ratings -> 1 test (ts 9)
    assert split.test.tolist() == [True, False, False, False, False, True, False]
    split = split_latest_per_user(users, ts, 2, test_fraction=0.5)
    # user 0: round(2.5) = 3 latest are 5, 3, 3 -> cut at 3, the tie goes to test whole
    assert split.test.tolist() == [True, False, True, True, False, True, False]
    assert split.train_users(users, 2).tolist() == [True, True]
