"""The consumer-group contract, on every backend: the embedded one over each log, and Redis Streams on
one Redis and on a cluster. Each entry reaches one consumer; unacknowledged entries of a consumer that
went quiet are claimed by another; acknowledged ones never come back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from feedmix.events.backends import open_event_log, open_event_stream
from feedmix.events.event_log import EventLog
from feedmix.events.event_stream import EventStream
from feedmix.events.schema import Event


@pytest.fixture
def log_and_stream(log_url: str) -> Iterator[tuple[EventLog, EventStream[Event]]]:
    log = open_event_log(log_url)
    stream = open_event_stream(log_url, log, group="g1")
    yield log, stream
    stream.close()
    log.close()


def test_each_entry_goes_to_one_consumer_in_log_order(
    log_and_stream: tuple[EventLog, EventStream[Event]], make_event: Callable[..., Event]
) -> None:
    log, stream = log_and_stream
    events = [make_event() for _ in range(10)]
    log.append(events)
    a = stream.read("a", 4)
    b = stream.read("b", 100)
    assert [e.event_id for _, e in a + b] == [e.event_id for e in events]
    assert [o for o, _ in a + b] == sorted(o for o, _ in a + b)
    assert stream.read("a", 10) == []
    assert stream.pending() == 10
    assert stream.lag() == 0


def test_acknowledged_entries_are_done_and_pending_ones_are_claimed(
    log_and_stream: tuple[EventLog, EventStream[Event]], make_event: Callable[..., Event]
) -> None:
    log, stream = log_and_stream
    log.append([make_event() for _ in range(6)])
    taken = stream.read("dies", 6)
    assert stream.ack([o for o, _ in taken[:2]]) == 2
    assert stream.ack([taken[0][0]]) == 0  # twice: nothing left to acknowledge
    assert stream.claim("lives", min_idle_ms=60_000, count=10) == []  # not idle long enough
    time.sleep(0.05)
    claimed = stream.claim("lives", min_idle_ms=20, count=10)
    assert [o for o, _ in claimed] == [o for o, _ in taken[2:]]
    assert [e.event_id for _, e in claimed] == [e.event_id for _, e in taken[2:]]
    assert stream.ack([o for o, _ in claimed]) == 4
    assert stream.pending() == 0


def test_blocking_read_returns_empty_when_nothing_arrives(
    log_and_stream: tuple[EventLog, EventStream[Event]],
) -> None:
    _, stream = log_and_stream
    assert stream.read("a", 10, block_ms=50) == []


def test_lag_counts_what_the_group_has_not_read(
    log_and_stream: tuple[EventLog, EventStream[Event]], make_event: Callable[..., Event]
) -> None:
    log, stream = log_and_stream
    log.append([make_event() for _ in range(5)])
    stream.read("a", 2)
    assert stream.lag() == 3


def test_bad_arguments_name_themselves(log_and_stream: tuple[EventLog, EventStream[Event]]) -> None:
    _, stream = log_and_stream
    with pytest.raises(ValueError, match="count"):
        stream.read("a", 0)
    with pytest.raises(ValueError, match="consumer"):
        stream.read("", 1)
