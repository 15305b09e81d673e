"""The running service records every aggregate write in the offline history, so a training set built
from its event log carries the feature values serving had before each impression, never after."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.features.offline.training_set import build_training_set
from feedmix.features.offline_write_through import OfflineWriteThroughStore

from .feature_helpers import build_runtime, engage


@pytest.fixture(scope="module")
def corpus() -> RedditCorpus:
    return RedditCorpus.load(FeedmixConfig().posts_path())


def test_served_aggregates_reach_a_point_in_time_training_set(tmp_path: Path, corpus: RedditCorpus) -> None:
    events = f"sqlite:///{tmp_path / 'events.db'}"
    rt = build_runtime(tmp_path, corpus, event_log=events)
    try:
        assert isinstance(rt.offline_history, OfflineWriteThroughStore)
        assert rt.config.feature_offline_dir == str(tmp_path.resolve() / "offline_features")
        feed = rt.feeds.feed("home", "reader", 5)
        post = feed["items"][0]["id"]
        engage(rt, "reader", [post], ("impression", "click"))  # first impression: nothing flushed yet
        time.sleep(0.01)
        assert rt.flusher is not None and rt.flusher.flush()  # written online, stamped after the events
        time.sleep(0.01)
        engage(rt, "other", [post])  # second impression: sees the first flush
        assert rt.flusher.flush()
    finally:
        rt.close()  # appends the buffered history

    offline = tmp_path / "offline_features"
    assert list(offline.glob("entity=post/date=*/*.parquet")), "no post history was written"
    out = tmp_path / "train.parquet"
    summary = build_training_set(events, offline, out, progress=False)
    rows = sorted(pq.read_table(out).to_pylist(), key=lambda r: r["ts"])
    assert summary["rows"] == len(rows) == 2
    first, second = rows
    assert (first["user_id"], second["user_id"]) == ("reader", "other")
    assert first["clicked"] and not second["clicked"]
    # before any flush the post had no recorded value: the registry default (0 impressions)
    assert first["f.impressions_24h"] == 0 and first["f.clicks_24h"] == 0
    # the second impression sees what the first flush wrote (1 impression, 1 click), not its own
    assert second["f.impressions_24h"] == 1 and second["f.clicks_24h"] == 1


def test_offline_history_can_be_turned_off(tmp_path: Path, corpus: RedditCorpus) -> None:
    rt = build_runtime(tmp_path, corpus, feature_offline_dir="off")
    try:
        assert rt.offline_history is None
        engage(rt, "reader", [rt.feeds.feed("home", "reader", 1)["items"][0]["id"]])
        assert rt.flusher is not None and rt.flusher.flush()
    finally:
        rt.close()
    assert not (tmp_path / "offline_features").exists()
