"""One contract for every cache backend: in-process, a real Redis and a real memcached started here."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from tests.stores.memcached_process import free_port, memcached_server

from feedmix.stores.backends import open_cache
from feedmix.stores.cache import Cache
from feedmix.stores.errors import StoreUnavailable


@pytest.fixture(scope="module")
def memcached_url() -> Iterator[str]:
    yield from memcached_server()


@pytest.fixture(params=["memory", "redis", "redis_cluster", "memcached"])
def make_cache(request: pytest.FixtureRequest) -> Iterator[Callable[[], Cache]]:
    options = f"prefix=t{uuid.uuid4().hex[:10]}&timeout_ms=2000&connect_timeout_ms=2000"
    if request.param == "memory":
        url = "memory://"
    elif request.param == "redis":
        url = f"{request.getfixturevalue('redis_url')}?{options}"
    elif request.param == "redis_cluster":  # keys over every master: MGET splits per node
        port = request.getfixturevalue("redis_cluster").ports[0]
        url = f"redis://127.0.0.1:{port}/0?cluster=true&{options}"
    else:
        url = f"{request.getfixturevalue('memcached_url')}?{options}"
    opened: list[Cache] = []

    def make() -> Cache:
        cache = open_cache(url)
        opened.append(cache)
        return cache

    yield make
    for c in opened:
        c.close()


def test_values_come_back_in_the_order_asked_and_misses_are_none(make_cache: Callable[[], Cache]) -> None:
    cache = make_cache()
    assert cache.get_many([]) == []
    cache.set_many({"a": b"1", "b": b"\x00\xff binary", "a long key " * 40: b"3"}, ttl_s=60)
    assert cache.get_many(["b", "missing", "a", "a long key " * 40]) == [b"\x00\xff binary", None, b"1", b"3"]
    cache.set_many({"a": b"one"}, ttl_s=60)  # a set replaces
    cache.delete_many(["b"])
    assert cache.get_many(["a", "b"]) == [b"one", None]


def test_a_hundred_keys_in_one_call_come_back_in_order(make_cache: Callable[[], Cache]) -> None:
    cache = make_cache()
    keys = [f"k{i}" for i in range(100)]  # on a cluster: spread over every master
    cache.set_many({k: k.encode() for k in keys[::2]}, ttl_s=60)
    assert cache.get_many(keys) == [k.encode() if i % 2 == 0 else None for i, k in enumerate(keys)]


def test_a_second_client_shares_what_a_remote_cache_holds(make_cache: Callable[[], Cache]) -> None:
    first, second = make_cache(), make_cache()
    first.set_many({"shared": b"x"}, ttl_s=60)
    expected = b"x" if getattr(first, "remote", False) else None  # in-process: one process's view
    assert second.get_many(["shared"]) == [expected]


def test_an_entry_is_gone_after_its_ttl(make_cache: Callable[[], Cache]) -> None:
    cache = make_cache()
    cache.set_many({"short": b"1"}, ttl_s=0.3)  # memcached rounds up to 1 s
    cache.set_many({"long": b"2"}, ttl_s=60)
    deadline = time.monotonic() + 5
    while cache.get_many(["short"]) != [None] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cache.get_many(["short", "long"]) == [None, b"2"]


@pytest.mark.parametrize("scheme", ["redis", "memcached"])
def test_a_cache_that_is_down_raises_store_unavailable(scheme: str) -> None:
    cache = open_cache(f"{scheme}://127.0.0.1:{free_port()}?timeout_ms=100&connect_timeout_ms=100")
    with pytest.raises(StoreUnavailable):
        cache.get_many(["a"])
    with pytest.raises(StoreUnavailable):
        cache.set_many({"a": b"1"}, ttl_s=5)
    cache.close()


def test_the_memory_cache_keeps_its_bound() -> None:
    cache = open_cache("memory://?max_entries=3")
    cache.set_many({str(i): b"v" for i in range(5)}, ttl_s=60)
    assert cache.get_many([str(i) for i in range(5)]) == [None, None, b"v", b"v", b"v"]
    with pytest.raises(ValueError, match="unsupported cache URL"):
        open_cache("ftp://nowhere")


def test_a_single_node_client_refuses_a_cluster_url() -> None:
    """Every Redis component opens ``make_any_client``; a new one built on ``make_client`` (one node)
    must not silently ignore ``cluster=true``."""
    from feedmix.stores.redis_conn import make_client

    with pytest.raises(ValueError, match="cluster=true"):
        make_client("redis://127.0.0.1:6379/0?cluster=true", {"cluster": "true"}, default_timeout_ms=50)
