from pathlib import Path

import numpy as np

from feedmix.features.backends import open_online_store
from feedmix.features.signal_definitions import brand_key, signal_registry
from feedmix.signals.backfill import backfill
from feedmix.signals.devset import DevSet
from feedmix.signals.post_signals import PostSignals
from feedmix.signals.posts import Posts
from feedmix.signals.rules_labeler import RulesLabeler
from feedmix.signals.signal_archive import SignalArchive


class FailsOnce:
    """Rules, except that the second shard it is given fails (a model crashing mid-run)."""

    name = "rules"
    tier = 0

    def __init__(self) -> None:
        self.inner = RulesLabeler()
        self.calls = 0

    @property
    def version(self) -> str:
        return self.inner.version

    def label(self, posts: Posts) -> PostSignals:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("model fell over")
        return self.inner.label(posts)


def test_backfill_is_resumable_idempotent_and_survives_a_failing_shard(tmp_path: Path) -> None:
    posts = DevSet.load().posts
    labeler = FailsOnce()
    archive = SignalArchive(tmp_path, "rules", labeler.version)
    online = open_online_store("memory://", signal_registry())
    first = backfill(labeler, posts, archive, shard_size=100, online=online, progress=False)
    assert first.shards == 5 and first.shards_failed == 1 and first.shards_labelled == 4
    assert first.posts_labelled == len(posts) - 100
    assert archive.shards() == [0, 2, 3, 4]
    again = backfill(labeler, posts, archive, shard_size=100, online=online, progress=False)
    assert again.shards_resumed == 4 and again.shards_labelled == 1 and again.shards_failed == 0
    done = archive.read()
    assert done.ids == posts.ids  # every post, in corpus order, labelled once
    third = backfill(labeler, posts, archive, shard_size=100, online=online, progress=False)
    assert third.shards_labelled == 0 and third.shards_resumed == 5


def test_the_online_features_say_what_the_archive_says(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    posts = DevSet.load().posts.take(range(150))
    labeler = RulesLabeler()
    archive = SignalArchive(tmp_path, "rules", labeler.version)
    for url in ("memory://", f"{redis_url}?prefix={redis_prefix}"):
        online = open_online_store(url, signal_registry())
        backfill(labeler, posts, archive, shard_size=1000, online=online, progress=False)
        sig = archive.read()
        read = online.read("post_signals", sig.ids, ["intent", "commercial_prob", "brand_key", "category"])
        np.testing.assert_array_equal(read.columns["intent"], sig.intent)
        np.testing.assert_allclose(read.columns["commercial_prob"], sig.commercial_prob, rtol=1e-6)
        np.testing.assert_array_equal(read.columns["category"], sig.category)
        first = [sig.products_of(i)[0] if sig.product_counts[i] else None for i in range(len(sig))]
        want = [brand_key(p["brand"] or p["text"]) if p else 0 for p in first]
        assert read.columns["brand_key"].tolist() == want
        assert not read.missing.any()
        online.close()
        archive = SignalArchive(tmp_path / "again", "rules", labeler.version)


class FlakyStore:
    """The memory store, down for its first write."""

    def __init__(self) -> None:
        self.inner = open_online_store("memory://", signal_registry())
        self.writes = 0

    def write(self, entity, keys, columns, ts) -> None:  # type: ignore[no-untyped-def]
        self.writes += 1
        if self.writes == 1:
            from feedmix.stores.errors import StoreUnavailable

            raise StoreUnavailable("feature store write: down")
        self.inner.write(entity, keys, columns, ts)

    def read(self, *a, **k):  # type: ignore[no-untyped-def]
        return self.inner.read(*a, **k)


def test_an_online_store_that_was_down_gets_the_shard_on_the_next_run(tmp_path: Path) -> None:
    posts = DevSet.load().posts.take(range(200))
    labeler = RulesLabeler()
    archive = SignalArchive(tmp_path, "rules", labeler.version)
    store = FlakyStore()
    first = backfill(labeler, posts, archive, shard_size=100, online=store, online_name="mem", progress=False)
    assert first.shards_labelled == 2 and first.online_shards_failed == 1 and first.online_rows_written == 100
    second = backfill(
        labeler, posts, archive, shard_size=100, online=store, online_name="mem", progress=False
    )
    assert (
        second.shards_labelled == 0 and second.online_shards_failed == 0 and second.online_rows_written == 100
    )
    assert not store.read("post_signals", posts.ids, ["intent"]).missing.any()
