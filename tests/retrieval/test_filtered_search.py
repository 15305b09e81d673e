"""Filtered retrieval: excluded ids never come back, and the rest matches exact filtered top-k."""

from __future__ import annotations

import numpy as np
import pytest

from feedmix.retrieval.ann import ExclusionSet, build_index
from feedmix.retrieval.ann.overfetch import OverfetchPolicy, initial_fetch, overfetch_search
from feedmix.retrieval.ann.row_index import RowIndex

from .conftest import KINDS, Clustered, recall

K = 50


def exclusions(c: Clustered, seed: int = 0) -> list[ExclusionSet]:
    """Per query: 5% of the corpus at random (NSFW, blocked) plus the 40 nearest posts (seen)."""
    rng = np.random.default_rng(seed)
    static = ExclusionSet.of(rng.choice(c.ids, size=len(c.ids) // 20, replace=False))
    return [static.union(c.truth[i, :40]) for i in range(len(c.queries))]


def exact_filtered(c: Clustered, excl: list[ExclusionSet], k: int) -> np.ndarray:
    scores = c.queries @ c.vectors.T
    out = []
    for i, ex in enumerate(excl):
        s = np.where(ex.contains(c.ids), -np.inf, scores[i])
        out.append(c.ids[np.argsort(-s, kind="stable")[:k]])
    return np.stack(out)


@pytest.mark.parametrize("kind", [*KINDS, "exact"])
@pytest.mark.parametrize("mode", ["overfetch", "native"])
def test_filtered_search_excludes_and_matches_exact(
    kind: str, mode: str, clustered: Clustered, built: dict[str, RowIndex]
) -> None:
    index = built[kind]
    if mode == "native" and not index.supports_native_filter:
        pytest.skip(f"{kind} has no native filter")
    excl = exclusions(clustered)
    truth = exact_filtered(clustered, excl, K)
    index.set_search_params(filter_mode=mode)
    try:
        found = np.stack(
            [index.search(q, K, exclude=ex)[0][0] for q, ex in zip(clustered.queries, excl, strict=True)]
        )
    finally:
        index.set_search_params(filter_mode="overfetch")
    for f, ex in zip(found, excl, strict=True):
        assert not ex.contains(f).any()
    assert np.all(found >= 0)
    assert recall(found, truth) >= (1.0 if kind == "exact" else 0.85)


def test_overfetch_grows_until_k_survive_when_the_nearest_are_all_excluded(
    clustered: Clustered, built: dict[str, RowIndex]
) -> None:
    index = built["exact"]
    # the 400 nearest are excluded: the first fetch (about 1.2k + 16 of 6000) cannot be enough
    excl = [ExclusionSet.of(clustered.truth[0, :K], index.search(clustered.queries[0], 400)[0])]
    truth = exact_filtered(clustered, excl, K)
    res = index.search_filtered_rows(clustered.queries[:1], K, excl[0])
    assert res.rounds > 1 and res.short == 0
    assert index.ids_of(res.rows).tolist() == truth.tolist()


def test_overfetch_stops_after_max_rounds_and_pads() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = build_index(np.arange(300), x, "exact")
    allowed = np.array([7, 42])
    excl = ExclusionSet.of(np.setdiff1d(np.arange(300), allowed))
    res = overfetch_search(
        index.search_rows,
        x[:1],
        10,
        lambda rows: excl.contains(index.ids_of(rows)),
        n_total=300,
        excluded=0,  # pretend we expected nothing to be excluded: forces the retries
        policy=OverfetchPolicy(max_rounds=2, min_extra=0, slack=1.0),
    )
    assert res.rounds == 2 and res.short == 1 and res.fetched == 20
    # the full scan finds exactly the two allowed ids and pads the rest
    ids, scores = index.search(x[:1], 10, exclude=excl)
    assert sorted(ids[0, :2].tolist()) == [7, 42] and np.all(ids[0, 2:] == -1)
    assert np.all(np.isneginf(scores[0, 2:]))


def test_initial_fetch_scales_with_the_excluded_share() -> None:
    p = OverfetchPolicy(slack=1.0, min_extra=0)
    assert initial_fetch(100, 10_000, 0, p) == 100
    assert initial_fetch(100, 10_000, 5_000, p) == 200
    assert initial_fetch(100, 10_000, 10_000, p) == 1000  # capped by min_allowed_share
    assert initial_fetch(100, 150, 0, OverfetchPolicy()) == 150  # never more than the index holds


def test_exclusion_set_is_a_sorted_union_with_vectorised_membership() -> None:
    ex = ExclusionSet.of([5, 1, 5], np.array([9, 3]))
    assert ex.ids.tolist() == [1, 3, 5, 9] and len(ex) == 4
    assert ex.contains(np.array([[0, 1], [9, 10]])).tolist() == [[False, True], [True, False]]
    assert ExclusionSet.empty().contains([1, 2]).tolist() == [False, False]
    nsfw = ExclusionSet.from_mask(np.array([10, 20, 30]), np.array([True, False, True]))
    assert nsfw.union(ex, [100]).ids.tolist() == [1, 3, 5, 9, 10, 30, 100]
    with pytest.raises(ValueError):
        ExclusionSet.from_mask(np.array([1, 2]), np.array([True]))


def test_allowed_bitmap_clears_exactly_the_excluded_rows(built: dict[str, RowIndex]) -> None:
    index = built["faiss_hnsw"]
    rows = np.array([0, 9, len(index) - 1])
    bitmap = index.allowed_bitmap(ExclusionSet.of(index.ids[rows], [-5]))  # -5 is in no index
    allowed = np.unpackbits(bitmap, bitorder="little")[: len(index)].astype(bool)
    assert np.flatnonzero(~allowed).tolist() == rows.tolist()
