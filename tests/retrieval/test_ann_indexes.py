"""Every index kind: recall against exact search, result layout, id mapping, input validation."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from feedmix.retrieval.ann import INDEX_KINDS, AnnIndex, build_index
from feedmix.retrieval.ann.row_index import RowIndex

from .conftest import KINDS, Clustered, recall

#: safe floors for these fixed seeds (measured: every kind is above 0.97 here)
MIN_RECALL = {"usearch_hnsw": 0.9, "faiss_hnsw": 0.9, "faiss_ivf": 0.85, "faiss_ivf_fp16": 0.85, "exact": 1.0}


@pytest.mark.parametrize("kind", [*KINDS, "exact"])
def test_recall_against_exact_search(kind: str, clustered: Clustered, built: dict[str, RowIndex]) -> None:
    index = built[kind]
    k = clustered.truth.shape[1]
    ids, _ = index.search(clustered.queries, k)
    assert recall(ids, clustered.truth) >= MIN_RECALL[kind]


@pytest.mark.parametrize("kind", [*KINDS, "exact"])
def test_results_are_ids_with_their_cosine_best_first(
    kind: str, clustered: Clustered, built: dict[str, RowIndex]
) -> None:
    index = built[kind]
    assert isinstance(index, AnnIndex)
    assert index.kind == kind and index.dim == clustered.vectors.shape[1] and len(index) == len(clustered.ids)
    ids, scores = index.search(clustered.queries[:5], 10)
    assert ids.shape == scores.shape == (5, 10)
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    assert np.all(np.diff(scores, axis=1) <= 1e-6)
    rows = index.rows_of(ids)
    assert np.all(rows >= 0)
    expected = np.einsum("qkd,qd->qk", clustered.vectors[rows], clustered.queries[:5])
    # float16 storage keeps scores to about 1e-3
    np.testing.assert_allclose(scores, expected, atol=2e-3 if kind.endswith("fp16") else 1e-4)
    one_ids, _ = index.search(clustered.queries[0], 10)  # a single [d] vector is one query
    assert one_ids.shape == (1, 10)


@pytest.mark.parametrize("kind", [*KINDS, "exact"])
def test_fewer_vectors_than_k_pads_with_minus_one(kind: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    params = {"nlist": 1, "nprobe": 1} if kind.startswith("faiss_ivf") else {}
    index = build_index(np.arange(5) + 100, x, kind, params, threads=1)
    ids, scores = index.search(x[:2], 8)
    assert ids.shape == (2, 8)
    assert sorted(ids[0, :5].tolist()) == [100, 101, 102, 103, 104]
    assert np.all(ids[:, 5:] == -1) and np.all(np.isneginf(scores[:, 5:]))


def test_build_rejects_bad_input() -> None:
    x = np.eye(4, dtype=np.float32)
    with pytest.raises(ValueError, match="unique"):
        build_index(np.array([1, 1, 2, 3]), x, "exact")
    with pytest.raises(ValueError, match="normalised"):
        build_index(np.arange(4), x * 2, "exact")
    with pytest.raises(ValueError, match="unknown index kind"):
        build_index(np.arange(4), x, "annoy")
    with pytest.raises(ValueError, match="no params"):
        build_index(np.arange(4), x, "faiss_hnsw", {"nprobe": 3})
    index = build_index(np.arange(4), x, "exact")
    with pytest.raises(ValueError, match="shape"):
        index.search(np.ones((1, 3), dtype=np.float32), 2)
    assert set(INDEX_KINDS) == {*KINDS, "exact"}


def test_search_params_change_effort_not_correctness(
    clustered: Clustered, built: dict[str, RowIndex]
) -> None:
    index = built["faiss_ivf"]
    try:
        index.set_search_params(nprobe=1)
        low = recall(index.search(clustered.queries, 50)[0], clustered.truth)
        index.set_search_params(nprobe=64)
        full = recall(index.search(clustered.queries, 50)[0], clustered.truth)
    finally:
        index.set_search_params(nprobe=16)
    assert full == pytest.approx(1.0) and low < full
    with pytest.raises(ValueError, match="no search params"):
        index.set_search_params(ef_search=10)
    with pytest.raises(ValueError, match="native"):
        built["usearch_hnsw"].set_search_params(filter_mode="native")


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_searches_answer_as_serial_ones(
    kind: str, clustered: Clustered, built: dict[str, RowIndex]
) -> None:
    index = built[kind]
    queries = clustered.queries[:40]
    serial = [index.search(q, 20)[0] for q in queries]
    mismatches: list[int] = []

    def worker() -> None:
        for _ in range(3):
            for i, q in enumerate(queries):
                if not np.array_equal(index.search(q, 20)[0], serial[i]):
                    mismatches.append(i)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not mismatches
