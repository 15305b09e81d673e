"""The SeenStore contract, run against the memory and Redis backends."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedmix.stores.seen_store import SeenStore

MakeSeen = Callable[..., SeenStore]


def arr(*ids: int) -> np.ndarray:
    return np.array(ids, dtype=np.int64)


def test_get_returns_added_ids_newest_first(make_seen_store: MakeSeen) -> None:
    store = make_seen_store()
    store.add("u", arr(10, 11), ts=100.0)
    store.add("u", arr(20), ts=200.0)

    got = store.get("u")

    assert got.dtype == np.int64
    assert got.tolist() == [20, 11, 10]  # equal ts: the larger id counts as newer


def test_an_unknown_user_has_seen_nothing(make_seen_store: MakeSeen) -> None:
    got = make_seen_store().get("nobody")
    assert got.shape == (0,)
    assert got.dtype == np.int64


def test_users_are_independent(make_seen_store: MakeSeen) -> None:
    store = make_seen_store()
    store.add("a", arr(1, 2), ts=1.0)
    store.add("b", arr(3), ts=1.0)

    assert store.get("a").tolist() == [2, 1]
    assert store.get("b").tolist() == [3]


def test_a_re_seen_post_keeps_its_latest_time(make_seen_store: MakeSeen) -> None:
    store = make_seen_store()
    store.add("u", arr(1), ts=300.0)
    store.add("u", arr(2), ts=200.0)
    store.add("u", arr(1), ts=100.0)  # older: must not move 1 behind 2
    store.add("u", arr(2), ts=400.0)  # newer: moves 2 ahead

    assert store.get("u").tolist() == [2, 1]


def test_only_the_most_recent_max_per_user_ids_are_kept(make_seen_store: MakeSeen) -> None:
    store = make_seen_store(max_per_user=3)
    for i in range(6):
        store.add("u", arr(i), ts=float(i))
    store.add("u", arr(0), ts=1.5)  # evicted earlier and too old to come back

    assert store.get("u").tolist() == [5, 4, 3]


def test_duplicates_in_one_add_and_extreme_ids_are_handled(make_seen_store: MakeSeen) -> None:
    store = make_seen_store()
    lo, hi = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    store.add("u", arr(7, 7, hi, lo, 0, 7), ts=1.0)

    assert store.get("u").tolist() == [hi, 7, 0, lo]


def test_an_empty_add_is_a_no_op(make_seen_store: MakeSeen) -> None:
    store = make_seen_store()
    store.add("u", arr(), ts=1.0)
    assert store.get("u").size == 0


def test_a_user_expires_ttl_after_the_last_add(make_seen_store: MakeSeen) -> None:
    store = make_seen_store(ttl_s=0.15)
    store.add("u", arr(1), ts=1.0)
    assert store.get("u").tolist() == [1]

    time.sleep(0.2)

    assert store.get("u").size == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    adds=st.lists(
        st.tuples(
            st.lists(st.integers(min_value=-3, max_value=12), max_size=6),
            st.sampled_from([1.0, 2.0, 2.5, 3.0, 10.0]),
        ),
        max_size=12,
    ),
    max_per_user=st.integers(min_value=1, max_value=6),
)
def test_get_is_the_newest_n_distinct_ids_by_latest_ts(
    make_seen_store: MakeSeen, adds: list[tuple[list[int], float]], max_per_user: int
) -> None:
    store = make_seen_store(max_per_user=max_per_user)
    user = uuid.uuid4().hex  # fresh key per example: the fixture outlives examples

    latest: dict[int, float] = {}
    for ids, ts in adds:
        store.add(user, arr(*ids), ts=ts)
        for i in ids:
            latest[i] = max(ts, latest.get(i, ts))

    expected = sorted(latest, key=lambda i: (latest[i], i), reverse=True)[:max_per_user]
    assert store.get(user).tolist() == expected
