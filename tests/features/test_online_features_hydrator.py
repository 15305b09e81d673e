"""OnlineFeaturesHydrator: columns per entity, defaults and metrics for missing values, fallback
when the store is down, and a pipeline that stays up (degraded) and recovers with Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import redis
from prometheus_client import REGISTRY

from feedmix.components.candidate_hydrators.online_features_hydrator import OnlineFeaturesHydrator
from feedmix.core import CandidateBatch, Fallback
from feedmix.core.executor import PipelineExecutor, PipelineResult
from feedmix.core.pipeline import ComponentRegistry, Pipeline, PipelineConfig
from feedmix.core.query import Deadline, Query
from feedmix.events.post_ids import post_id_to_int
from feedmix.features.backends import open_online_store
from feedmix.features.online_store import OnlineStore
from feedmix.features.registry import FeatureDefinition, FeatureRegistry

from .conftest import MakeStore, redis_store_url
from .tcp_proxy import CuttableProxy


def registry() -> FeatureRegistry:
    entity_features = [
        FeatureDefinition("post", "ctr", "float32", 0.05, 3600.0, "test", "rate"),
        FeatureDefinition("post", "views", "int64", 0, 3600.0, "test", "count"),
        FeatureDefinition("user", "visits", "int64", 0, 3600.0, "test", "count"),
        FeatureDefinition("community", "size", "int64", -1, 3600.0, "test", "count"),
        FeatureDefinition("user_community", "clicks", "int64", 0, 3600.0, "test", "count"),
    ]
    return FeatureRegistry(entity_features)


def query(user: str = "u1", deadline_ms: float = 10_000.0) -> Query:
    return Query(user, "home", {}, Deadline.from_ms(deadline_ms), uuid.uuid4().hex, now=0.0)  # type: ignore[arg-type]


def missing_total(entity: str, feature: str) -> float:
    return (
        REGISTRY.get_sample_value("feedmix_feature_missing_total", {"entity": entity, "feature": feature})
        or 0.0
    )


def failures_total(entity: str) -> float:
    return REGISTRY.get_sample_value("feedmix_feature_read_failures_total", {"entity": entity}) or 0.0


def posts(*base36: str, community: list[int] | None = None) -> CandidateBatch:
    ids = [post_id_to_int(p) for p in base36]
    return CandidateBatch(ids, {"community": community or [0] * len(ids)})


def test_post_features_come_back_as_f_columns_with_defaults_counted(make_store: MakeStore) -> None:
    store = make_store(registry())
    store.write("post", ["abc", "xyz"], {"ctr": [0.5, 0.25], "views": [10, 20]}, ts=1.0)
    store.write("post", ["new"], {"views": [1]}, ts=1.0)  # ctr never written
    hydrator = OnlineFeaturesHydrator("online_features", store)
    views_before, ctr_before = missing_total("post", "views"), missing_total("post", "ctr")

    cols = hydrator.hydrate(query(), posts("xyz", "nothere", "abc", "new"))

    assert set(cols) == {"f.ctr", "f.views"}
    assert np.asarray(cols["f.views"]).tolist() == [20, 0, 10, 1]
    assert np.asarray(cols["f.ctr"]).tolist() == [0.25, pytest.approx(0.05), 0.5, pytest.approx(0.05)]
    assert missing_total("post", "views") - views_before == 1
    assert missing_total("post", "ctr") - ctr_before == 2
    assert hydrator.inline == (not store.remote)


def test_a_subset_of_features_can_be_asked_for_and_unknown_ones_fail_at_build(make_store: MakeStore) -> None:
    store = make_store(registry())
    store.write("post", ["abc"], {"views": [3]}, ts=1.0)

    cols = OnlineFeaturesHydrator("h", store, features=["views"]).hydrate(query(), posts("abc"))

    assert list(cols) == ["f.views"]
    with pytest.raises(ValueError, match=r"post\.nope"):
        OnlineFeaturesHydrator("h", store, features=["nope"])


def test_user_community_and_user_features_are_keyed_from_the_query_and_columns(make_store: MakeStore) -> None:
    store = make_store(registry())
    store.write("user_community", ["u1|pics", "u1|funny", "u2|pics"], {"clicks": [3, 4, 99]}, ts=1.0)
    store.write("community", ["pics", "funny"], {"size": [100, 200]}, ts=1.0)
    store.write("user", ["u1"], {"visits": [5]}, ts=1.0)
    names = ["funny", "pics", "news"]
    batch = posts("a", "b", "c", "d", community=[1, 0, 2, 1])

    pair = OnlineFeaturesHydrator("uc", store, entity="user_community", community_names=names)
    comm = OnlineFeaturesHydrator("c", store, entity="community", community_names=names)
    user = OnlineFeaturesHydrator("u", store, entity="user")

    assert np.asarray(pair.hydrate(query("u1"), batch)["f.user_community.clicks"]).tolist() == [3, 4, 0, 3]
    assert np.asarray(comm.hydrate(query("u1"), batch)["f.community.size"]).tolist() == [100, 200, -1, 100]
    assert np.asarray(user.hydrate(query("u1"), batch)["f.user.visits"]).tolist() == [5, 5, 5, 5]


def test_an_empty_batch_needs_no_read() -> None:
    dead = open_online_store("redis://127.0.0.1:1/0", registry())
    cols = OnlineFeaturesHydrator("h", dead).hydrate(query(), CandidateBatch.empty())
    assert {k: np.asarray(v).shape for k, v in cols.items()} == {"f.ctr": (0,), "f.views": (0,)}


def test_a_dead_store_raises_fallback_with_every_default() -> None:
    dead = open_online_store("redis://127.0.0.1:1/0?timeout_ms=50", registry())
    hydrator = OnlineFeaturesHydrator("h", dead)
    before = failures_total("post")

    with pytest.raises(Fallback) as info:
        hydrator.hydrate(query(), posts("abc", "xyz"))

    assert "unavailable" in info.value.reason
    assert np.asarray(info.value.value["f.ctr"]).tolist() == [pytest.approx(0.05)] * 2
    assert np.asarray(info.value.value["f.views"]).tolist() == [0, 0]
    assert failures_total("post") - before == 1
    assert hydrator.inline is False  # a network store is waited on from the pool


def test_no_read_is_attempted_once_the_deadline_has_passed(make_store: MakeStore) -> None:
    store = make_store(registry())
    store.write("post", ["abc"], {"views": [3]}, ts=1.0)
    with pytest.raises(Fallback, match="deadline"):
        OnlineFeaturesHydrator("h", store).hydrate(query(deadline_ms=0.0), posts("abc"))


# -- in a pipeline ---------------------------------------------------------------------------


class _Source:
    """Registered as a source factory: three fixed posts."""

    @staticmethod
    def build(identifier: str, deps: Any) -> Any:
        from feedmix.core import CandidateSource

        class Fixed(CandidateSource):
            def fetch(self, query: Query) -> CandidateBatch:
                return posts("abc", "xyz", "nothere")

        return Fixed(identifier)


def pipeline(store: OnlineStore) -> Pipeline:
    reg = ComponentRegistry()
    reg.register("fixed", lambda i, d, **o: _Source.build(i, d))
    reg.register("online_features", lambda i, d, **o: OnlineFeaturesHydrator(i, store, **o))
    config = PipelineConfig(
        name=f"features_{uuid.uuid4().hex[:6]}",
        surface="test",
        sources=["fixed"],
        candidate_hydrators=["online_features"],
        params={"online_features.timeout_ms": 0},  # only the store's timeout (and the deadline)
    )
    return Pipeline.build(config, reg, None)


def run(executor: PipelineExecutor, p: Pipeline) -> PipelineResult:
    q = Query("u1", p.surface, p.params(None), Deadline.from_ms(5000), uuid.uuid4().hex, now=0.0)
    return executor.run(p, q)


@pytest.fixture
def executor() -> Iterator[PipelineExecutor]:
    ex = PipelineExecutor(workers=2)
    yield ex
    ex.shutdown(wait_for_side_effects=False)


def test_redis_down_degrades_the_response_and_it_recovers_by_itself(
    request: pytest.FixtureRequest, redis_url: str, redis_prefix: str, executor: PipelineExecutor
) -> None:
    seed = open_online_store(redis_store_url(request), registry())
    seed.write("post", ["abc", "xyz"], {"views": [10, 20]}, ts=1.0)
    target = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs
    proxy = CuttableProxy(str(target.get("host", "127.0.0.1")), int(target.get("port", 6379)))
    store = open_online_store(f"{proxy.url}?prefix={redis_prefix}&timeout_ms=500", registry())
    p = pipeline(store)
    try:
        healthy = run(executor, p)
        assert not healthy.degraded
        by_id = dict(zip(healthy.batch.ids.tolist(), healthy.batch.column("f.views").tolist(), strict=True))
        assert by_id[post_id_to_int("xyz")] == 20

        proxy.cut()
        down = run(executor, p)
        assert down.degraded and down.failed_components == ["online_features"]
        trace = next(c for c in down.trace.components() if c.component == "online_features")
        assert trace.status == "fallback"
        assert len(down.batch) == 3  # the feed is still served, on default features
        assert down.batch.column("f.views").tolist() == [0, 0, 0]

        proxy.restore()
        back = run(executor, p)
        assert not back.degraded
        assert sorted(back.batch.column("f.views").tolist()) == [0, 10, 20]
    finally:
        store.close()
        seed.close()
        proxy.close()


# -- several entities, one read, bounded in time ------------------------------------------------


def test_several_entities_come_back_from_one_round_trip(make_store: MakeStore) -> None:
    store = make_store(registry())
    store.write("post", ["abc", "xyz"], {"ctr": [0.5, 0.25], "views": [10, 20]}, ts=1.0)
    store.write("community", ["pics"], {"size": [100]}, ts=1.0)
    store.write("user_community", ["u1|pics", "u2|funny"], {"clicks": [3, 99]}, ts=1.0)
    store.write("user", ["u1"], {"visits": [5]}, ts=1.0)
    hydrator = OnlineFeaturesHydrator(
        "online_features",
        store,
        entities=["post", "community", "user_community", "user"],
        community_names=["funny", "pics"],
    )
    before = getattr(store, "round_trips", 0)

    cols = hydrator.hydrate(query("u1"), posts("abc", "xyz", "new", community=[1, 0, 1]))

    if hasattr(store, "round_trips"):  # the Redis stores: one MGET for all four entities
        assert store.round_trips - before == 1
    got = {k: np.asarray(v).tolist() for k, v in cols.items()}
    assert got == {
        "f.ctr": [0.5, 0.25, pytest.approx(0.05)],
        "f.views": [10, 20, 0],
        "f.community.size": [100, -1, 100],
        "f.user_community.clicks": [3, 0, 3],
        "f.user.visits": [5, 5, 5],
    }


def test_features_can_be_chosen_per_entity_and_bad_combinations_fail_at_build() -> None:
    store = open_online_store("memory://", registry())
    store.write("user", ["u1"], {"visits": [7]}, ts=1.0)
    h = OnlineFeaturesHydrator("h", store, entities=["post", "user"], features={"post": ["views"]})

    assert set(h.hydrate(query("u1"), posts("abc"))) == {"f.views", "f.user.visits"}
    with pytest.raises(ValueError, match="not both"):
        OnlineFeaturesHydrator("h", store, entity="post", entities=["user"])
    with pytest.raises(ValueError, match="map entity"):
        OnlineFeaturesHydrator("h", store, entities=["post", "user"], features=["views"])
    with pytest.raises(ValueError, match="not hydrated here"):
        OnlineFeaturesHydrator("h", store, entities=["post"], features={"user": ["visits"]})
    with pytest.raises(ValueError, match="distinct"):
        OnlineFeaturesHydrator("h", store, entities=["post", "post"])


class _RecordingStore:
    """Answers defaults and records the reply timeout each read was given."""

    remote = True

    def __init__(self) -> None:
        self.inner = open_online_store("memory://", registry())
        self.registry = self.inner.registry
        self.timeouts: list[float | None] = []

    def read_many(self, requests: Any, *, timeout_s: float | None = None) -> Any:
        self.timeouts.append(timeout_s)
        return [self.inner.read(e, k, n) for e, k, n in requests]


def test_the_read_may_take_the_time_left_and_no_more_than_timeout_ms() -> None:
    store = _RecordingStore()
    hydrator = OnlineFeaturesHydrator("h", store)  # type: ignore[arg-type]
    reg = ComponentRegistry()
    reg.register("fixed", lambda i, d, **o: _Source.build(i, d))
    reg.register("h", lambda i, d, **o: hydrator)
    p = Pipeline.build(PipelineConfig("t", "t", sources=["fixed"], candidate_hydrators=["h"]), reg)

    def q(deadline_ms: float, overrides: dict[str, Any]) -> Query:
        return Query("u1", "t", p.params(overrides), Deadline.from_ms(deadline_ms), "r", now=0.0)

    hydrator.hydrate(q(10_000, {}), posts("abc"))
    hydrator.hydrate(q(10_000, {"h.timeout_ms": 30}), posts("abc"))
    hydrator.hydrate(q(20, {"h.timeout_ms": 30}), posts("abc"))
    hydrator.hydrate(q(10_000, {"h.timeout_ms": 0}), posts("abc"))

    default, own, deadline, unlimited = store.timeouts
    assert default == pytest.approx(0.050)  # timeout_ms defaults to 50 ms
    assert own == pytest.approx(0.030)
    assert deadline is not None and deadline <= 0.020
    assert unlimited is not None and 9.0 < unlimited <= 10.0  # 0: only the request deadline
    # the executor does not abandon it on timeout_ms: the hydrator answers defaults itself
    assert hydrator.timeout_s(q(10_000, {"h.timeout_ms": 30})) is None


def test_a_slow_redis_answers_defaults_within_the_request_deadline(
    request: pytest.FixtureRequest, redis_url: str, redis_prefix: str
) -> None:
    """The socket timeout is long (5 s) and Redis answers after 3 s: the read still gives up when
    the request's time is up (no own ``timeout_ms`` here), and the hydrator answers defaults."""
    target = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs
    proxy = CuttableProxy(str(target.get("host", "127.0.0.1")), int(target.get("port", 6379)))
    url = f"{proxy.url}?prefix={redis_prefix}&timeout_ms=5000&connect_timeout_ms=5000"
    store = open_online_store(url, registry())
    try:
        store.write("post", ["abc"], {"views": [10]}, ts=1.0)
        hydrator = OnlineFeaturesHydrator("h", store)
        assert np.asarray(hydrator.hydrate(query(), posts("abc"))["f.views"]).tolist() == [10]
        proxy.reply_delay_s = 3.0

        t0 = time.perf_counter()
        with pytest.raises(Fallback, match="Timeout") as info:
            hydrator.hydrate(query(deadline_ms=300), posts("abc"))
        elapsed = time.perf_counter() - t0

        assert elapsed < 2.0  # generous: well before the reply (3 s) or the socket timeout (5 s)
        assert np.asarray(info.value.value["f.views"]).tolist() == [0]
        proxy.reply_delay_s = 0.0
        # the timed-out connection was dropped, so no late reply is read by the next request
        assert np.asarray(hydrator.hydrate(query(), posts("abc"))["f.views"]).tolist() == [10]
    finally:
        store.close()
        proxy.close()
