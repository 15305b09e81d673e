"""Backend-specific checks: TTL refresh (fake clock / PTTL) and the Redis key layout."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import redis

from feedmix.stores.backends import open_seen_store, open_session_store
from feedmix.stores.memory_seen_store import MemorySeenStore
from feedmix.stores.memory_session_store import MemorySessionStore
from feedmix.stores.redis_seen_store import RedisSeenStore
from feedmix.stores.redis_session_store import RedisSessionStore

IDS = np.array([5, 6], dtype=np.int64)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def test_memory_seen_store_ttl_restarts_on_every_add() -> None:
    clock = FakeClock()
    store = MemorySeenStore(ttl_s=10.0, clock=clock)
    store.add("u", IDS[:1], ts=1.0)
    clock.t += 8
    store.add("u", IDS[1:], ts=2.0)
    clock.t += 8  # 16 s after the first add, 8 after the last

    assert store.get("u").tolist() == [6, 5]
    clock.t += 2
    assert store.get("u").size == 0


def test_memory_session_ttl_restarts_on_every_add_even_an_empty_one() -> None:
    clock = FakeClock()
    store = MemorySessionStore(ttl_s=10.0, clock=clock)
    store.add_served("s", IDS)
    clock.t += 8
    store.add_served("s", IDS[:0])
    clock.t += 8

    assert store.served("s").tolist() == [5, 6]
    clock.t += 2
    assert store.served("s").size == 0


def test_memory_session_store_sweeps_abandoned_sessions() -> None:
    clock = FakeClock()
    store = MemorySessionStore(ttl_s=1.0, clock=clock)
    for i in range(1023):
        store.add_served(f"old-{i}", IDS)
    clock.t += 2
    store.add_served("new", IDS)  # the 1024th add triggers a sweep

    assert list(store._sessions) == ["new"]


def test_redis_seen_key_has_a_user_hash_tag_and_the_ttl_restarts_on_add(
    redis_url: str, redis_prefix: str, client: redis.Redis
) -> None:
    store = open_seen_store(f"{redis_url}?prefix={redis_prefix}&ttl_s=3600")
    assert isinstance(store, RedisSeenStore)
    key = f"{redis_prefix}:seen:{{user-1}}"
    assert store.key("user-1") == key

    store.add("user-1", IDS, ts=1.0)
    assert 3_500_000 < client.pttl(key) <= 3_600_000
    assert client.zcard(key) == 2

    client.pexpire(key, 1000)
    store.add("user-1", IDS, ts=2.0)
    assert client.pttl(key) > 3_500_000
    store.close()


def test_redis_session_key_has_a_session_hash_tag_and_the_ttl_restarts_on_add(
    redis_url: str, redis_prefix: str, client: redis.Redis
) -> None:
    store = open_session_store(f"{redis_url}?prefix={redis_prefix}")
    assert isinstance(store, RedisSessionStore)
    key = f"{redis_prefix}:session:{{sess-1}}"
    assert store.key("sess-1") == key

    store.add_served("sess-1", IDS)
    assert 3_500_000 < client.pttl(key) <= 3_600_000  # default: 1 hour

    client.pexpire(key, 1000)
    store.add_served("sess-1", IDS[:0])  # an empty page still extends the session
    assert client.pttl(key) > 3_500_000
    assert client.scard(key) == 2
    store.close()


def test_memory_seen_store_sweeps_users_who_never_come_back() -> None:
    clock = FakeClock()
    store = MemorySeenStore(ttl_s=1.0, clock=clock)
    for i in range(1023):
        store.add(f"old-{i}", IDS, ts=1.0)
    clock.t += 2
    store.add("new", IDS, ts=2.0)  # the 1024th add triggers a sweep

    assert list(store._users) == ["new"]
