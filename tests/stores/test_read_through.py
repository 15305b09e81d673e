"""Read-through: hits served, misses filled once and written back, concurrent misses coalesced into one
fill, and a cache that is down only costs the fill."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.stores.cache_doubles import DownCache

from feedmix.stores.memory_cache import MemoryCache
from feedmix.stores.read_through import ReadThrough


class Filler:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[list[int]] = []
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, keys: list[int]) -> list[str]:
        with self.lock:
            self.calls.append(list(keys))
        time.sleep(self.delay)
        return [f"v{k}" for k in keys]


def _rt(cache: object, fill: Filler) -> ReadThrough[int, str]:
    return ReadThrough("test", cache, fill, str.encode, bytes.decode, ttl_s=60)  # type: ignore[arg-type]


@settings(max_examples=50, deadline=None)
@given(first=st.lists(st.integers(0, 30), max_size=20), second=st.lists(st.integers(0, 30), max_size=20))
def test_every_key_gets_its_value_and_each_is_filled_once(first: list[int], second: list[int]) -> None:
    fill = Filler()
    rt = _rt(MemoryCache(), fill)
    assert rt.get_many(first) == [f"v{k}" for k in first]
    assert rt.get_many(second) == [f"v{k}" for k in second]
    filled = [k for call in fill.calls for k in call]
    assert sorted(filled) == sorted(set(first) | set(second))  # never twice, duplicates asked once


def test_concurrent_misses_of_one_key_are_one_fill() -> None:
    fill = Filler(delay=0.3)
    rt = _rt(MemoryCache(), fill)
    results: list[str] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        results.append(rt.get(7))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["v7"] * 8 and fill.calls == [[7]]


def test_a_cache_that_is_down_only_costs_the_fill() -> None:
    fill = Filler()
    rt = _rt(DownCache(), fill)
    assert rt.get_many([1, 2]) == ["v1", "v2"]
    assert rt.get_many([1, 2]) == ["v1", "v2"]  # filled again: nothing could be kept
    assert fill.calls == [[1, 2], [1, 2]]


def test_a_failing_fill_raises_and_leaves_nothing_in_flight() -> None:
    def broken(keys: list[int]) -> list[str]:
        raise RuntimeError("the source is down")

    rt: ReadThrough[int, str] = ReadThrough("t", MemoryCache(), broken, str.encode, bytes.decode, ttl_s=5)
    with pytest.raises(RuntimeError):
        rt.get(1)
    assert rt._inflight == {}
    with pytest.raises(ValueError, match="staleness bound"):
        ReadThrough("t", MemoryCache(), broken, str.encode, bytes.decode, ttl_s=0)
