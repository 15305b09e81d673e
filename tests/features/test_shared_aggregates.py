"""SharedAggregates: the counts of EngagementAggregator, kept in Redis by many workers, each event once.

The reference is the in-process aggregator fed the same events once, in log order: the shared counts
must give the same rows in the online store whatever the order, split and redelivery of the entries,
on one Redis and on a cluster.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from feedmix.events.post_ids import post_id_to_int
from feedmix.events.schema import Event
from feedmix.features.backends import open_online_store
from feedmix.features.definitions import default_registry
from feedmix.features.online_store import OnlineStore
from feedmix.features.shared_aggregates import SharedAggregates
from feedmix.features.streaming_aggregates import EngagementAggregator
from feedmix.stores.redis_conn import make_any_client

T = 1_700_000_000.0
NAMES = ["pics", "funny", "news"]
TYPES = ["impression", "impression", "impression", "click", "upvote", "hide", "comment", "downvote"]


def community_of(post_ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(post_ids, dtype=np.int64)
    return np.where(ids % 7 == 6, -1, ids % 3)  # some posts have no known community


@pytest.fixture(params=["redis", "redis_cluster"])
def aggregates(request: pytest.FixtureRequest) -> Iterator[SharedAggregates]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        namespace = request.getfixturevalue("redis_prefix")
    else:
        port = request.getfixturevalue("redis_cluster").ports[0]
        url = f"redis://127.0.0.1:{port}/0"
        namespace = f"t{uuid.uuid4().hex[:10]}"
    options = {"cluster": "true"} if request.param == "redis_cluster" else {}
    client = make_any_client(url, options, default_timeout_ms=5000)
    agg = SharedAggregates(client, community_of, NAMES, namespace=namespace)
    yield agg
    agg.close()


def events(n: int, seed: int = 1) -> list[tuple[int, Event]]:
    rng = random.Random(seed)
    out = []
    for offset in range(1, n + 1):
        e = Event(
            event_id=f"e{offset}",
            type=rng.choice(TYPES),  # type: ignore[arg-type]
            user_id=f"u{rng.randrange(6)}",
            post_id=f"p{rng.randrange(20):x}",
            ts=T - rng.uniform(0, 8 * 86400),  # some older than the longest window
        )
        out.append((offset, e))
    return out


def rows(store: OnlineStore, entity: str, keys: list[str]) -> dict[str, list[Any]]:
    names = [d.name for d in store.registry.by_entity(entity)]
    read = store.read(entity, keys, names)
    assert not read.missing.any(), f"{entity} rows missing: {np.asarray(keys)[read.missing]}"
    return {name: read.columns[name].tolist() for name in names}


def reference(entries: list[tuple[int, Event]], q: float) -> OnlineStore:
    agg = EngagementAggregator(community_of, NAMES, clock=lambda: q)
    agg.apply([e for _, e in entries], T)
    store = open_online_store("memory://", default_registry())
    agg.flush(store, q)
    return store


def entity_keys(entries: list[tuple[int, Event]]) -> dict[str, list[str]]:
    from feedmix.features.entity_keys import post_keys

    counted = [e for _, e in entries if e.type != "downvote"]
    posts = sorted({post_id_to_int(e.post_id) for e in counted})
    known = [(e.user_id, int(community_of(np.array([post_id_to_int(e.post_id)]))[0])) for e in counted]
    return {
        "post": [k.decode() for k in post_keys(np.array(posts)).tolist()],
        "user": sorted({e.user_id for e in counted}),
        "community": sorted({NAMES[c] for _, c in known if c >= 0}),
        "user_community": sorted({f"{u}|{NAMES[c]}" for u, c in known if c >= 0}),
    }


def test_rows_equal_the_in_process_aggregator_whatever_the_order_and_redelivery(
    aggregates: SharedAggregates,
) -> None:
    entries = events(600)
    shuffled = entries[:]
    random.Random(2).shuffle(shuffled)
    counted = 0
    for start in range(0, len(shuffled), 70):
        counted += aggregates.apply(shuffled[start : start + 70], T)
    # a worker died after applying these and before acknowledging: another applies them again
    assert aggregates.apply(shuffled[100:250], T) == 0
    assert counted == sum(e.type != "downvote" for _, e in entries)

    shared = open_online_store("memory://", default_registry())
    written = aggregates.flush(shared, T)
    assert written is not None and written["post"] == len(entity_keys(entries)["post"])
    expected = reference(entries, T)
    for entity, keys in entity_keys(entries).items():
        assert rows(shared, entity, keys) == rows(expected, entity, keys), entity


def test_windows_empty_out_at_their_due_time(aggregates: SharedAggregates) -> None:
    entries = [(1, Event(event_id="a", type="impression", user_id="u1", post_id="p1", ts=T - 60))]
    aggregates.apply(entries, T)
    store = open_online_store("memory://", default_registry())
    aggregates.flush(store, T)
    assert rows(store, "post", ["p1"])["impressions_1h"] == [1]
    # nothing new arrives; an hour later the post's 5-minute bucket has left the 1 h window
    later = T + 3600
    written = aggregates.flush(store, later)
    assert written == {"post": 1}  # only the post's 1 h window changed (users have no 1 h window)
    assert rows(store, "post", ["p1"])["impressions_1h"] == [0]
    assert rows(store, "post", ["p1"])["impressions_24h"] == [1]
    ids = np.array([post_id_to_int("p1")])
    assert [a.tolist() for a in aggregates.post_counts(ids, "24h", later)] == [[1], [0]]
    assert [a.tolist() for a in aggregates.post_counts(ids, "1h", later)] == [[0], [0]]


def test_only_the_lease_holder_flushes(aggregates: SharedAggregates) -> None:
    other = SharedAggregates(aggregates._client, community_of, NAMES, namespace=aggregates.namespace)
    store = open_online_store("memory://", default_registry())
    assert aggregates.flush(store, T) == {}
    assert other.flush(store, T) is None
    assert aggregates.flush(store, T) == {}  # renewing its own lease


def test_a_failed_store_write_leaves_the_entities_dirty(aggregates: SharedAggregates) -> None:
    aggregates.apply([(1, Event(event_id="a", type="click", user_id="u1", post_id="p1", ts=T))], T)

    class Down:
        registry = default_registry()

        def write(self, *args: Any, **kwargs: Any) -> None:
            raise ConnectionError("store down")

    with pytest.raises(ConnectionError):
        aggregates.flush(Down(), T)  # type: ignore[arg-type]
    store = open_online_store("memory://", default_registry())
    written = aggregates.flush(store, T)
    assert written is not None and written["post"] == 1 and written["user"] == 1
    assert rows(store, "post", ["p1"])["clicks_24h"] == [1]
