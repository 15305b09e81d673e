"""A small content build split into shards, and shard servers as real processes started here.

The content build (3,000 demo posts, exact index) is made once per session and split into 2 and 3
exact shards; the shard servers are ``feedmix index shard-serve`` processes, stopped by process id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from feedmix.bench.local_shards import ShardProcess, start_shards
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.ann.registry import load_index
from feedmix.retrieval.ann.row_index import RowIndex
from feedmix.retrieval.content_index import build_content_index
from feedmix.retrieval.shards.shard_build import build_shards


@dataclass(frozen=True)
class ShardedBuild:
    root: Path
    #: the unsharded exact index of the same vectors
    whole: RowIndex


@pytest.fixture(scope="session")
def sharded_build(tmp_path_factory: pytest.TempPathFactory, small_corpus: RedditCorpus) -> ShardedBuild:
    root = tmp_path_factory.mktemp("sharded-index")
    m = build_content_index(small_corpus, root / "content", "exact", threads=1, progress=False)
    for shards in (2, 3):
        build_shards(root, shards, "exact", threads=1)
    return ShardedBuild(root, load_index(root / "content" / m["index_dir"]))


@pytest.fixture(scope="module")
def three_shards(sharded_build: ShardedBuild) -> Iterator[list[ShardProcess]]:
    procs = start_shards(sharded_build.root, 3)
    yield procs
    for p in procs:
        p.stop()


@pytest.fixture(scope="module")
def two_shards_and_a_slow_replica(sharded_build: ShardedBuild) -> Iterator[list[ShardProcess]]:
    """Shard 0, shard 1, and a second server of shard 0 that takes 30 s over every search."""
    procs = start_shards(sharded_build.root, 2)
    slow = ShardProcess(sharded_build.root, 2, 0, delay_ms=30_000)
    procs.append(slow.wait_ready())
    yield procs
    for p in procs:
        p.stop()
