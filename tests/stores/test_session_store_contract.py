"""The FeedSessionStore contract, run against the memory and Redis backends."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedmix.stores.session_store import FeedSessionStore

MakeSessions = Callable[..., FeedSessionStore]


def arr(*ids: int) -> np.ndarray:
    return np.array(ids, dtype=np.int64)


def test_served_is_everything_added_unique_and_sorted(make_session_store: MakeSessions) -> None:
    store = make_session_store()
    store.add_served("s", arr(30, 10, 20))
    store.add_served("s", arr(20, 40))

    got = store.served("s")

    assert got.dtype == np.int64
    assert got.tolist() == [10, 20, 30, 40]


def test_sessions_are_independent_and_unknown_ones_are_empty(make_session_store: MakeSessions) -> None:
    store = make_session_store()
    store.add_served("a", arr(1))
    store.add_served("b", arr(2))

    assert store.served("a").tolist() == [1]
    assert store.served("b").tolist() == [2]
    assert store.served("c").shape == (0,)


def test_a_session_expires_ttl_after_its_last_page(make_session_store: MakeSessions) -> None:
    store = make_session_store(ttl_s=0.15)
    store.add_served("s", arr(1, 2))
    assert store.served("s").tolist() == [1, 2]

    time.sleep(0.2)

    assert store.served("s").size == 0


def test_an_empty_add_does_not_create_a_session(make_session_store: MakeSessions) -> None:
    store = make_session_store()
    store.add_served("s", arr())
    assert store.served("s").size == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pages=st.lists(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=8), max_size=8))
def test_served_is_the_union_of_all_adds(make_session_store: MakeSessions, pages: list[list[int]]) -> None:
    store = make_session_store()
    session = uuid.uuid4().hex

    for page in pages:
        store.add_served(session, arr(*page))

    assert store.served(session).tolist() == sorted({i for page in pages for i in page})
