"""The signals backfill with its shards labelled as Ray tasks on a real cluster (``ray_executor``)
writes the archive the in-process backfill writes: the same shards, the same values to the bit (the
labelling is the same code on the same rows), less the time each shard was written."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from feedmix.jobs.executor import Executor
from feedmix.signals.backfill import backfill
from feedmix.signals.devset import DevSet
from feedmix.signals.posts import Posts
from feedmix.signals.rules_labeler import RulesLabeler
from feedmix.signals.signal_archive import SignalArchive


def archived(root: Path, posts: Posts, executor: Executor | None) -> tuple[SignalArchive, dict[str, object]]:
    labeler = RulesLabeler()
    archive = SignalArchive(root, "rules", labeler.version)
    report = backfill(labeler, posts, archive, shard_size=64, progress=False, executor=executor).as_dict()
    return archive, {k: v for k, v in report.items() if k not in ("seconds", "posts_per_second")}


def test_ray_tasks_write_the_archive_of_the_local_backfill(tmp_path: Path, ray_executor: Executor) -> None:
    posts = DevSet.load().posts
    local, local_report = archived(tmp_path / "local", posts, None)
    ray, ray_report = archived(tmp_path / "ray", posts, ray_executor)
    assert ray_report == local_report and local_report["shards_labelled"] == local_report["shards"] >= 5
    assert ray.shards() == local.shards()
    for k in local.shards():
        ours = pq.read_table(ray.shard_path(k)).drop_columns(["labelled_at"])
        theirs = pq.read_table(local.shard_path(k)).drop_columns(["labelled_at"])
        assert ours.equals(theirs), k
    assert ray.read().ids == posts.ids
    assert len(set(local.read().gate)) > 1  # the rules decide differently for different posts


def test_a_resumed_backfill_on_ray_labels_only_the_missing_shards(
    tmp_path: Path, ray_executor: Executor
) -> None:
    posts = DevSet.load().posts
    labeler = RulesLabeler()
    archive = SignalArchive(tmp_path, "rules", labeler.version)
    whole = backfill(labeler, posts, archive, shard_size=64, progress=False)
    archive.shard_path(2).unlink()
    archive.shard_path(5).unlink()
    again = backfill(labeler, posts, archive, shard_size=64, progress=False, executor=ray_executor)
    assert (again.shards_labelled, again.shards_resumed) == (2, whole.shards - 2)
    assert archive.read().ids == posts.ids
