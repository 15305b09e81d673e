"""Ad event dedup: the same contract in memory, on a real Redis and on a Redis Cluster; Redis down raises."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from feedmix.ads.api.event_dedup import EventDedup, MemoryEventDedup, open_event_dedup
from feedmix.stores.errors import StoreUnavailable


@pytest.fixture(params=["memory", "redis", "redis_cluster"])
def dedup(request: pytest.FixtureRequest) -> Iterator[EventDedup]:
    if request.param == "memory":
        store = open_event_dedup("memory://")
    elif request.param == "redis_cluster":  # ids are keys of their own: the pipeline splits by node
        port = request.getfixturevalue("redis_cluster").ports[0]
        prefix = f"t{uuid.uuid4().hex[:10]}"
        store = open_event_dedup(
            f"redis://127.0.0.1:{port}/0?cluster=true&prefix={prefix}&ttl_s=60&timeout_ms=2000"
        )
    else:
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        store = open_event_dedup(f"{url}?prefix={prefix}&ttl_s=60")
    yield store
    store.close()


def test_first_time_wins_within_and_across_calls(dedup: EventDedup) -> None:
    assert dedup.first_seen(["a", "b", "a"]) == [True, True, False]
    assert dedup.first_seen(["b", "c"]) == [False, True]
    assert dedup.first_seen([]) == []
    dedup.forget(["c"])  # its processing failed: the retry must count
    assert dedup.first_seen(["c", "b"]) == [True, False]


def test_concurrent_retries_are_accepted_once(dedup: EventDedup) -> None:
    results: list[list[bool]] = []
    lock = threading.Lock()

    def send() -> None:
        got = dedup.first_seen([f"e{i}" for i in range(200)])
        with lock:
            results.append(got)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(200):
        assert sum(r[i] for r in results) == 1


def test_memory_forgets_oldest_beyond_its_bound() -> None:
    store = MemoryEventDedup(max_ids=2)
    assert store.first_seen(["a", "b", "c"]) == [True, True, True]
    assert store.first_seen(["a"]) == [True]  # forgotten: the bound is documented, not silent


def test_redis_down_raises_store_unavailable() -> None:
    store = open_event_dedup("redis://127.0.0.1:1/0?timeout_ms=50&connect_timeout_ms=50")
    with pytest.raises(StoreUnavailable, match="ad event dedup"):
        store.first_seen(["x"])
    with pytest.raises(ValueError, match="unsupported"):
        open_event_dedup("sqlite:///x")
