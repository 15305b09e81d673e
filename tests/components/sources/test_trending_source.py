"""Trending through the cache: computed once per minute and parameters, shared between instances (and
replicas, on Redis), and served anyway when the cache is down."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from feedmix.components.sources.trending_source import TrendingSource
from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.serving.runtime import Runtime
from feedmix.stores.backends import open_cache
from feedmix.stores.memory_cache import MemoryCache
from feedmix.testing import make_query
from tests.stores.cache_doubles import DownCache
from tests.stores.memcached_process import free_port


@pytest.fixture(scope="module")
def corpus() -> RedditCorpus:
    return RedditCorpus.load()


def _rows(source: TrendingSource, corpus: RedditCorpus) -> list[int]:
    q = make_query(source, now=corpus.now)
    return [int(r) for r in source.fetch(q).column("row")]


def test_the_list_is_computed_once_and_shared(corpus: RedditCorpus, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = MemoryCache()
    first, second = TrendingSource("trending", corpus, shared), TrendingSource("trending", corpus, shared)
    expected = _rows(first, corpus)
    assert len(expected) == 300 and len(set(expected)) == 300

    def never(*_: Any) -> Any:
        raise AssertionError("the second instance recomputed a list the cache holds")

    monkeypatch.setattr(second, "_rank", never)
    assert _rows(second, corpus) == expected
    # scores fall with age: the first of the list trends more than the last
    c = corpus
    age = lambda r: (c.now - c.created[r]) / 3600 + 2  # noqa: E731
    assert (
        max(c.score[expected[0]], 0) / age(expected[0]) ** 1.5
        >= max(c.score[expected[-1]], 0) / age(expected[-1]) ** 1.5
    )


def test_replicas_share_it_on_redis(corpus: RedditCorpus, redis_url: str, redis_prefix: str) -> None:
    url = f"{redis_url}?prefix={redis_prefix}&timeout_ms=2000"
    one, two = open_cache(url), open_cache(url)  # two clients: two processes' view of one Redis
    try:
        expected = _rows(TrendingSource("trending", corpus, one), corpus)
        other = TrendingSource("trending", corpus, two)
        other._rank = lambda *_: np.empty(0, dtype=np.int64)  # type: ignore[method-assign]
        assert _rows(other, corpus) == expected
    finally:
        one.close()
        two.close()


def test_a_cache_that_is_down_only_costs_the_computation(corpus: RedditCorpus) -> None:
    assert _rows(TrendingSource("trending", corpus, DownCache()), corpus) == _rows(
        TrendingSource("trending", corpus, MemoryCache()), corpus
    )


def test_the_feed_serves_through_a_cache_outage(tmp_path: Any) -> None:
    dead = f"redis://127.0.0.1:{free_port()}?timeout_ms=50&connect_timeout_ms=50"
    rt = Runtime.build(FeedmixConfig(state_dir=str(tmp_path), users=30, signals_corpus="off", cache_url=dead))
    try:
        body = rt.feeds.feed("home", "u0001", 20, debug=True)
        assert len([i for i in body["items"] if i["kind"] == "post"]) == 20 and not body["degraded"]
        trending = next(
            c for s in body["trace"]["stages"] for c in s["components"] if c["component"] == "trending"
        )
        assert trending["status"] == "ok" and trending["candidates_out"] > 0
    finally:
        rt.close()
