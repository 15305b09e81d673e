"""A server configured with ``[retrieval] shards``: the feed is searched on shard processes, and stays
2xx, degraded and naming the shard, when one of them is killed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from feedmix.bench.local_shards import start_shards
from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.content_index import ContentIndex
from feedmix.retrieval.shards.scatter_gather import ScatterGatherIndex
from feedmix.retrieval.shards.sharded_content import parse_shard_addresses
from feedmix.serving.app import create_app
from feedmix.serving.runtime import Runtime

from .conftest import ShardedBuild

SOURCE = "embedding_content"


def test_addresses_parse_by_shard_and_replica() -> None:
    assert parse_shard_addresses(" a:1, b:2 ;c:3") == [["a:1", "b:2"], ["c:3"]]
    for bad in ("", ";", "a:1; ,"):
        with pytest.raises(ValueError):
            parse_shard_addresses(bad)


def component(body: dict[str, Any], name: str) -> dict[str, Any]:
    for stage in body["trace"]["stages"]:
        for c in stage["components"]:
            if c["component"] == name:
                return dict(c)
    raise AssertionError(f"{name} not in the trace")


def test_the_feed_stays_2xx_and_names_the_killed_shard(
    tmp_path: Path, small_corpus: RedditCorpus, sharded_build: ShardedBuild
) -> None:
    procs = start_shards(sharded_build.root, 2)
    cfg = FeedmixConfig(
        state_dir=str(tmp_path),
        users=200,
        event_log="memory://",
        feature_flush_interval_s=3600.0,
        index_watch_interval_s=0.0,
        index_dir=str(sharded_build.root),
        index_build_on_start=False,
        index_shards=";".join(p.address for p in procs),
    )
    rt = Runtime.build(cfg, corpus=small_corpus)
    try:
        assert rt.indexes is not None
        cur = rt.indexes.content.current()
        assert cur is not None and isinstance(cur.index, ContentIndex)
        assert isinstance(cur.index.index, ScatterGatherIndex)
        with TestClient(create_app(rt)) as client:
            params = {"user_id": "u0002", "debug": "true"}
            r = client.get("/v1/feed", params=params)
            assert r.status_code == 200
            body = r.json()
            whole = component(body, SOURCE)
            assert whole["status"] == "ok" and whole["candidates_out"] > 0
            assert SOURCE not in body["failed_components"]

            procs[1].kill()
            r = client.get("/v1/feed", params=params)
            assert r.status_code == 200
            body = r.json()
            part = component(body, SOURCE)
            assert body["degraded"] and SOURCE in body["failed_components"] and body["coverage"] < 1
            assert part["status"] == "fallback"
            assert "1 of 2 shards missing: shard 1 (UNAVAILABLE" in part["error"]
            assert part["candidates_out"] > 0 and len(body["items"]) > 0
    finally:
        rt.close()
        for p in procs:
            p.stop()
