"""What only the Redis backend has: key layout, one round trip, layout checks, failures, recovery."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import redis
from redis.crc import key_slot

from feedmix.features.backends import open_online_store
from feedmix.features.entity_keys import post_keys
from feedmix.features.redis_online_store import RedisOnlineStore, pack_mget
from feedmix.features.registry import FeatureDefinition
from feedmix.stores.errors import StoreUnavailable

from .conftest import redis_store_url, small_registry
from .tcp_proxy import CuttableProxy


@pytest.fixture
def store(request: pytest.FixtureRequest) -> Iterator[RedisOnlineStore]:
    s = open_online_store(redis_store_url(request), small_registry())
    assert isinstance(s, RedisOnlineStore)
    yield s
    s.close()


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_rows_are_packed_records_under_hash_tagged_keys_with_the_entity_ttl(
    store: RedisOnlineStore, raw: redis.Redis, redis_prefix: str
) -> None:
    store.write("post", ["1abc"], {"count": [3]}, ts=1.0)
    store.write("user_community", ["u1|pics", "u1|funny"], {"clicks": [1, 2]}, ts=1.0)

    post_key = f"{redis_prefix}:f:post:{{1abc}}"
    value = raw.get(post_key)
    assert isinstance(value, bytes)
    # 8 fingerprint + 8 ts + 1 mask byte + float32 + int64 + bool
    assert len(value) == 16 + 1 + 4 + 8 + 1
    assert 0 < raw.pttl(post_key) <= 3600 * 1000
    # all of one user's pairs share the user's cluster slot
    pairs = [f"{redis_prefix}:f:user_community:{{u1}}|pics", f"{redis_prefix}:f:user_community:{{u1}}|funny"]
    assert all(raw.exists(k) for k in pairs)
    assert key_slot(pairs[0].encode()) == key_slot(pairs[1].encode()) == key_slot(b"u1")


def test_a_batch_read_is_one_round_trip(store: RedisOnlineStore) -> None:
    ids = np.arange(1, 1001, dtype=np.int64)
    keys = post_keys(ids)
    store.write("post", keys, {"count": ids, "score": ids.astype(np.float32)}, ts=1.0)
    before = store.round_trips

    got = store.read("post", keys, ["count", "score", "flag"])

    assert store.round_trips - before == 1
    assert got.columns["count"].tolist() == ids.tolist()
    assert got.columns["flag"].tolist() == [True] * 1000  # never written: default


def test_the_packed_mget_matches_what_redis_py_sends() -> None:
    keys = [b"a", b"bb:{c}", b"x" * 2000]
    conn = redis.Connection()
    assert pack_mget(keys) == b"".join(conn.pack_command("MGET", *keys))


def test_a_registry_with_another_layout_reads_old_rows_as_missing(request: pytest.FixtureRequest) -> None:
    """Adding a feature changes the record layout: old rows must read as missing, never misread."""
    old = open_online_store(redis_store_url(request), small_registry())
    old.write("post", ["a"], {"score": [2.0], "count": [2], "flag": [False]}, ts=1.0)
    grown = small_registry()
    grown.register(FeatureDefinition("post", "extra", "float32", 0.0, 3600.0, "test", "new"))
    new = open_online_store(redis_store_url(request), grown)

    got = new.read("post", ["a"], ["score", "count", "extra"])
    assert got.missing.tolist() == [True]
    assert got.columns["count"].tolist() == [-1]

    new.write("post", ["a"], {"extra": [1.0]}, ts=2.0)  # a partial write starts a fresh record
    fresh = new.read("post", ["a"], ["count", "extra"])
    assert fresh.columns["count"].tolist() == [-1]
    assert fresh.columns["extra"].tolist() == [1.0]
    old.close()
    new.close()


def test_a_refused_connection_raises_store_unavailable() -> None:
    store = open_online_store("redis://127.0.0.1:1/0", small_registry())
    with pytest.raises(StoreUnavailable, match="ConnectionError"):
        store.read("post", ["a"], ["count"])
    with pytest.raises(StoreUnavailable, match="ConnectionError"):
        store.write("post", ["a"], {"count": [1]}, ts=1.0)


def test_a_redis_that_never_answers_fails_after_timeout_ms() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # the kernel completes connections; nobody ever answers
    host, port = sock.getsockname()
    try:
        store = open_online_store(f"redis://{host}:{port}/0?timeout_ms=50", small_registry())
        started = time.perf_counter()
        with pytest.raises(StoreUnavailable, match="Timeout"):
            store.read("post", ["a"], ["count"])
        # bounded by the 50 ms timeout (no retry on timeouts); the margin absorbs a slow machine
        assert time.perf_counter() - started < 1.0
    finally:
        sock.close()


def test_the_same_store_recovers_by_itself_when_redis_comes_back(redis_url: str, redis_prefix: str) -> None:
    target = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs
    proxy = CuttableProxy(str(target.get("host", "127.0.0.1")), int(target.get("port", 6379)))
    store = open_online_store(f"{proxy.url}?prefix={redis_prefix}&timeout_ms=500", small_registry())
    try:
        store.write("post", ["a"], {"count": [7]}, ts=1.0)
        assert store.read("post", ["a"], ["count"]).columns["count"].tolist() == [7]

        proxy.cut()
        with pytest.raises(StoreUnavailable):
            store.read("post", ["a"], ["count"])

        proxy.restore()
        assert store.read("post", ["a"], ["count"]).columns["count"].tolist() == [7]
    finally:
        store.close()
        proxy.close()


def test_a_cluster_read_is_one_pipeline_per_master_and_survives_a_stale_slot_map(redis_cluster: Any) -> None:
    """The fast cluster read sends packed GETs to each master; a slot map that is wrong (as after a
    failover) gets MOVED replies, and the read falls back to redis-py's, with the right values."""
    import uuid

    registry = small_registry()
    url = f"redis://127.0.0.1:{redis_cluster.ports[0]}/0?cluster=true&prefix=t{uuid.uuid4().hex[:8]}&timeout_ms=2000"
    store = open_online_store(url, registry)
    assert isinstance(store, RedisOnlineStore)
    try:
        ids = np.arange(1, 301, dtype=np.int64) * 7919
        keys = post_keys(ids)
        names = [d.name for d in registry.by_entity("post") if d.dtype == "float32"]
        values = {n: np.arange(len(ids), dtype=np.float32) + k for k, n in enumerate(names)}
        store.write("post", keys, values, ts=time.time())
        rkeys = store.redis_keys("post", keys)
        slots = {key_slot(k) for k in rkeys}
        assert len(slots) > 100  # the keys really span the cluster
        fast = store._mget(rkeys)
        assert all(v is not None for v in fast)
        owners = store._slot_owners(store._client)  # type: ignore[arg-type]
        assert len(set(owners)) == 3  # three masters serve the slots
        store._owners = [owners[0]] * 16384  # every slot on one master: two thirds now MOVED
        assert store._mget(rkeys) == fast and store._owners is None  # fell back, and forgot the map
        got = store.read("post", keys, names)
        assert not got.missing.any()
        for n in names:
            assert np.array_equal(got.columns[n], values[n])
    finally:
        store.close()
