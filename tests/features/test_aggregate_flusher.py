"""AggregateFlusher: rows reach the store by the timer and at close, a failing store loses no counts,
and the first good flush after an outage puts back rows a restarted store lost."""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np
import pytest
from prometheus_client import REGISTRY

from feedmix.events.post_ids import post_id_to_int
from feedmix.events.schema import Event
from feedmix.features.aggregate_flusher import AggregateFlusher
from feedmix.features.definitions import default_registry
from feedmix.features.memory_online_store import MemoryOnlineStore
from feedmix.features.streaming_aggregates import EngagementAggregator
from feedmix.stores.errors import StoreUnavailable

T0 = 1_700_000_000.0
_ids = itertools.count()


def ev(kind: str, user: str, post: str, ts: float = T0) -> Event:
    return Event(event_id=f"f{next(_ids)}", type=kind, user_id=user, post_id=post, ts=ts)  # type: ignore[arg-type]


def aggregator(clock: list[float]) -> EngagementAggregator:
    return EngagementAggregator(
        lambda ids: np.zeros(len(ids), dtype=np.int64), ["pics"], clock=lambda: clock[0]
    )


def impressions(store: Any, post: str) -> int:
    return int(store.read("post", [post], ["impressions_24h"]).columns["impressions_24h"][0])


def flush_failures() -> float:
    return REGISTRY.get_sample_value("feedmix_feature_flush_failures_total") or 0.0


class Switchable:
    """A memory store that can be switched off (raises like a dead Redis) and wiped (a restart)."""

    def __init__(self) -> None:
        self.inner = MemoryOnlineStore(default_registry())
        self.registry, self.remote, self.up = self.inner.registry, False, True

    def write(self, *args: Any, **kwargs: Any) -> None:
        if not self.up:
            raise StoreUnavailable("connection refused")
        self.inner.write(*args, **kwargs)

    def read(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.read(*args, **kwargs)

    def restart_empty(self) -> None:
        self.inner = MemoryOnlineStore(default_registry())
        self.up = True


def test_the_timer_writes_changed_rows_without_being_asked() -> None:
    clock = [T0]
    agg = aggregator(clock)
    store = MemoryOnlineStore(default_registry())
    flusher = AggregateFlusher(agg, store, interval_s=0.02)
    try:
        agg.apply([ev("impression", "u1", "p1"), ev("impression", "u2", "p1")], now=T0)
        deadline = time.monotonic() + 10
        while impressions(store, "p1") != 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert impressions(store, "p1") == 2
    finally:
        flusher.close()


def test_close_makes_a_final_flush() -> None:
    clock = [T0]
    agg = aggregator(clock)
    store = MemoryOnlineStore(default_registry())
    flusher = AggregateFlusher(agg, store, interval_s=3600)  # the timer never fires here
    agg.apply([ev("impression", "u1", "p1")], now=T0)
    assert impressions(store, "p1") == 0

    flusher.close()
    flusher.close()  # idempotent

    assert impressions(store, "p1") == 1
    assert flusher.flushes == 1


def test_a_failing_store_is_counted_and_retried_and_no_count_is_lost() -> None:
    clock = [T0]
    agg = aggregator(clock)
    store = Switchable()
    flusher = AggregateFlusher(agg, store, interval_s=3600, start=False)  # type: ignore[arg-type]
    agg.apply([ev("impression", "u1", "p1")], now=T0)
    store.up = False
    before = flush_failures()

    assert flusher.flush() is False
    agg.apply([ev("impression", "u2", "p1"), ev("click", "u2", "p1")], now=T0)  # during the outage
    assert flusher.flush() is False

    assert flush_failures() - before == 2
    assert (flusher.failures, flusher.consecutive_failures) == (2, 2)
    store.up = True
    assert flusher.flush() is True
    assert flusher.consecutive_failures == 0
    got = store.read("post", ["p1"], ["impressions_24h", "clicks_24h"]).columns
    assert (int(got["impressions_24h"][0]), int(got["clicks_24h"][0])) == (2, 1)


def test_after_an_outage_every_row_is_rewritten_so_a_restarted_store_gets_them_back() -> None:
    clock = [T0]
    agg = aggregator(clock)
    store = Switchable()
    flusher = AggregateFlusher(agg, store, interval_s=3600, start=False)  # type: ignore[arg-type]
    agg.apply([ev("impression", "u1", "quiet"), ev("impression", "u1", "busy")], now=T0)
    assert flusher.flush()
    store.up = False  # Redis dies and comes back empty; "quiet" gets no new events meanwhile
    agg.apply([ev("impression", "u2", "busy")], now=T0)
    assert not flusher.flush()
    store.restart_empty()

    assert flusher.flush()

    assert impressions(store, "quiet") == 1
    assert impressions(store, "busy") == 2
    # without an outage, only changed rows are written
    agg.apply([ev("impression", "u3", "busy")], now=T0)
    assert agg.flush(store) == {"post": 1, "user": 1, "community": 1, "user_community": 1}  # type: ignore[arg-type]


def test_window_edges_through_the_aggregator() -> None:
    """An impression at 10:07 counts in the 1 h window until 11:04:59 and not at 11:05:00 (its
    5-minute bucket has left), and in the 24 h window until 09:59:59 the next day."""
    ten = T0 - T0 % 86400 + 10 * 3600  # 10:00 UTC, a whole hour
    clock = [ten + 7 * 60]
    agg = aggregator(clock)
    agg.apply([ev("impression", "u1", "p1", ts=ten + 7 * 60)], now=clock[0])
    p1 = np.array([post_id_to_int("p1")])

    def count(at: float, window: str) -> int:
        clock[0] = at
        return int(agg.post_counts(p1, window)[0][0])

    assert count(ten + 3600 + 5 * 60 - 1, "1h") == 1
    assert count(ten + 3600 + 5 * 60, "1h") == 0
    assert count(ten + 86400 - 1, "24h") == 1
    assert count(ten + 86400, "24h") == 0


def test_bad_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        AggregateFlusher(aggregator([T0]), MemoryOnlineStore(default_registry()), interval_s=0)
