"""The PreferenceStore contract, run against the memory and Redis backends, plus what only Redis
can show: a second replica sees the first one's writes, and the key layout."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedmix.stores.backends import open_preference_store
from feedmix.stores.errors import StoreUnavailable
from feedmix.stores.preference_store import PreferenceStore, ViewerPreferences
from feedmix.stores.redis_preference_store import RedisPreferenceStore

MakePrefs = Callable[[], PreferenceStore]


def _redis_url(redis_url: str, redis_prefix: str) -> str:
    # a generous timeout: these tests check semantics, not latency, and CI machines stall
    options = {"prefix": redis_prefix, "timeout_ms": 2000, "connect_timeout_ms": 2000}
    return f"{redis_url}?{urlencode(options)}"


@pytest.fixture
def make_preference_store(backend: str, request: pytest.FixtureRequest) -> Iterator[MakePrefs]:
    """Like conftest's store factories: ``backend`` is memory or a real Redis under a test prefix."""
    if backend == "memory":
        url = "memory://"
    else:
        url = _redis_url(request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix"))
    opened: list[PreferenceStore] = []

    def make() -> PreferenceStore:
        store = open_preference_store(url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


FULL = ViewerPreferences(allow_nsfw=True, muted_communities=("politics", "nba"), show_fewer=("memes",))


def test_an_unknown_user_gets_the_defaults(make_preference_store: MakePrefs) -> None:
    got = make_preference_store().get("nobody")

    assert got == ViewerPreferences()
    assert (got.allow_nsfw, got.muted_communities, got.show_fewer) == (None, (), ())


def test_put_then_get_round_trips_every_field(make_preference_store: MakePrefs) -> None:
    store = make_preference_store()
    store.put("u", FULL)

    assert store.get("u") == FULL


def test_a_second_put_replaces_the_first_whole(make_preference_store: MakePrefs) -> None:
    store = make_preference_store()
    store.put("u", FULL)
    store.put("u", ViewerPreferences(allow_nsfw=False, show_fewer=("aww",)))

    assert store.get("u") == ViewerPreferences(allow_nsfw=False, muted_communities=(), show_fewer=("aww",))


def test_users_are_independent(make_preference_store: MakePrefs) -> None:
    store = make_preference_store()
    store.put("a", FULL)
    store.put("b", ViewerPreferences(muted_communities=("cats",)))

    assert store.get("a") == FULL
    assert store.get("b") == ViewerPreferences(muted_communities=("cats",))
    assert store.get("c") == ViewerPreferences()


names = st.text(min_size=1, max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefs=st.builds(
        ViewerPreferences,
        allow_nsfw=st.none() | st.booleans(),
        muted_communities=st.lists(names, max_size=ViewerPreferences.MAX_COMMUNITIES).map(tuple),
        show_fewer=st.lists(names, max_size=5).map(tuple),
    )
)
def test_any_valid_preferences_round_trip(make_preference_store: MakePrefs, prefs: ViewerPreferences) -> None:
    store = make_preference_store()
    store.put("u", prefs)
    assert store.get("u") == prefs


@pytest.mark.parametrize("field", ["muted_communities", "show_fewer"])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (tuple(f"c{i}" for i in range(101)), "at most 100 communities"),
        (("ok", ""), "non-empty strings"),
        (("ok", 7), "non-empty strings"),
        ("politics", "must be a list"),
    ],
)
def test_invalid_lists_raise_value_error_naming_the_field(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}: .*{message}"):
        ViewerPreferences(**{field: value})


def test_exactly_max_communities_is_allowed_and_lists_become_tuples() -> None:
    names = [f"c{i}" for i in range(ViewerPreferences.MAX_COMMUNITIES)]
    prefs = ViewerPreferences(muted_communities=names, show_fewer=names)  # type: ignore[arg-type]

    assert prefs.muted_communities == prefs.show_fewer == tuple(names)
    hash(prefs)  # frozen and hashable: no list inside


def test_invalid_allow_nsfw_raises_value_error_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"^allow_nsfw: "):
        ViewerPreferences(allow_nsfw="yes")  # type: ignore[arg-type]


def test_from_json_validates_and_tolerates_missing_and_unknown_fields() -> None:
    assert ViewerPreferences.from_json(FULL.to_json()) == FULL
    assert ViewerPreferences.from_json(b'{"show_fewer": ["a"], "added_later": 1}') == ViewerPreferences(
        show_fewer=("a",)
    )
    with pytest.raises(ValueError, match=r"^muted_communities: "):
        ViewerPreferences.from_json(b'{"muted_communities": [""]}')
    with pytest.raises(ValueError):
        ViewerPreferences.from_json(b"[]")
    with pytest.raises(ValueError):
        ViewerPreferences.from_json(b"not json")


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def test_a_second_redis_client_sees_the_first_ones_writes(redis_url: str, redis_prefix: str) -> None:
    """Two replicas configured with the same URL share one viewer's preferences."""
    url = _redis_url(redis_url, redis_prefix)
    replica_a, replica_b = open_preference_store(url), open_preference_store(url)
    try:
        replica_a.put("u", FULL)
        assert replica_b.get("u") == FULL
        replica_b.put("u", ViewerPreferences(allow_nsfw=False))
        assert replica_a.get("u") == ViewerPreferences(allow_nsfw=False)
    finally:
        replica_a.close()
        replica_b.close()
    reopened = open_preference_store(url)  # and they outlive every client that wrote them
    assert reopened.get("u") == ViewerPreferences(allow_nsfw=False)
    reopened.close()


def test_the_redis_key_has_a_user_hash_tag_and_no_ttl(
    redis_url: str, redis_prefix: str, client: redis.Redis
) -> None:
    store = open_preference_store(_redis_url(redis_url, redis_prefix))
    assert isinstance(store, RedisPreferenceStore)
    key = f"{redis_prefix}:prefs:{{user-1}}"
    assert store.key("user-1") == key

    store.put("user-1", FULL)

    assert client.get(key) == FULL.to_json()
    assert client.pttl(key) == -1  # preferences persist
    store.close()


def test_an_unreadable_redis_value_raises_store_unavailable(
    redis_url: str, redis_prefix: str, client: redis.Redis
) -> None:
    store = open_preference_store(_redis_url(redis_url, redis_prefix))
    assert isinstance(store, RedisPreferenceStore)
    client.set(store.key("u"), b'{"muted_communities": "politics"}')

    with pytest.raises(StoreUnavailable, match="unreadable"):
        store.get("u")
    store.close()
