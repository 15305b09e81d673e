"""top_k, the inner-product ANN index ALS serves from, and item-kNN: exclusions, padding, exactness."""

from __future__ import annotations

import numpy as np

from feedmix.eval.movielens import ALS_INDEX_KIND, ALS_INDEX_PARAMS
from feedmix.retrieval.ann import ExclusionSet, build_index
from feedmix.retrieval.embeddings.interactions import Interactions, build_matrix
from feedmix.retrieval.embeddings.item_knn import fit_item_knn
from feedmix.retrieval.embeddings.topk import top_k


def test_top_k_orders_excludes_and_pads() -> None:
    scores = np.array([[0.1, 0.9, 0.5, np.nan], [3.0, 2.0, 1.0, 0.0]], dtype=np.float32)
    exclude = np.array([[False, True, False, False], [False, False, False, False]])
    assert top_k(scores, 3, exclude).tolist() == [[2, 0, -1], [0, 1, 2]]
    assert top_k(scores, 6).tolist() == [[1, 2, 0, -1, -1, -1], [0, 1, 2, 3, -1, -1]]


def test_inner_product_hnsw_agrees_with_exact_search_and_honours_exclusions() -> None:
    """The MovieLens eval's ``als_hnsw`` path: ALS-like vectors of different norms, per-user exclusions."""
    rng = np.random.default_rng(0)
    items = (rng.standard_normal((500, 16)) * rng.uniform(0.2, 2.0, (500, 1))).astype(np.float32)
    users = rng.standard_normal((40, 16)).astype(np.float32)
    ids = np.arange(1000, 1500, dtype=np.int64)  # answers use the caller's ids
    exclude = np.zeros((40, 1500), dtype=np.bool_)
    exclude[:, 1000:1500] = rng.random((40, 500)) < 0.2
    index = build_index(ids, items, ALS_INDEX_KIND, ALS_INDEX_PARAMS, threads=1, metric="inner_product")
    found = np.stack(
        [
            index.search(users[u], 20, exclude=ExclusionSet.of(np.flatnonzero(exclude[u])))[0][0]
            for u in range(40)
        ]
    )
    full = np.full((40, 1500), -np.inf, dtype=np.float32)
    full[:, 1000:] = users @ items.T
    exact = top_k(full, 20, exclude)
    assert np.all(found >= 0)
    assert not exclude[np.arange(40)[:, None], found].any()
    overlap = np.mean(
        [len(set(a) & set(b)) / 20 for a, b in zip(found.tolist(), exact.tolist(), strict=True)]
    )
    assert overlap > 0.95
    # more asked than eligible: padded with -1
    everything_but_two = ExclusionSet.of(np.setdiff1d(ids, [1003, 1400]))
    got = index.search(users[:1], 5, exclude=everything_but_two)[0][0]
    assert sorted(got.tolist()) == [-1, -1, -1, 1003, 1400]


def test_item_knn_scores_co_liked_items_and_not_the_item_itself() -> None:
    # users 0-2 like items 0 and 1 together; user 3 likes items 2 and 3
    log = Interactions(
        np.array([0, 0, 1, 1, 2, 2, 3, 3]),
        np.array([0, 1, 0, 1, 0, 1, 2, 3]),
        np.ones(8, np.float32),
        np.zeros(8),
    )
    knn = fit_item_knn(build_matrix(log), neighbours=2, num_threads=1)
    sim = knn.similarity.toarray()
    assert np.all(np.diag(sim) == 0)
    assert sim[0, 1] > 0.99 and sim[0, 2] == 0
    scores = knn.scores(build_matrix(log).confidence[[3]])
    assert scores[0, 0] == 0 and scores[0, 1] == 0 and scores[0, 2] > 0.99
