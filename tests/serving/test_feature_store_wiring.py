"""The feature store in the running service: events -> aggregates -> online store -> feed columns,
one round trip per request on Redis, missing values counted, and the served-feature log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.events.post_ids import post_id_to_int
from feedmix.features.definitions import smoothed_ctr
from feedmix.features.memory_online_store import MemoryOnlineStore
from feedmix.features.redis_online_store import RedisOnlineStore

from .feature_helpers import (
    FEATURE_COLUMNS,
    biggest_community,
    build_runtime,
    by_id,
    component_trace,
    engage,
    missing_total,
)


@pytest.fixture(scope="module")
def corpus() -> RedditCorpus:
    return RedditCorpus.load(FeedmixConfig().posts_path())


def test_feeds_carry_online_features_that_follow_the_events(tmp_path: Path, corpus: RedditCorpus) -> None:
    rt = build_runtime(tmp_path, corpus)
    try:
        assert isinstance(rt.online_store, MemoryOnlineStore)  # the default: memory://
        community = biggest_community(corpus)
        before = rt.feeds.feed("community", "viewer", 10, debug=True, community=community)
        assert not before["degraded"]
        assert set(before["items"][0]["features"]) == FEATURE_COLUMNS
        assert before["items"][0]["features"]["f.ctr_24h"] == pytest.approx(0.05)  # the prior
        target, other = before["items"][0]["id"], before["items"][1]["id"]

        engage(rt, "clicker", [target], ("impression", "click"))
        engage(rt, "clicker", [other])
        # the exploration source reads the same in-process counts
        impressions, clicks = rt.aggregator.post_counts(np.array([post_id_to_int(target)]), "24h")  # type: ignore[union-attr]
        assert (impressions.tolist(), clicks.tolist()) == ([1], [1])
        assert rt.pipelines["home"].components["exploration"].engagement is rt.aggregator  # type: ignore[attr-defined]
        assert rt.flusher is not None and rt.flusher.flush()
        post_missing, community_missing = (
            missing_total("post", "ctr_24h"),
            missing_total("community", "ctr_24h"),
        )

        after = rt.feeds.feed("community", "viewer", 10, debug=True, community=community)

        hydrated = component_trace(after, "online_features")["candidates_in"]
        f = by_id(after)[target]["features"]
        assert (f["f.impressions_24h"], f["f.clicks_24h"], f["f.impressions_1h"]) == (1, 1, 1)
        assert f["f.ctr_24h"] == pytest.approx(float(smoothed_ctr([1], [1])[0]))
        assert f["f.community.impressions_24h"] == 2
        assert (f["f.user_community.impressions_24h"], f["f.user.impressions_24h"]) == (0, 0)  # viewer's
        # every candidate but the two engaged posts got post defaults; all share the community row
        assert missing_total("post", "ctr_24h") - post_missing == hydrated - 2
        assert missing_total("community", "ctr_24h") - community_missing == 0

        # the clicker's own feed of the community carries the clicker's user×community counts
        mine = rt.feeds.feed("community", "clicker", 5, debug=True, community=community)
        assert target not in by_id(mine)  # seen
        g = mine["items"][0]["features"]
        assert (g["f.user_community.impressions_24h"], g["f.user_community.clicks_24h"]) == (2, 1)
        assert (g["f.user.impressions_24h"], g["f.user.clicks_24h"]) == (2, 1)
        # the columns are not in a normal (non-debug) response
        assert "features" not in rt.feeds.feed("home", "viewer", 5)["items"][0]
    finally:
        rt.close()


def test_on_redis_one_round_trip_per_request_reads_every_entity(
    tmp_path: Path, corpus: RedditCorpus, redis_url: str, redis_prefix: str
) -> None:
    url = f"{redis_url}?prefix={redis_prefix}&timeout_ms=2000&connect_timeout_ms=2000"
    rt = build_runtime(tmp_path, corpus, feature_store=url)
    try:
        store = rt.online_store
        assert isinstance(store, RedisOnlineStore)
        community = biggest_community(corpus)
        first = rt.feeds.feed("community", "viewer", 10, debug=True, community=community)
        target = first["items"][0]["id"]
        engage(rt, "clicker", [target], ("impression", "click"))
        assert rt.flusher is not None and rt.flusher.flush()

        for user in ("viewer", "clicker", "u0001"):
            before = store.round_trips
            body = rt.feeds.feed("community", user, 10, debug=True, community=community)
            assert store.round_trips - before == 1
            assert not body["degraded"], body["failed_components"]
        body = rt.feeds.feed("community", "viewer", 10, debug=True, community=community)
        f = by_id(body)[target]["features"]
        assert (f["f.impressions_24h"], f["f.clicks_24h"], f["f.community.impressions_24h"]) == (1, 1, 1)
        before = store.round_trips
        home = rt.feeds.feed("home", "clicker", 25, debug=True)
        assert store.round_trips - before == 1 and not home["degraded"]
        assert home["items"][0]["features"]["f.user.clicks_24h"] == 1
    finally:
        rt.close()


def test_sampled_requests_log_the_feature_values_the_hydrator_returned(
    tmp_path: Path, corpus: RedditCorpus
) -> None:
    rt = build_runtime(tmp_path, corpus, feature_log_sample_rate=1.0)
    try:
        assert rt.pipelines["home"].default_params["serving_feature_log.sample_rate"] == 1.0
        warmup = rt.feeds.feed("home", "u0003", 10)
        engage(rt, "someone", [it["id"] for it in warmup["items"][:3]], ("impression", "click"))
        assert rt.flusher is not None and rt.flusher.flush()
        logged = rt.feeds.feed("home", "u0003", 10, debug=True)
        skipped = rt.feeds.feed("home", "u0003", 10, overrides={"serving_feature_log.sample_rate": 0})
        assert any(it["features"]["f.clicks_24h"] == 1 for it in logged["items"])  # real values in it
    finally:
        rt.close()
    log = rt.served_feature_log
    assert log is not None and log.buffered_rows == 0  # close wrote everything
    with pytest.raises(RuntimeError, match="closed"):
        log.append({"ts": np.array([1.0])})

    table = pq.read_table(rt.config.feature_log_dir)
    requests = set(table.column("request_id").to_pylist())
    assert logged["request_id"] in requests and warmup["request_id"] in requests
    assert skipped["request_id"] not in requests
    rows = table.filter(table.column("request_id").to_numpy(zero_copy_only=False) == logged["request_id"])
    rows = rows.sort_by("position").to_pydict()
    items = logged["items"]
    assert rows["position"] == list(range(len(items)))
    assert rows["post_id"] == [it["id"] for it in items]
    assert rows["user_id"] == ["u0003"] * len(items) and rows["sample_rate"] == [1.0] * len(items)
    assert rows["score"] == pytest.approx([it["score"] for it in items])
    for column in FEATURE_COLUMNS:
        assert rows[column] == pytest.approx([it["features"][column] for it in items]), column
