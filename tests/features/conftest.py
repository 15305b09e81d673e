"""Online stores per backend, over a small test registry (short TTLs, every dtype)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from redis.cluster import RedisCluster

from feedmix.bench.local_cluster import LocalCluster
from feedmix.features.backends import open_online_store
from feedmix.features.online_store import OnlineStore
from feedmix.features.redis_online_store import RedisOnlineStore
from feedmix.features.registry import FeatureDefinition, FeatureRegistry

MakeStore = Callable[..., OnlineStore]


def small_registry(ttl_s: float = 3600.0) -> FeatureRegistry:
    """Posts with one feature of each dtype (non-zero defaults, so defaults are visible), users and
    user×community pairs with one each."""
    return FeatureRegistry(
        [
            FeatureDefinition("post", "score", "float32", 0.5, ttl_s, "test", "a float"),
            FeatureDefinition("post", "count", "int64", -1, ttl_s, "test", "an int"),
            FeatureDefinition("post", "flag", "bool", True, ttl_s, "test", "a bool"),
            FeatureDefinition("user", "visits", "int64", 0, ttl_s, "test", "an int"),
            FeatureDefinition("user_community", "clicks", "int64", 0, ttl_s, "test", "an int"),
        ]
    )


def redis_store_url(request: pytest.FixtureRequest, **options: Any) -> str:
    redis_url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    # generous timeouts: these tests check semantics, not latency, and CI machines stall
    opts = {"prefix": prefix, "timeout_ms": 2000, "connect_timeout_ms": 2000, **options}
    return f"{redis_url}?{urlencode(opts)}"


@pytest.fixture(params=["memory", "redis", "redis_cluster"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _cluster_store(request: pytest.FixtureRequest, registry: FeatureRegistry) -> OnlineStore:
    cluster: LocalCluster = request.getfixturevalue("redis_cluster")
    client = RedisCluster(host="127.0.0.1", port=cluster.ports[0], socket_timeout=2, socket_connect_timeout=2)
    # a fresh prefix per test; the cluster dies with the session, so nothing to clean
    return RedisOnlineStore(client, registry, prefix=f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
def make_store(backend: str, request: pytest.FixtureRequest) -> Iterator[MakeStore]:
    """``make_store(registry=None)``: a store of this test's backend (Redis: the test's prefix)."""
    opened: list[OnlineStore] = []

    def make(registry: FeatureRegistry | None = None) -> OnlineStore:
        if backend == "redis_cluster":
            store = _cluster_store(request, registry or small_registry())
        else:
            url = "memory://" if backend == "memory" else redis_store_url(request)
            store = open_online_store(url, registry or small_registry())
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
