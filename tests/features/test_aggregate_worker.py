"""AggregateWorker: consumers of one group over a real Redis Stream keep exact counts when one dies.

The worker that dies here applied its entries and never acknowledged them (the worst moment); the
other claims them once they are idle and applies them again. The rows the surviving worker's flush
writes must equal the in-process aggregator's over the same log, read once in order.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import pytest

from feedmix.events.backends import open_event_log, open_event_stream
from feedmix.events.event_log import EventLog
from feedmix.features.aggregate_worker import AggregateWorker
from feedmix.features.backends import open_online_store
from feedmix.features.definitions import default_registry
from feedmix.features.shared_aggregates import SharedAggregates
from feedmix.stores.redis_conn import make_any_client

from .test_shared_aggregates import NAMES, T, community_of, entity_keys, events, reference, rows


@pytest.fixture
def log_url(redis_url: str, redis_prefix: str) -> str:
    return f"{redis_url}?stream={redis_prefix}&timeout_ms=3000"


@pytest.fixture
def event_log(log_url: str) -> Iterator[EventLog]:
    log = open_event_log(log_url)
    yield log
    log.close()


def shared(redis_url: str, namespace: str) -> SharedAggregates:
    return SharedAggregates(
        make_any_client(redis_url, {}, default_timeout_ms=3000), community_of, NAMES, namespace=namespace
    )


def test_a_worker_dying_before_its_ack_loses_and_doubles_nothing(
    event_log: EventLog, log_url: str, redis_url: str, redis_prefix: str
) -> None:
    sent = [e for _, e in events(900, seed=5)]
    event_log.append(sent)
    stream = open_event_stream(log_url, event_log)
    dying = AggregateWorker(
        stream, shared(redis_url, redis_prefix), None, "dying", batch=100, clock=lambda: T
    )
    dying.step()  # counted and acknowledged
    taken = stream.read("dying", 150)  # read and counted: then the process is killed
    counted_before_death = dying.stats.counted + dying._aggregates.apply(taken, T)
    assert stream.pending() == 150

    store = open_online_store("memory://", default_registry())
    survivor = AggregateWorker(
        stream,
        shared(redis_url, redis_prefix),
        store,
        "survivor",
        batch=200,
        claim_idle_ms=50,
        block_ms=10,
        clock=lambda: T,
    )
    time.sleep(0.1)
    while survivor.step():
        pass
    assert survivor.stats.claimed == 150
    assert stream.pending() == 0 and stream.lag() == 0
    # the 150 it claimed were counted already: each event counts once between the two workers
    assert counted_before_death + survivor.stats.counted == sum(e.type != "downvote" for e in sent)
    survivor._maybe_flush(force=True)

    expected = reference(list(enumerate(sent, 1)), T)
    for entity, keys in entity_keys(list(enumerate(sent, 1))).items():
        assert rows(store, entity, keys) == rows(expected, entity, keys), entity


def test_workers_in_threads_share_the_stream_and_stop_cleanly(
    event_log: EventLog, log_url: str, redis_url: str, redis_prefix: str
) -> None:
    sent = [e for _, e in events(400, seed=9)]
    stop = threading.Event()
    workers = [
        AggregateWorker(
            open_event_stream(log_url, event_log),
            shared(redis_url, redis_prefix),
            open_online_store("memory://", default_registry()),
            f"w{i}",
            batch=25,
            block_ms=20,
        )
        for i in range(2)
    ]
    threads = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
    for t in threads:
        t.start()
    rng = random.Random(3)
    for start in range(0, len(sent), 40):
        event_log.append(sent[start : start + 40])
        time.sleep(rng.uniform(0, 0.01))
    stream = open_event_stream(log_url, event_log)
    deadline = time.monotonic() + 30
    while (stream.lag() or stream.pending()) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert sum(w.stats.acked for w in workers) == len(sent)
    counted = sum(w.stats.counted for w in workers)
    assert counted == sum(e.type != "downvote" for e in sent)
