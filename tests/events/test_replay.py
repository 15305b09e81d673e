"""Startup replay: the aggregates and recent engagements come back from the log after a restart."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from feedmix.config import ConfigFileError, FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.events.memory_event_log import MemoryEventLog
from feedmix.events.post_ids import int_to_post_id, post_id_to_int
from feedmix.events.replay import replay_recent
from feedmix.events.schema import Event
from feedmix.features.streaming_aggregates import EngagementAggregator
from feedmix.users.recent_engagements import RecentEngagements


def _event(kind: str, user: str, post: str, ts: float) -> Event:
    return Event(event_id=uuid.uuid4().hex, type=kind, user_id=user, post_id=post, ts=ts)  # type: ignore[arg-type]


def test_replay_applies_only_the_window_in_log_order() -> None:
    now = 1_700_000_000.0
    post = int_to_post_id(36**3)
    log = MemoryEventLog()
    log.append(
        [
            _event("impression", "old", post, now - 2 * 86_400),  # outside the day: no window has it
            _event("impression", "a", post, now - 3_000),
            _event("click", "a", post, now - 2_999),
            _event("impression", "b", post, now - 30),
            _event("impression", "future", post, now + 3_600),  # a skewed client clock: not yet
        ]
    )
    agg = EngagementAggregator(lambda p: np.full(len(p), -1, dtype=np.int64), [], clock=lambda: now)
    recent = RecentEngagements()
    result = replay_recent(log, [agg, recent], now, 86_400, batch=2)  # several batches
    assert (result.read, result.applied) == (5, 3)
    impressions, clicks = agg.post_counts(np.array([post_id_to_int(post)]), "24h")
    assert (impressions.tolist(), clicks.tolist()) == ([2], [1])
    impressions_1h, _ = agg.post_counts(np.array([post_id_to_int(post)]), "1h")
    assert impressions_1h.tolist() == [2]
    assert recent.get("a").tolist() == [post_id_to_int(post)] and recent.get("old").tolist() == []


def test_replay_rejects_a_nonpositive_window() -> None:
    with pytest.raises(ValueError, match="window_s"):
        replay_recent(MemoryEventLog(), [], 0.0, 0)
    with pytest.raises(ConfigFileError, match="replay_window_s"):
        FeedmixConfig(feature_replay_window_s=-1)


def test_a_restarted_runtime_serves_the_counts_it_had(tmp_path: Path) -> None:
    from tests.serving.feature_helpers import build_runtime, engage

    corpus = RedditCorpus.load(FeedmixConfig().posts_path())
    events = f"sqlite:///{tmp_path / 'events.db'}"
    rt = build_runtime(tmp_path, corpus, event_log=events)
    try:
        post = rt.feeds.feed("home", "reader", 1)["items"][0]["id"]
        engage(rt, "reader", [post], ("impression", "click"))
    finally:
        rt.close()
    again = build_runtime(tmp_path, corpus, event_log=events)
    try:
        assert again.aggregator is not None
        impressions, clicks = again.aggregator.post_counts(np.array([post_id_to_int(post)]), "24h")
        assert (impressions.tolist(), clicks.tolist()) == ([1], [1])
        assert again.recent_engagements is not None
        assert again.recent_engagements.get("reader").tolist() == [post_id_to_int(post)]
    finally:
        again.close()
    off = build_runtime(tmp_path / "off", corpus, event_log=events, feature_replay_window_s=0)
    try:
        assert off.aggregator is not None
        assert off.aggregator.post_counts(np.array([post_id_to_int(post)]), "24h")[0].tolist() == [0]
    finally:
        off.close()
