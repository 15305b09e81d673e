"""none://: the cache that holds nothing, so work read through it is computed on every read."""

from __future__ import annotations

from feedmix.stores.backends import open_cache
from feedmix.stores.no_cache import NoCache
from feedmix.stores.read_through import ReadThrough


def test_every_read_misses_and_writes_are_dropped() -> None:
    cache = open_cache("none://")
    assert isinstance(cache, NoCache)
    cache.set_many({"a": b"1"}, ttl_s=60)
    assert cache.get_many(["a", "b"]) == [None, None]
    cache.delete_many(["a"])
    cache.close()


def test_read_through_it_computes_each_time() -> None:
    calls: list[list[int]] = []

    def fill(keys: list[int]) -> list[int]:
        calls.append(keys)
        return [k * 2 for k in keys]

    rt = ReadThrough("t", NoCache(), fill, lambda v: str(v).encode(), lambda b: int(b), ttl_s=60)
    assert rt.get_many([1, 2]) == [2, 4]
    assert rt.get_many([1]) == [2]
    assert calls == [[1, 2], [1]]
