"""Store factories: URL schemes pick the backend, options are validated."""

from __future__ import annotations

import pytest

from feedmix.stores.backends import open_preference_store, open_seen_store, open_session_store
from feedmix.stores.memory_preference_store import MemoryPreferenceStore
from feedmix.stores.memory_seen_store import MemorySeenStore
from feedmix.stores.memory_session_store import MemorySessionStore
from feedmix.stores.redis_preference_store import RedisPreferenceStore
from feedmix.stores.redis_seen_store import RedisSeenStore
from feedmix.stores.redis_session_store import RedisSessionStore
from feedmix.stores.seen_store import DEFAULT_MAX_PER_USER, DEFAULT_SEEN_TTL_S
from feedmix.stores.session_store import DEFAULT_SESSION_TTL_S


def test_memory_urls_and_defaults() -> None:
    seen = open_seen_store("memory://")
    sessions = open_session_store("memory://")

    assert isinstance(seen, MemorySeenStore)
    assert (seen.max_per_user, seen.ttl_s) == (DEFAULT_MAX_PER_USER, DEFAULT_SEEN_TTL_S) == (2000, 30 * 86400)
    assert isinstance(sessions, MemorySessionStore)
    assert sessions.ttl_s == DEFAULT_SESSION_TTL_S == 3600
    assert isinstance(open_preference_store("memory://"), MemoryPreferenceStore)


def test_redis_urls_carry_options_without_connecting() -> None:
    seen = open_seen_store("redis://127.0.0.1:1/3?prefix=p&max_per_user=50&ttl_s=60&timeout_ms=20")
    sessions = open_session_store("rediss://user:pw@example.invalid:6380/0?ttl_s=1.5")

    assert isinstance(seen, RedisSeenStore)
    assert (seen.prefix, seen.max_per_user, seen.ttl_ms) == ("p", 50, 60_000)
    assert isinstance(sessions, RedisSessionStore)
    assert (sessions.prefix, sessions.ttl_ms) == ("feedmix", 1500)
    prefs = open_preference_store("redis://127.0.0.1:1/3?prefix=p&timeout_ms=20&connect_timeout_ms=20")
    assert isinstance(prefs, RedisPreferenceStore)
    assert prefs.prefix == "p"


@pytest.mark.parametrize(
    "url",
    [
        "postgres://x",
        "memory://?max_per_user=0",
        "memory://?max_per_user=ten",
        "memory://?ttl_s=-1",
        "memory://?ttl_s=inf",
        "memory://?maxperuser=10",
        "redis://127.0.0.1:6379/0?timeout_ms=0",
        "redis://127.0.0.1:6379/0?socket_timeout=1",
    ],
)
def test_bad_seen_store_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError):
        open_seen_store(url)


@pytest.mark.parametrize("url", ["sqlite:///x.db", "memory://?max_per_user=5", "redis://h:1/0?ttl_s=x"])
def test_bad_session_store_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError):
        open_session_store(url)


@pytest.mark.parametrize(
    "url", ["sqlite:///x.db", "memory://?ttl_s=60", "redis://h:1/0?ttl_s=60", "redis://h:1/0?timeout_ms=0"]
)
def test_bad_preference_store_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError):
        open_preference_store(url)


def test_stores_say_whether_they_are_remote() -> None:
    """Hydrators read ``remote`` to decide whether a store call may run inline."""
    assert open_seen_store("memory://").remote is False  # type: ignore[attr-defined]
    assert open_session_store("memory://").remote is False  # type: ignore[attr-defined]
    assert open_seen_store("redis://127.0.0.1:1/0").remote is True  # type: ignore[attr-defined]
    assert open_session_store("redis://127.0.0.1:1/0").remote is True  # type: ignore[attr-defined]
    assert open_preference_store("memory://").remote is False  # type: ignore[attr-defined]
    assert open_preference_store("redis://127.0.0.1:1/0").remote is True  # type: ignore[attr-defined]
