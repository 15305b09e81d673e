"""Posts go to shards by a hash of their id: stable, balanced, and every id to exactly one shard."""

from __future__ import annotations

import numpy as np

from feedmix.retrieval.shards.partition import shard_of


def test_shards_are_balanced_and_stable() -> None:
    ids = np.arange(1_000_000, 1_400_000, dtype=np.int64)  # consecutive ids: what ranges would split
    for shards in (2, 4, 7):
        part = shard_of(ids, shards)
        sizes = np.bincount(part, minlength=shards)
        assert part.min() == 0 and part.max() == shards - 1
        assert np.all(np.abs(sizes - len(ids) / shards) < 5 * np.sqrt(len(ids)))
    # the same id maps to the same shard in any batch and any order
    shuffled = np.random.default_rng(0).permutation(ids)
    assert np.array_equal(shard_of(shuffled, 4), shard_of(ids, 4)[shuffled - ids[0]])


def test_one_shard_holds_everything() -> None:
    assert not shard_of(np.array([5, -3, 2**62]), 1).any()
