"""Feature store faults, on a private redis-server: killed, restarted, stalled.

The feed must stay up on default features, say which component degraded, answer within its
deadline, and come back by itself when Redis does, with no counts lost to the outage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client import REGISTRY
from redis.backoff import NoBackoff
from redis.retry import Retry

from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus

from .feature_helpers import FEATURE_COLUMNS, biggest_community, build_runtime, by_id, component_trace, engage
from .redis_process import RedisProcess


@pytest.fixture(scope="module")
def corpus() -> RedditCorpus:
    return RedditCorpus.load(FeedmixConfig().posts_path())


@pytest.fixture
def server() -> Iterator[RedisProcess]:
    proc = RedisProcess()
    yield proc
    proc.kill()


def flush_failures() -> float:
    return REGISTRY.get_sample_value("feedmix_feature_flush_failures_total") or 0.0


def test_redis_killed_degrades_the_feed_and_it_recovers_when_redis_returns(
    tmp_path: Path, corpus: RedditCorpus, server: RedisProcess
) -> None:
    url = f"{server.url}?timeout_ms=200&connect_timeout_ms=200"
    rt = build_runtime(tmp_path, corpus, feature_store=url)
    community = biggest_community(corpus)
    try:
        first = rt.feeds.feed("community", "viewer", 10, debug=True, community=community)
        early, late = first["items"][0]["id"], first["items"][1]["id"]
        engage(rt, "clicker", [early], ("impression", "click"))
        assert rt.flusher is not None and rt.flusher.flush()
        healthy = rt.feeds.feed("community", "viewer", 10, debug=True, community=community)
        assert not healthy["degraded"]
        assert by_id(healthy)[early]["features"]["f.clicks_24h"] == 1

        server.kill()
        failures = flush_failures()
        down = rt.feeds.feed("community", "viewer", 10, debug=True, community=community)

        assert down["degraded"] is True and down["failed_components"] == ["online_features"]
        trace = component_trace(down, "online_features")
        assert trace["status"] == "fallback" and "unavailable" in trace["error"]
        assert len(down["items"]) == 10  # served, on defaults
        assert by_id(down)[early]["features"]["f.clicks_24h"] == 0
        assert set(down["items"][0]["features"]) == FEATURE_COLUMNS
        # events keep arriving; their rows cannot be written, and are not lost
        engage(rt, "clicker", [late], ("impression", "click"))
        assert rt.flusher.flush() is False
        assert flush_failures() - failures == 1

        server.start()  # same port, empty: a restart without persistence
        back = rt.feeds.feed("community", "viewer", 10, debug=True, community=community)
        assert not back["degraded"], back["failed_components"]  # the app was not restarted
        assert rt.flusher.flush() is True
        after = by_id(rt.feeds.feed("community", "viewer", 10, debug=True, community=community))
        assert after[late]["features"]["f.clicks_24h"] == 1  # counted during the outage
        assert after[early]["features"]["f.clicks_24h"] == 1  # written before it, put back after
        assert after[early]["features"]["f.community.impressions_24h"] == 2
    finally:
        rt.close()


def test_a_stalled_redis_still_gets_a_feed_within_the_deadline(
    tmp_path: Path, corpus: RedditCorpus, server: RedisProcess
) -> None:
    """Redis stops answering for 5 s (``DEBUG SLEEP``) and the socket timeout is 5 s too: the
    hydrator's own timeout (50 ms by default) bounds the read, the feed comes back on defaults,
    and the rest of the pipeline (filters, ranking) still had its time."""
    url = f"{server.url}?timeout_ms=5000&connect_timeout_ms=5000"
    rt = build_runtime(tmp_path, corpus, feature_timeout_ms=None, feature_store=url)
    patient = {"online_features.timeout_ms": 2000}  # for the requests that must not degrade
    sleeper = threading.Thread(target=lambda: server.client().execute_command("DEBUG", "SLEEP", "5"))
    try:
        warm = rt.feeds.feed("home", "u0001", 20, overrides=patient)  # the store answers
        assert not warm["degraded"], warm["failed_components"]
        sleeper.start()
        wait_until_asleep(server.port)

        t0 = time.perf_counter()
        body = rt.feeds.feed("home", "u0001", 20, debug=True)
        elapsed = time.perf_counter() - t0

        assert elapsed < 2.5  # generous; without the deadline bound this takes 5 s
        assert len(body["items"]) == 20
        assert body["failed_components"] == ["online_features"]
        trace = component_trace(body, "online_features")
        assert trace["status"] == "fallback" and "Timeout" in trace["error"]
        assert all(it["features"]["f.ctr_24h"] == pytest.approx(0.05) for it in body["items"])
        sleeper.join()
        again = rt.feeds.feed("home", "u0001", 20, overrides=patient)
        assert not again["degraded"], again["failed_components"]
    finally:
        if sleeper.ident is not None:
            sleeper.join()
        rt.close()


def wait_until_asleep(port: int) -> None:
    # no retries: redis-py's default would retry a timeout until the server wakes up
    probe = redis.Redis(port=port, socket_timeout=0.2, retry=Retry(NoBackoff(), 0))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            probe.ping()
        except redis.TimeoutError:
            return
        time.sleep(0.02)
    raise AssertionError("redis-server did not go to sleep")
