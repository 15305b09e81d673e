"""The coordinator against real shard processes: exact merges, a killed shard, a slow one, failover."""

from __future__ import annotations

import time

import numpy as np
import pytest

from feedmix.bench.local_shards import ShardProcess
from feedmix.retrieval.ann.exclusion_set import ExclusionSet
from feedmix.retrieval.shards.partition import shard_of
from feedmix.retrieval.shards.scatter_gather import HedgePolicy, NoShardAnswered, ScatterGatherIndex

from .conftest import ShardedBuild

K = 100
SLOW_S = 30.0  # the slow replica's delay: an answer long before it was not waiting for it


def queries(build: ShardedBuild, n: int = 12) -> np.ndarray:
    """Post vectors of the build, a little perturbed and renormalised (user-like queries)."""
    rng = np.random.default_rng(7)
    rows = rng.choice(len(build.whole), n, replace=False)
    index = build.whole
    vecs = np.stack([index._index.reconstruct(int(r)) for r in rows]).astype(np.float32)  # type: ignore[attr-defined]
    vecs += rng.normal(scale=0.05, size=vecs.shape).astype(np.float32)
    out: np.ndarray = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
    return out


def assert_same_top_k(got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, np.ndarray]) -> None:
    """Same scores in the same order, and the same ids; posts of equal score (duplicate titles) may
    come in either order, and at the k-th score either of them may be the one cut."""
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-6)
    for g_ids, g_sc, w_ids, w_sc in zip(got[0], got[1], want[0], want[1], strict=True):
        above = w_sc[-1] + 1e-6
        assert set(g_ids[g_sc > above].tolist()) == set(w_ids[w_sc > above].tolist())


def test_merge_equals_the_unsharded_exact_top_k(
    sharded_build: ShardedBuild, three_shards: list[ShardProcess]
) -> None:
    index = ScatterGatherIndex.connect([[p.address] for p in three_shards], timeout_s=10.0)
    try:
        assert index.shards == 3 and index.dim == sharded_build.whole.dim
        assert len(index) == len(sharded_build.whole)
        q = queries(sharded_build)
        res = index.search_covered(q, K)
        want = sharded_build.whole.search(q, K)
        assert res.coverage is not None and res.coverage.complete
        assert res.coverage.answered == (0, 1, 2)
        assert_same_top_k((res.ids, res.scores), want)
        # exclusions are routed to their shards and the merge is still exact
        exclude = ExclusionSet.of(want[0][:, :30].ravel())
        got = index.search(q, K, exclude=exclude)
        assert_same_top_k(got, sharded_build.whole.search(q, K, exclude=exclude))
        assert not exclude.contains(got[0]).any()
    finally:
        index.close()


def test_a_killed_shard_gives_partial_results_and_names_it(
    sharded_build: ShardedBuild, two_shards_and_a_slow_replica: list[ShardProcess]
) -> None:
    shard0 = two_shards_and_a_slow_replica[0]
    victim = ShardProcess(sharded_build.root, 2, 1).wait_ready()
    index = ScatterGatherIndex.connect([[shard0.address], [victim.address]], timeout_s=10.0)
    try:
        q = queries(sharded_build)
        assert index.search_covered(q, K).coverage.complete  # type: ignore[union-attr]
        victim.kill()
        res = index.search_covered(q, K)
        cov = res.coverage
        assert cov is not None and not cov.complete
        assert cov.answered == (0,) and set(cov.missing) == {1}
        assert "UNAVAILABLE" in cov.missing[1] and "shard 1" in cov.describe()
        # what came back is shard 0's exact answer: only its posts, best first
        assert np.all(shard_of(res.ids[res.ids >= 0], 2) == 0)
        mine = ExclusionSet.from_mask(sharded_build.whole.ids, shard_of(sharded_build.whole.ids, 2) == 1)
        assert_same_top_k((res.ids, res.scores), sharded_build.whole.search(q, K, exclude=mine))
        assert index.stats["partial"] == 1
    finally:
        index.close()
        victim.stop()


def test_a_slow_shard_is_hedged_to_its_replica(
    sharded_build: ShardedBuild, two_shards_and_a_slow_replica: list[ShardProcess]
) -> None:
    fast0, shard1, slow0 = two_shards_and_a_slow_replica
    # the slow server is shard 0's first choice; the hedge goes to its replica
    index = ScatterGatherIndex.connect(
        [[slow0.address, fast0.address], [shard1.address]],
        timeout_s=SLOW_S / 3,
        hedge=HedgePolicy(initial_delay_s=0.05),
    )
    try:
        q = queries(sharded_build)
        t0 = time.perf_counter()
        res = index.search_covered(q, K)
        took = time.perf_counter() - t0
        assert res.coverage is not None and res.coverage.complete and res.coverage.hedged == (0,)
        assert index.stats["hedges"] == 1 and index.stats["hedges_won"] == 1
        assert took < SLOW_S  # it did not wait for the slow server
        assert_same_top_k((res.ids, res.scores), sharded_build.whole.search(q, K))
    finally:
        index.close()


def test_a_slow_shard_without_replica_is_cut_at_the_deadline(
    sharded_build: ShardedBuild, two_shards_and_a_slow_replica: list[ShardProcess]
) -> None:
    _, shard1, slow0 = two_shards_and_a_slow_replica
    index = ScatterGatherIndex.connect([[slow0.address], [shard1.address]], timeout_s=0.5)
    try:
        t0 = time.perf_counter()
        res = index.search_covered(queries(sharded_build), K)
        took = time.perf_counter() - t0
        cov = res.coverage
        assert cov is not None and cov.answered == (1,) and set(cov.missing) == {0}
        assert cov.hedged == (0,)  # resent to its only address first: it was slow there too
        assert took < SLOW_S
        assert np.all(shard_of(res.ids[res.ids >= 0], 2) == 1)
    finally:
        index.close()


def test_a_dead_replica_fails_over_and_no_answer_at_all_raises(
    sharded_build: ShardedBuild, two_shards_and_a_slow_replica: list[ShardProcess]
) -> None:
    fast0, shard1, _ = two_shards_and_a_slow_replica
    dead = ShardProcess(sharded_build.root, 2, 0).wait_ready()
    dead_address = dead.address
    dead.kill()
    dead.stop()
    q = queries(sharded_build)
    index = ScatterGatherIndex(
        [[dead_address, fast0.address], [shard1.address]], dim=q.shape[1], timeout_s=10.0
    )
    try:
        res = index.search_covered(q, K)
        assert res.coverage is not None and res.coverage.complete and index.stats["failovers"] == 1
    finally:
        index.close()
    gone = ScatterGatherIndex([[dead_address]], dim=q.shape[1], timeout_s=10.0)
    try:
        with pytest.raises(NoShardAnswered, match="shard 0"):
            gone.search(q, K)
    finally:
        gone.close()
