"""The feed on Redis-backed stores, and what happens when Redis is gone: the feed stays up."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from feedmix.config import FeedmixConfig
from feedmix.events.schema import Event, EventBatch
from feedmix.serving.cursor import Cursor
from feedmix.serving.runtime import Runtime


def _runtime(tmp_path: Path, seen: str, sessions: str) -> Runtime:
    cfg = FeedmixConfig(
        state_dir=str(tmp_path),
        users=50,
        event_log="memory://",
        seen_store=seen,
        session_store=sessions,
        # what degrades here must be Redis, never a slow machine running out the 250 ms deadline
        pipeline_params={"home": {"pipeline.deadline_ms": 10_000.0}},
    )
    return Runtime.build(cfg)


@pytest.fixture
def redis_runtime(tmp_path: Path, redis_url: str, redis_prefix: str) -> Iterator[Runtime]:
    url = f"{redis_url}?prefix={redis_prefix}"
    rt = _runtime(tmp_path, url, url)
    yield rt
    rt.close()


def test_pages_and_seen_posts_through_redis(redis_runtime: Runtime) -> None:
    feeds = redis_runtime.feeds
    cursor: Cursor | None = None
    served: list[str] = []
    for _ in range(4):
        body = feeds.feed("home", "u0009", 15, cursor)
        assert not body["degraded"], body["failed_components"]
        served += [it["id"] for it in body["items"]]
        cursor = Cursor.decode(body["next_cursor"])
    assert len(served) == 60 and len(set(served)) == 60
    # impressions go to the Redis seen store and filter the next session's feed
    events = [
        Event(event_id=uuid.uuid4().hex, type="impression", user_id="u0009", post_id=p) for p in served[:15]
    ]
    redis_runtime.ingestor.ingest(EventBatch(events=events), now=1.0)
    fresh = feeds.feed("home", "u0009", 15)
    assert not set(served[:15]) & {it["id"] for it in fresh["items"]}


def test_redis_down_degrades_but_serves(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0?timeout_ms=50&connect_timeout_ms=50"
    rt = _runtime(tmp_path, dead, dead)
    try:
        body = rt.feeds.feed("home", "u0001", 20)
        assert len(body["items"]) == 20
        assert body["degraded"] is True
        # the first page reads no scroll state, so only the seen store and the session write fail
        assert set(body["failed_components"]) == {"seen_posts", "session_record"}
        # without a record of what page 1 served, a cursor could repeat it: none is offered
        assert body["next_cursor"] is None
        ids = np.array([int(it["id"], 36) for it in body["items"]])
        assert len(np.unique(ids)) == 20
    finally:
        rt.close()
