"""Maximum inner-product search on every kind: the augmentation against brute-force dot products."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from feedmix.retrieval.ann import ExclusionSet, build_index, load_index
from feedmix.retrieval.ann.mips import augment_items, augment_queries

from .conftest import KINDS, recall

N, DIM, K = 4000, 24, 20
#: effort enough that recall is far above the asserted floor on this set
PARAMS: dict[str, dict[str, int]] = {
    "usearch_hnsw": {"M": 32, "ef_construction": 200, "ef_search": 256},
    "faiss_hnsw": {"M": 32, "ef_construction": 200, "ef_search": 256},
    "faiss_ivf": {"nlist": 32, "nprobe": 12},
    "faiss_ivf_fp16": {"nlist": 32, "nprobe": 12},
}


def als_like(seed: int = 0) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Clustered item vectors whose norms vary 10x (popular items are long), and user vectors."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((16, DIM))
    items = centres[rng.integers(0, 16, N)] + 0.5 * rng.standard_normal((N, DIM))
    items *= rng.uniform(0.2, 2.0, (N, 1))
    users = centres[rng.integers(0, 16, 50)] + 0.5 * rng.standard_normal((50, DIM))
    return items.astype(np.float32), users.astype(np.float32)


def exact_ip(
    items: npt.NDArray[np.float32], users: npt.NDArray[np.float32], ids: npt.NDArray[np.int64], k: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    scores = users.astype(np.float64) @ items.T.astype(np.float64)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return ids[order], np.take_along_axis(scores, order, axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    items, users = als_like()
    ids = np.random.default_rng(1).permutation(10 * N)[:N].astype(np.int64) + 3
    return ids, items, users


def test_the_augmentation_is_unit_length_and_order_preserving() -> None:
    items, users = als_like(2)
    aug, max_norm = augment_items(items)
    np.testing.assert_allclose(np.linalg.norm(aug, axis=1), 1.0, atol=1e-5)
    assert max_norm == pytest.approx(float(np.linalg.norm(items, axis=1).max()), rel=1e-6)
    q, norms = augment_queries(users)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(q @ aug.T * norms[:, None] * max_norm, users @ items.T, rtol=1e-4, atol=1e-3)
    # cosine would rank differently on these vectors: the index must not just normalise the items
    unit = items / np.linalg.norm(items, axis=1, keepdims=True)
    cos_top = np.argsort(-(users @ unit.T), axis=1)[:, :K]
    ip_top = np.argsort(-(users @ items.T), axis=1)[:, :K]
    assert np.mean([len(np.intersect1d(a, b)) / K for a, b in zip(cos_top, ip_top, strict=True)]) < 0.8


def test_exact_kind_is_exact_maximum_inner_product_with_raw_scores(data: tuple) -> None:
    ids, items, users = data
    index = build_index(ids, items, "exact", metric="inner_product")
    assert (index.dim, index.metric, len(index)) == (DIM, "inner_product", N)
    got_ids, got_scores = index.search(users, K)
    want_ids, want_scores = exact_ip(items, users, ids, K)
    assert recall(got_ids, want_ids) >= 0.999  # ties in float32 aside
    np.testing.assert_allclose(got_scores, want_scores, rtol=1e-4, atol=2e-3)
    # exclusions: the excluded best are skipped, the next ones come up, k still returned
    excluded = ExclusionSet.of(want_ids[:, :5].ravel())
    f_ids, _ = index.search(users, K, exclude=excluded)
    assert not np.isin(f_ids, excluded.ids).any() and np.all(f_ids >= 0)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_finds_the_largest_inner_products(kind: str, data: tuple) -> None:
    ids, items, users = data
    index = build_index(ids, items, kind, PARAMS[kind], threads=2, metric="inner_product")
    got_ids, got_scores = index.search(users, K)
    want_ids, _ = exact_ip(items, users, ids, K)
    assert recall(got_ids, want_ids) >= 0.9, kind
    rows = np.searchsorted(np.sort(ids), got_ids)
    raw = (users[:, None, :] * items[np.argsort(ids)][rows]).sum(axis=2)
    np.testing.assert_allclose(got_scores, raw, rtol=2e-3, atol=2e-2)  # fp16 storage: ~1e-3 relative


def test_save_and_mapped_load_keep_the_metric(tmp_path: Path, data: tuple) -> None:
    ids, items, users = data
    index = build_index(ids, items, "faiss_ivf_fp16", PARAMS["faiss_ivf_fp16"], metric="inner_product")
    index.save(tmp_path / "ip")
    loaded = load_index(tmp_path / "ip", mmap=True)
    assert (loaded.metric, loaded.dim) == ("inner_product", DIM)
    assert loaded.params["max_norm"] == pytest.approx(index.params["max_norm"])
    want = index.search(users, K)
    got = loaded.search(users, K)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    with pytest.raises(ValueError, match=rf"shape \[q, {DIM}\]"):
        loaded.search(np.ones((1, DIM + 1), dtype=np.float32), 3)  # the augmented width is internal


def test_zero_query_gets_padding_and_cosine_still_demands_unit_rows(data: tuple) -> None:
    ids, items, users = data
    index = build_index(ids[:100], items[:100], "exact", metric="inner_product")
    got_ids, got_scores = index.search(np.vstack([np.zeros(DIM, np.float32), users[0]]), 5)
    assert got_ids[0].tolist() == [-1] * 5 and np.all(np.isneginf(got_scores[0]))
    assert np.all(got_ids[1] >= 0)
    with pytest.raises(ValueError, match="L2-normalised"):
        build_index(ids[:100], items[:100], "exact")
    with pytest.raises(ValueError, match="non-zero"):
        build_index(ids[:3], np.zeros((3, DIM), np.float32), "exact", metric="inner_product")
    with pytest.raises(ValueError, match="unknown metric"):
        build_index(ids[:3], items[:3], "exact", metric="l2")  # type: ignore[arg-type]
