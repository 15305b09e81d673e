"""EngagementAggregator: counts from events, rows in the online store, windows that empty out."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from feedmix.events.post_ids import post_id_to_int
from feedmix.events.schema import Event
from feedmix.features.backends import open_online_store
from feedmix.features.definitions import CTR_PRIOR, default_registry, smoothed_ctr
from feedmix.features.memory_online_store import MemoryOnlineStore
from feedmix.features.online_store import OnlineStore
from feedmix.features.streaming_aggregates import EngagementAggregator
from feedmix.stores.errors import StoreUnavailable

from .conftest import MakeStore

T0 = 1_700_000_000.0  # a whole hour, so bucket edges are easy to reason about
COMMUNITY = {"p1": 0, "p2": 1, "p3": 0}  # p4 has no known community
NAMES = ["pics", "funny"]
_ids = itertools.count()


def community_of(post_ids: np.ndarray) -> np.ndarray:
    table = {post_id_to_int(k): v for k, v in COMMUNITY.items()}
    return np.array([table.get(int(p), -1) for p in post_ids], dtype=np.int64)


def ev(kind: str, user: str, post: str, ts: float | None) -> Event:
    return Event(event_id=f"e{next(_ids)}", type=kind, user_id=user, post_id=post, ts=ts)  # type: ignore[arg-type]


def aggregator(now: list[float] | None = None) -> EngagementAggregator:
    clock = now if now is not None else [T0]
    return EngagementAggregator(community_of, NAMES, clock=lambda: clock[0])


def test_post_counts_follow_the_events_per_window() -> None:
    clock = [T0 + 600]
    agg = aggregator(clock)
    agg.apply(
        [
            ev("impression", "u1", "p1", T0),
            ev("impression", "u2", "p1", T0 + 10),
            ev("click", "u1", "p1", T0 + 20),
            ev("impression", "u1", "p2", T0 - 2 * 3600),  # outside 1 h, inside 24 h
            ev("downvote", "u1", "p2", T0),  # not counted
        ],
        now=T0 + 600,
    )
    ids = np.array([post_id_to_int(p) for p in ("p1", "p2", "p9")], dtype=np.int64)

    assert [a.tolist() for a in agg.post_counts(ids, "1h")] == [[2, 0, 0], [1, 0, 0]]
    assert [a.tolist() for a in agg.post_counts(ids, "24h")] == [[2, 1, 0], [1, 0, 0]]
    assert [a.tolist() for a in agg.post_counts(ids, "7d")] == [[2, 1, 0], [1, 0, 0]]
    assert agg.applied == 4 and agg.ignored == 1
    clock[0] = T0 + 3600 + 300  # the 5-minute bucket of T0 has left the 1 h window
    assert [a.tolist() for a in agg.post_counts(ids, "1h")] == [[0, 0, 0], [0, 0, 0]]
    clock[0] = T0 + 2 * 86400  # gone from the 24 h window, still in the 7 d one
    assert [a.tolist() for a in agg.post_counts(ids, "24h")] == [[0, 0, 0], [0, 0, 0]]
    assert [a.tolist() for a in agg.post_counts(ids, "7d")] == [[2, 1, 0], [1, 0, 0]]
    with pytest.raises(ValueError, match="window"):
        agg.post_counts(ids, "30d")


def test_flush_writes_every_entity_with_smoothed_rates(make_store: MakeStore) -> None:
    store = make_store(default_registry())
    agg = aggregator()
    events = [ev("impression", "u1", p, T0) for p in ("p1", "p2", "p3", "p4")]
    events += [ev("click", "u1", "p1", T0), ev("hide", "u1", "p3", T0), ev("upvote", "u2", "p1", T0)]
    agg.apply(events, now=T0 + 1)

    written = agg.flush(store, now=T0 + 1)

    assert written == {"post": 4, "user": 2, "community": 2, "user_community": 3}
    post = store.read(
        "post", ["p1", "p3", "p4"], ["impressions_1h", "clicks_24h", "upvotes_1h", "hides_24h", "ctr_1h"]
    )
    assert post.columns["impressions_1h"].tolist() == [1, 1, 1]
    assert post.columns["clicks_24h"].tolist() == [1, 0, 0]
    assert post.columns["upvotes_1h"].tolist() == [1, 0, 0]
    assert post.columns["hides_24h"].tolist() == [0, 1, 0]
    assert post.columns["ctr_1h"].tolist() == pytest.approx([(1 + 20 * 0.05) / 21, 1 / 21, 1 / 21])
    pairs = store.read(
        "user_community", ["u1|pics", "u1|funny", "u2|pics"], ["impressions_24h", "clicks_24h", "hides_24h"]
    )
    assert pairs.columns["impressions_24h"].tolist() == [2, 1, 0]  # p4 has no community
    assert pairs.columns["clicks_24h"].tolist() == [1, 0, 0]
    assert pairs.columns["hides_24h"].tolist() == [1, 0, 0]
    assert store.read("user", ["u1", "u2"], ["clicks_24h"]).columns["clicks_24h"].tolist() == [1, 0]
    community = store.read("community", ["pics", "funny"], ["impressions_24h", "ctr_24h"])
    assert community.columns["impressions_24h"].tolist() == [2, 1]
    assert community.columns["ctr_24h"].tolist() == pytest.approx(smoothed_ctr([1, 0], [2, 1]).tolist())
    # nothing changed since: nothing to write
    assert agg.flush(store, now=T0 + 2) == {}


def test_rows_are_rewritten_when_events_leave_a_window_and_then_forgotten() -> None:
    store = MemoryOnlineStore(default_registry())
    agg = aggregator()
    agg.apply([ev("impression", "u1", "p1", T0), ev("click", "u1", "p1", T0)], now=T0)
    agg.flush(store, now=T0)

    # 1 h later the 1 h window is empty, the 24 h one is not: only the post rows change
    assert agg.flush(store, now=T0 + 3600) == {"post": 1}
    got = store.read("post", ["p1"], ["impressions_1h", "ctr_1h", "impressions_24h"])
    assert got.columns["impressions_1h"].tolist() == [0]
    assert got.columns["ctr_1h"].tolist() == [pytest.approx(CTR_PRIOR)]
    assert got.columns["impressions_24h"].tolist() == [1]

    # a day later the 24 h windows are empty, the 7 d ones are not: every row changes once
    assert agg.flush(store, now=T0 + 86400) == {"post": 1, "user": 1, "community": 1, "user_community": 1}
    user = store.read("user", ["u1"], ["impressions_24h", "impressions_7d", "clicks_7d"]).columns
    assert [user[k].tolist() for k in ("impressions_24h", "impressions_7d", "clicks_7d")] == [[0], [1], [1]]
    assert agg.flush(store, now=T0 + 2 * 86400) == {}
    # a week later every window is empty: final zero rows, then the aggregator forgets them
    assert agg.flush(store, now=T0 + 7 * 86400) == {"post": 1, "user": 1, "community": 1, "user_community": 1}
    assert store.read("user", ["u1"], ["impressions_7d"]).columns["impressions_7d"].tolist() == [0]
    assert store.read("post", ["p1"], ["ctr_7d"]).columns["ctr_7d"].tolist() == [pytest.approx(CTR_PRIOR)]
    assert agg.flush(store, now=T0 + 8 * 86400) == {}
    # a returning user starts from scratch
    agg.apply([ev("impression", "u1", "p2", T0 + 8 * 86400)], now=T0 + 8 * 86400)
    assert agg.flush(store, now=T0 + 8 * 86400)["user"] == 1
    got = store.read("user", ["u1"], ["impressions_24h", "impressions_7d"]).columns
    assert got["impressions_24h"].tolist() == [1] and got["impressions_7d"].tolist() == [1]


def test_comments_are_counted_per_post_user_and_community_in_every_window(make_store: MakeStore) -> None:
    store = make_store(default_registry())
    agg = aggregator()
    events = [ev("impression", "u1", "p1", T0), ev("comment", "u1", "p1", T0), ev("comment", "u2", "p1", T0)]
    events += [ev("comment", "u1", "p2", T0), ev("comment", "u1", "p4", T0)]  # p4: no community
    agg.apply(events, now=T0 + 1)
    agg.flush(store, now=T0 + 1)

    windows = ("comments_1h", "comments_24h", "comments_7d")
    post = store.read("post", ["p1", "p2", "p4", "p3"], list(windows)).columns
    assert [post[w].tolist() for w in windows] == [[2, 1, 1, 0]] * 3
    user = store.read("user", ["u1", "u2"], ["comments_24h", "comments_7d", "impressions_24h"]).columns
    assert user["comments_24h"].tolist() == [3, 1]
    assert user["comments_7d"].tolist() == [3, 1]
    assert user["impressions_24h"].tolist() == [1, 0]  # a comment is not an impression
    community = store.read("community", ["pics", "funny"], ["comments_24h", "comments_7d"]).columns
    assert community["comments_24h"].tolist() == [2, 1]
    assert community["comments_7d"].tolist() == [2, 1]
    # a comment leaves the rates alone: one impression, no click
    rates = store.read("post", ["p1"], ["ctr_24h", "ctr_7d"]).columns
    assert rates["ctr_24h"].tolist() == pytest.approx(smoothed_ctr([0], [1]).tolist())
    assert rates["ctr_7d"].tolist() == pytest.approx(smoothed_ctr([0], [1]).tolist())
    assert agg.applied == 5 and agg.ignored == 0


def test_the_7d_window_keeps_what_the_24h_window_dropped(make_store: MakeStore) -> None:
    store = make_store(default_registry())
    agg = aggregator()
    two_days = T0 - 2 * 86400
    events = [ev("impression", "u1", p, two_days) for p in ("p1", "p1", "p2", "p3")]
    events += [ev(k, "u1", "p1", two_days) for k in ("click", "upvote", "hide", "comment")]
    events += [ev("impression", "u2", "p1", T0), ev("click", "u2", "p1", T0)]  # recent: in both
    events += [ev("impression", "u1", "p1", T0 - 9 * 86400)]  # older than every window
    agg.apply(events, now=T0)
    agg.flush(store, now=T0)

    kinds = ("impressions", "clicks", "upvotes", "hides", "comments")

    def counts(entity: str, key: str, window: str, names: tuple[str, ...] = kinds) -> list[int]:
        got = store.read(entity, [key], [f"{k}_{window}" for k in names]).columns
        return [int(got[f"{k}_{window}"][0]) for k in names]

    assert counts("post", "p1", "24h") == [1, 1, 0, 0, 0]
    assert counts("post", "p1", "7d") == [3, 2, 1, 1, 1]
    assert counts("user", "u1", "24h") == [0, 0, 0, 0, 0]
    assert counts("user", "u1", "7d") == [4, 1, 1, 1, 1]
    assert counts("community", "pics", "24h") == [1, 1, 0, 0, 0]
    assert counts("community", "pics", "7d") == [4, 2, 1, 1, 1]  # p1 and p3
    assert counts("user_community", "u1|pics", "24h", kinds[:4]) == [0, 0, 0, 0]
    assert counts("user_community", "u1|pics", "7d", kinds[:4]) == [3, 1, 1, 1]
    assert counts("user_community", "u1|funny", "7d", kinds[:4]) == [1, 0, 0, 0]
    rates = {
        (entity, key, w): store.read(entity, [key], [f"ctr_{w}"]).columns[f"ctr_{w}"].tolist()
        for entity, key in (
            ("post", "p1"),
            ("user", "u1"),
            ("community", "pics"),
            ("user_community", "u1|pics"),
        )
        for w in ("24h", "7d")
    }
    assert rates["post", "p1", "24h"] == pytest.approx(smoothed_ctr([1], [1]).tolist())
    assert rates["post", "p1", "7d"] == pytest.approx(smoothed_ctr([2], [3]).tolist())
    assert rates["user", "u1", "24h"] == [pytest.approx(CTR_PRIOR)]
    assert rates["user", "u1", "7d"] == pytest.approx(smoothed_ctr([1], [4]).tolist())
    assert rates["community", "pics", "7d"] == pytest.approx(smoothed_ctr([2], [4]).tolist())
    assert rates["user_community", "u1|pics", "7d"] == pytest.approx(smoothed_ctr([1], [3]).tolist())
    assert agg.post_counts(np.array([post_id_to_int("p1")]), "7d")[0].tolist() == [3]


def test_events_without_ts_count_at_now() -> None:
    agg = aggregator([T0 + 10])
    agg.apply([ev("impression", "u1", "p1", None)], now=T0 + 10)
    assert agg.post_counts(np.array([post_id_to_int("p1")]), "1h")[0].tolist() == [1]


class _Flaky:
    """A store that fails its first write, then forwards to a real one."""

    def __init__(self, inner: OnlineStore) -> None:
        self.inner, self.registry, self.remote, self.failures = inner, inner.registry, inner.remote, 1

    def write(self, *args: object, **kwargs: object) -> None:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("down")
        self.inner.write(*args, **kwargs)  # type: ignore[arg-type]


def test_a_failed_flush_keeps_the_rows_for_the_next_one() -> None:
    real = open_online_store("memory://", default_registry())
    flaky = _Flaky(real)
    agg = aggregator()
    agg.apply([ev("impression", "u1", "p1", T0)], now=T0)

    with pytest.raises(StoreUnavailable):
        agg.flush(flaky, now=T0)  # type: ignore[arg-type]
    assert agg.flush(flaky, now=T0)["post"] == 1  # type: ignore[arg-type]
    assert real.read("post", ["p1"], ["impressions_24h"]).columns["impressions_24h"].tolist() == [1]


def test_only_features_the_store_defines_are_written() -> None:
    from feedmix.features.registry import FeatureDefinition, FeatureRegistry

    narrow = FeatureRegistry([FeatureDefinition("post", "clicks_1h", "int64", 0, 3600.0, "test", "clicks")])
    store = MemoryOnlineStore(narrow)
    agg = aggregator()
    agg.apply([ev("click", "u1", "p1", T0)], now=T0)

    assert agg.flush(store, now=T0) == {"post": 1}  # users and communities have no features here
    assert store.read("post", ["p1"], ["clicks_1h"]).columns["clicks_1h"].tolist() == [1]


def test_events_arriving_during_a_flush_write_are_not_blocked_nor_lost() -> None:
    real = MemoryOnlineStore(default_registry())
    agg = aggregator()
    p1 = np.array([post_id_to_int("p1")])

    class ApplyingStore:
        """Applies an event (and reads counts) while the flush is writing: would deadlock if the
        flush held the aggregator's lock during the store write."""

        registry, remote = real.registry, False

        def write(self, entity: str, *args: object, **kwargs: object) -> None:
            if entity == "post":
                agg.apply([ev("click", "u1", "p1", T0)], now=T0)
                assert agg.post_counts(p1, "1h")[1].tolist() == [1]
            real.write(entity, *args, **kwargs)  # type: ignore[arg-type]

    agg.apply([ev("impression", "u1", "p1", T0)], now=T0)
    agg.flush(ApplyingStore(), now=T0)  # type: ignore[arg-type]
    assert real.read("post", ["p1"], ["clicks_1h"]).columns["clicks_1h"].tolist() == [0]  # computed before

    assert agg.flush(real, now=T0)["post"] == 1  # the click made p1 dirty again
    assert real.read("post", ["p1"], ["clicks_1h"]).columns["clicks_1h"].tolist() == [1]
