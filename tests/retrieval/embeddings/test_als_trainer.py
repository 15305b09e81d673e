"""ALS learns planted structure, folds users in exactly as implicit does, and is reproducible."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from feedmix.retrieval.embeddings.als_trainer import ALSParams, als_fold_in, train_als
from feedmix.retrieval.embeddings.interactions import Interactions, build_matrix
from feedmix.retrieval.embeddings.topk import top_k

BLOCKS, USERS_PER_BLOCK, ITEMS_PER_BLOCK = 3, 40, 30
SMALL = ALSParams(factors=8, regularization=0.05, alpha=10.0, iterations=10, seed=7, num_threads=1)


def block_log(seed: int = 0, density: float = 0.3) -> Interactions:
    """Users of block b like a random ``density`` share of block b's items and nothing else."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for b in range(BLOCKS):
        for u in range(USERS_PER_BLOCK):
            liked = np.flatnonzero(rng.random(ITEMS_PER_BLOCK) < density) + b * ITEMS_PER_BLOCK
            users += [b * USERS_PER_BLOCK + u] * liked.size
            items += liked.tolist()
    n = len(users)
    return Interactions(
        np.array(users, dtype=np.int64), np.array(items, dtype=np.int64), np.ones(n, np.float32), np.zeros(n)
    )


def test_users_retrieve_items_of_their_own_block() -> None:
    matrix = build_matrix(block_log())
    emb = train_als(matrix, SMALL)
    scores = emb.user_vectors @ emb.item_vectors.T
    recs = top_k(scores, 10, exclude=matrix.seen.toarray() > 0)
    user_block = emb.user_ids // USERS_PER_BLOCK
    item_block = emb.item_ids[recs] // ITEMS_PER_BLOCK
    hit_rate = float(np.mean(item_block == user_block[:, None]))
    assert hit_rate > 0.95  # random retrieval would land in the own block 1/3 of the time


def test_fold_in_places_a_new_user_in_their_block() -> None:
    emb = train_als(build_matrix(block_log()), SMALL)
    newcomer = np.zeros((1, emb.item_ids.size), dtype=np.float32)
    newcomer[0, [31, 35, 40]] = 1.0  # three items of block 1
    vec = als_fold_in(emb.item_vectors, sp.csr_matrix(newcomer), regularization=0.05, alpha=10.0)
    recs = top_k(vec @ emb.item_vectors.T, 10, exclude=newcomer > 0)
    assert set((emb.item_ids[recs[0]] // ITEMS_PER_BLOCK).tolist()) == {1}


def test_fold_in_matches_implicits_own_user_solve() -> None:
    from implicit.cpu.als import AlternatingLeastSquares

    rng = np.random.default_rng(3)
    x = sp.random(60, 40, density=0.1, random_state=4, format="csr", dtype=np.float32)
    x.data[:] = rng.integers(1, 4, x.nnz)
    x.data[:5] *= -1  # implicit reads negatives as confident zeros; so must we
    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AlternatingLeastSquares(
            factors=6, regularization=0.1, alpha=3.0, iterations=3, random_state=0
        )
        model.fit(x, show_progress=False)
        expected = model.recalculate_user(np.arange(60), x)
    got = als_fold_in(model.item_factors, x, regularization=0.1, alpha=3.0)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert not np.any(got[np.diff(x.indptr) == 0])  # no history, zero vector


def test_training_is_seeded_and_leaves_out_rows_without_positives() -> None:
    log = block_log()
    extra = Interactions(np.array([999]), np.array([500]), np.zeros(1, np.float32), np.zeros(1))
    merged = Interactions(
        np.concatenate([log.user_keys, extra.user_keys]),
        np.concatenate([log.item_keys, extra.item_keys]),
        np.concatenate([log.weights, extra.weights]),
        np.concatenate([log.ts, extra.ts]),
    )
    first = train_als(build_matrix(merged), SMALL)
    second = train_als(build_matrix(merged), SMALL)
    np.testing.assert_array_equal(first.item_vectors, second.item_vectors)
    assert 999 not in first.user_ids and 500 not in first.item_ids
    assert first.user_vectors.dtype == np.float32 and first.dim == SMALL.factors
    assert first.meta["params"]["factors"] == SMALL.factors
    assert first.meta["data"]["users"] == BLOCKS * USERS_PER_BLOCK
