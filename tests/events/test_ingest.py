"""EventIngestor: durable log first, seen store second and allowed to fail."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from feedmix.events.backends import open_event_log
from feedmix.events.event_log import AppendResult, EventLogUnavailable
from feedmix.events.ingest import EventIngestor
from feedmix.events.memory_event_log import MemoryEventLog
from feedmix.events.post_ids import post_id_to_int
from feedmix.events.schema import Event, EventBatch
from feedmix.stores.backends import open_seen_store
from feedmix.stores.errors import StoreUnavailable
from feedmix.stores.memory_seen_store import MemorySeenStore
from feedmix.stores.seen_store import IdArray

MakeEvent = Callable[..., Event]
NOW = 1_800_000_000.0


def ids(*post_ids: str) -> list[int]:
    return [post_id_to_int(p) for p in post_ids]


class FailingSeenStore:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def add(self, user_id: str, post_ids: IdArray, ts: float) -> None:
        self.calls += 1
        raise self.error

    def get(self, user_id: str) -> IdArray:
        raise self.error

    def close(self) -> None:
        pass


class FailingLog(MemoryEventLog):
    def append(self, events: Sequence[Event]) -> AppendResult:
        raise EventLogUnavailable("disk full")


def test_missing_ts_is_filled_with_now_and_given_ts_is_kept(make_event: MakeEvent) -> None:
    log = MemoryEventLog()
    ingestor = EventIngestor(log, MemorySeenStore())
    batch = EventBatch(events=[make_event(ts=None), make_event(ts=123.5)])

    assert ingestor.ingest(batch, now=NOW) == AppendResult(accepted=2, duplicates=0)

    assert [e.ts for _, e in log.read()] == [NOW, 123.5]
    assert batch.events[0].ts is None  # the caller's batch is not mutated


def test_impressions_and_hides_mark_posts_seen_at_server_time(make_event: MakeEvent) -> None:
    seen = MemorySeenStore()
    ingestor = EventIngestor(MemoryEventLog(), seen)
    batch = EventBatch(
        events=[
            make_event(type="impression", post_id="a1", ts=5.0),
            make_event(type="click", post_id="b2"),
            make_event(type="upvote", post_id="c3"),
            make_event(type="downvote", post_id="d4"),
            make_event(type="hide", post_id="e5"),
            make_event(type="impression", post_id="f6", user_id="other"),
        ]
    )

    ingestor.ingest(batch, now=NOW)
    ingestor.ingest(EventBatch(events=[make_event(type="impression", post_id="g7")]), now=NOW + 1)

    # newest first: g7 at NOW+1, then a1/e5 at NOW (not the client's ts=5), larger id first on ties
    assert seen.get("u1").tolist() == [*ids("g7"), *sorted(ids("a1", "e5"), reverse=True)]
    assert seen.get("other").tolist() == ids("f6")


def test_a_retried_batch_is_deduplicated_but_still_updates_the_seen_store(make_event: MakeEvent) -> None:
    log = MemoryEventLog()
    batch = EventBatch(events=[make_event(post_id="a1")])
    EventIngestor(log, FailingSeenStore(StoreUnavailable("down"))).ingest(batch, now=NOW)
    seen = MemorySeenStore()

    result = EventIngestor(log, seen).ingest(batch, now=NOW)

    assert result == AppendResult(accepted=0, duplicates=1)
    assert seen.get("u1").tolist() == ids("a1")


def test_a_seen_store_failure_is_logged_and_counted_but_the_call_succeeds(
    make_event: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    log = MemoryEventLog()
    seen = FailingSeenStore(StoreUnavailable("connection refused"))
    ingestor = EventIngestor(log, seen)
    batch = EventBatch(events=[make_event(user_id="a"), make_event(user_id="b"), make_event(type="click")])

    with caplog.at_level(logging.WARNING, logger="feedmix.events.ingest"):
        result = ingestor.ingest(batch, now=NOW)

    assert result == AppendResult(accepted=3, duplicates=0)
    assert log.count() == 3
    assert seen.calls == 2  # one per user with impressions
    assert ingestor.seen_failures == 2
    assert sum("connection refused" in r.getMessage() for r in caplog.records) == 2


def test_an_unexpected_seen_store_error_does_not_fail_the_call_either(make_event: MakeEvent) -> None:
    ingestor = EventIngestor(MemoryEventLog(), FailingSeenStore(RuntimeError("bug")))

    assert ingestor.ingest(EventBatch(events=[make_event()]), now=NOW).accepted == 1
    assert ingestor.seen_failures == 1


def test_when_the_log_fails_the_seen_store_is_not_touched(make_event: MakeEvent) -> None:
    seen = MemorySeenStore()
    ingestor = EventIngestor(FailingLog(), seen)

    with pytest.raises(EventLogUnavailable):
        ingestor.ingest(EventBatch(events=[make_event(post_id="a1")]), now=NOW)

    assert seen.get("u1").size == 0


def test_redis_log_and_redis_seen_store(redis_url: str, redis_prefix: str, make_event: MakeEvent) -> None:
    log = open_event_log(f"{redis_url}?stream={redis_prefix}")
    seen = open_seen_store(f"{redis_url}?prefix={redis_prefix}")
    ingestor = EventIngestor(log, seen)
    batch = EventBatch(events=[make_event(post_id="a1", ts=None), make_event(type="hide", post_id="b2")])

    assert ingestor.ingest(batch, now=NOW) == AppendResult(accepted=2, duplicates=0)
    assert ingestor.ingest(batch, now=NOW) == AppendResult(accepted=0, duplicates=2)

    assert [e.post_id for _, e in log.read()] == ["a1", "b2"]
    assert log.read()[0][1].ts == NOW
    np.testing.assert_array_equal(np.sort(seen.get("u1")), np.sort(ids("a1", "b2")))
    assert ingestor.seen_failures == 0
    log.close()
    seen.close()


def test_a_dead_redis_seen_store_neither_fails_nor_stalls_ingestion(
    tmp_path: Path, make_event: MakeEvent
) -> None:
    log = open_event_log(f"sqlite:///{tmp_path / 'events.db'}")
    seen = open_seen_store("redis://127.0.0.1:1/0")  # nothing listens on port 1
    ingestor = EventIngestor(log, seen)

    started = time.perf_counter()
    result = ingestor.ingest(EventBatch(events=[make_event()]), now=NOW)
    elapsed = time.perf_counter() - started

    assert result.accepted == 1
    assert log.count() == 1
    assert ingestor.seen_failures == 1
    assert elapsed < 1.0
    log.close()
    seen.close()


# -- real-time aggregates --------------------------------------------------------------------


class Recorder:
    """An EventConsumer that records what it was given."""

    def __init__(self, error: Exception | None = None) -> None:
        self.applied: list[tuple[list[str], float]] = []
        self.error = error

    def apply(self, events: Sequence[Event], now: float) -> None:
        if self.error is not None:
            raise self.error
        self.applied.append(([e.event_id for e in events], now))


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_consumers_get_each_stored_event_exactly_once(
    make_event: MakeEvent, tmp_path: Path, backend: str
) -> None:
    """A retried batch and a batch mixing old and new events must not be counted twice."""
    log = open_event_log(f"sqlite:///{tmp_path / 'e.db'}" if backend == "sqlite" else "memory://")
    consumer = Recorder()
    ingestor = EventIngestor(log, MemorySeenStore(), consumers=[consumer])
    a, b, c = make_event(event_id="a"), make_event(event_id="b"), make_event(event_id="c")

    ingestor.ingest(EventBatch(events=[a, b]), now=NOW)
    ingestor.ingest(EventBatch(events=[a, b]), now=NOW + 1)  # a blind retry: nothing new
    ingestor.ingest(EventBatch(events=[b, c, c]), now=NOW + 2)  # one old, one new twice

    assert consumer.applied == [(["a", "b"], NOW), (["c"], NOW + 2)]
    log.close()


def test_consumers_see_the_filled_in_ts(make_event: MakeEvent) -> None:
    seen_ts: list[float | None] = []

    class TsRecorder:
        def apply(self, events: Sequence[Event], now: float) -> None:
            seen_ts.extend(e.ts for e in events)

    EventIngestor(MemoryEventLog(), MemorySeenStore(), consumers=[TsRecorder()]).ingest(
        EventBatch(events=[make_event(ts=None), make_event(ts=5.0)]), now=NOW
    )
    assert seen_ts == [NOW, 5.0]


def test_a_failing_consumer_is_counted_and_does_not_fail_the_call(make_event: MakeEvent) -> None:
    from prometheus_client import REGISTRY

    def failures() -> float:
        return REGISTRY.get_sample_value("feedmix_ingest_consumer_failures_total") or 0.0

    log = MemoryEventLog()
    healthy = Recorder()
    ingestor = EventIngestor(log, MemorySeenStore(), consumers=[Recorder(RuntimeError("bug")), healthy])
    before = failures()

    assert ingestor.ingest(EventBatch(events=[make_event(event_id="x")]), now=NOW).accepted == 1

    assert failures() - before == 1
    assert log.count() == 1
    assert healthy.applied == [(["x"], NOW)]  # one broken consumer does not starve the others


def test_when_the_log_fails_no_consumer_counts_the_events(make_event: MakeEvent) -> None:
    consumer = Recorder()
    with pytest.raises(EventLogUnavailable):
        EventIngestor(FailingLog(), MemorySeenStore(), consumers=[consumer]).ingest(
            EventBatch(events=[make_event()]), now=NOW
        )
    assert consumer.applied == []
