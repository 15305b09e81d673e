"""The EventLog contract, run against every backend (memory, SQLite, Redis)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from feedmix.events.backends import open_event_log
from feedmix.events.event_log import AppendResult, EventLog
from feedmix.events.ingest import EventIngestor
from feedmix.events.schema import Event, EventBatch
from feedmix.stores.memory_seen_store import MemorySeenStore

MakeEvent = Callable[..., Event]


def assert_strictly_increasing(offsets: list[int]) -> None:
    assert all(a < b for a, b in itertools.pairwise(offsets)), offsets


def test_append_then_read_returns_the_same_events_in_order(
    event_log: EventLog, make_event: MakeEvent
) -> None:
    events = [
        make_event(type="impression", request_id="req-1", position=0, surface="home"),
        make_event(type="click", ts=1_700_000_123.25),
        make_event(type="hide", user_id="user.2:x", post_id="zzzzzzzzzzzz"),
    ]

    result = event_log.append(events)

    assert result == AppendResult(accepted=3, duplicates=0)
    rows = event_log.read()
    assert [event for _, event in rows] == events
    assert_strictly_increasing([offset for offset, _ in rows])
    assert rows[0][0] >= 1
    assert event_log.count() == 3


def test_an_event_id_already_in_the_log_is_counted_and_not_stored_again(
    event_log: EventLog, make_event: MakeEvent
) -> None:
    first = [make_event(event_id="a"), make_event(event_id="b")]
    event_log.append(first)

    # a retry with one changed payload and one new event: the original "a" must win
    retry = [make_event(event_id="a", post_id="changed"), make_event(event_id="b"), make_event(event_id="c")]
    result = event_log.append(retry)

    assert result == AppendResult(accepted=1, duplicates=2)
    stored = [event for _, event in event_log.read()]
    assert [e.event_id for e in stored] == ["a", "b", "c"]
    assert stored[0] == first[0]
    assert event_log.count() == 3


def test_a_repeated_id_inside_one_batch_is_stored_once(event_log: EventLog, make_event: MakeEvent) -> None:
    a = make_event(event_id="same")
    result = event_log.append([a, make_event(event_id="other"), make_event(event_id="same", type="click")])

    assert result == AppendResult(accepted=2, duplicates=1)
    assert next(e for _, e in event_log.read()) == a
    assert event_log.count() == 2


def test_the_result_names_the_positions_of_the_events_it_stored(
    event_log: EventLog, make_event: MakeEvent
) -> None:
    """Consumers that must count each event once (the streaming aggregates) apply exactly these."""
    assert event_log.append([make_event(event_id="a"), make_event(event_id="b")]).fresh == (0, 1)

    # an old id, a new one, a repeat inside the batch, another new one
    batch = [make_event(event_id=i) for i in ("b", "c", "c", "d")]
    result = event_log.append(batch)

    assert result.fresh == (1, 3)
    assert [e.event_id for _, e in event_log.read()][-2:] == ["c", "d"]
    assert event_log.append(batch).fresh == ()


def test_an_all_duplicate_batch_stores_nothing(event_log: EventLog, make_event: MakeEvent) -> None:
    batch = [make_event(), make_event()]
    event_log.append(batch)

    assert event_log.append(batch) == AppendResult(accepted=0, duplicates=2)
    assert event_log.count() == 2


def test_empty_append_is_a_no_op(event_log: EventLog) -> None:
    assert event_log.append([]) == AppendResult(accepted=0, duplicates=0)
    assert event_log.count() == 0
    assert event_log.read() == []


def test_reading_page_by_page_sees_every_event_once_in_append_order(
    event_log: EventLog, make_event: MakeEvent
) -> None:
    appended = [make_event() for _ in range(23)]
    for start in range(0, 23, 5):
        event_log.append(appended[start : start + 5])

    seen: list[Event] = []
    after = 0
    while page := event_log.read(after=after, limit=10):
        assert len(page) <= 10
        offsets = [offset for offset, _ in page]
        assert_strictly_increasing(offsets)
        assert offsets[0] > after
        seen.extend(event for _, event in page)
        after = offsets[-1]

    assert seen == appended
    assert event_log.read(after=after) == []


def test_offsets_of_a_later_batch_are_greater(event_log: EventLog, make_event: MakeEvent) -> None:
    event_log.append([make_event(), make_event()])
    last_of_first = event_log.read()[-1][0]

    event_log.append([make_event()])

    new_rows = event_log.read(after=last_of_first)
    assert len(new_rows) == 1
    assert new_rows[0][0] > last_of_first


@pytest.mark.parametrize(("after", "limit"), [(-1, 10), (0, 0)])
def test_read_rejects_bad_arguments(event_log: EventLog, after: int, limit: int) -> None:
    with pytest.raises(ValueError):
        event_log.read(after=after, limit=limit)


def test_concurrent_appenders_get_distinct_increasing_offsets_and_no_lost_events(
    event_log: EventLog, make_event: MakeEvent
) -> None:
    threads_n, batches, per_batch = 6, 10, 5
    # pairs of threads send the same ids, as a client retrying through two servers would
    batches_by_thread = [
        [
            [make_event(event_id=f"t{t // 2}-b{b}-e{e}", user_id=f"u{t}") for e in range(per_batch)]
            for b in range(batches)
        ]
        for t in range(threads_n)
    ]
    results: list[AppendResult] = []
    lock = threading.Lock()

    def run(thread_batches: list[list[Event]]) -> None:
        for batch in thread_batches:
            r = event_log.append(batch)
            with lock:
                results.append(r)

    workers = [threading.Thread(target=run, args=(tb,)) for tb in batches_by_thread]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    unique = threads_n // 2 * batches * per_batch
    assert sum(r.accepted for r in results) == unique
    assert sum(r.duplicates for r in results) == unique
    rows = event_log.read(limit=1000)
    assert len(rows) == unique == event_log.count()
    assert len({e.event_id for _, e in rows}) == unique
    assert_strictly_increasing([offset for offset, _ in rows])


def test_a_batch_with_one_invalid_event_is_rejected_whole_before_the_log(log_url: str) -> None:
    """All-or-nothing at the ingestion level: validation of the whole batch precedes any write."""
    log = open_event_log(log_url)
    ingestor = EventIngestor(log, MemorySeenStore())
    body = (
        b'{"events": ['
        b'{"event_id": "ok-1", "type": "click", "user_id": "u", "post_id": "abc"},'
        b'{"event_id": "bad", "type": "click", "user_id": "u", "post_id": "NOT-BASE36"},'
        b'{"event_id": "ok-2", "type": "click", "user_id": "u", "post_id": "abd"}'
        b"]}"
    )

    with pytest.raises(ValidationError) as info:
        ingestor.ingest(EventBatch.model_validate_json(body), now=1.0)

    assert [err["loc"] for err in info.value.errors()] == [("events", 1, "post_id")]
    assert log.count() == 0
    assert log.read() == []
    log.close()


def test_events_survive_reopening_the_log(persistent_log_url: str, make_event: MakeEvent) -> None:
    events = [make_event(), make_event()]
    log = open_event_log(persistent_log_url)
    log.append(events)
    log.close()

    reopened = open_event_log(persistent_log_url)
    assert [e for _, e in reopened.read()] == events
    assert reopened.append(events) == AppendResult(accepted=0, duplicates=2)
    reopened.close()
