"""Selectors and filters of the products: properties that must hold for any input."""

from __future__ import annotations

import uuid

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from feedmix.components.filters.duplicate_content_filter import DuplicateContentFilter
from feedmix.components.selectors.community_diversity_selector import CommunityDiversitySelector
from feedmix.core.candidates import CandidateBatch
from feedmix.core.params import ParamRegistry
from feedmix.core.query import Deadline, Query
from feedmix.ranking.group_rank import rank_within_group


def query_for(component: object, overrides: dict[str, object] | None = None) -> Query:
    reg = ParamRegistry(component.declared_params())  # type: ignore[attr-defined]
    return Query("u", "home", reg.defaults(overrides), Deadline(1.0), uuid.uuid4().hex, now=0.0)


@given(st.lists(st.integers(0, 6), max_size=80), st.integers(1, 5))
def test_diversity_caps_each_community_and_keeps_order(communities: list[int], cap: int) -> None:
    sel = CommunityDiversitySelector("div")
    batch = CandidateBatch(np.arange(len(communities)), {"community": np.array(communities, dtype=np.int16)})
    picked = sel.select(query_for(sel, {"div.max_per_community": cap}), batch)
    assert list(picked) == sorted(picked)  # score order (the input order) is kept
    kept = [communities[i] for i in picked]
    for c in set(communities):
        assert kept.count(c) == min(cap, communities.count(c))
    # and it keeps the *first* `cap` of each community, never a later one
    for i in picked:
        assert communities[: i + 1].count(communities[i]) <= cap


@given(st.lists(st.integers(0, 9), max_size=60))
def test_rank_within_group_counts_earlier_members(groups: list[int]) -> None:
    ranks = rank_within_group(np.array(groups, dtype=np.int64))
    assert ranks.tolist() == [groups[:i].count(g) for i, g in enumerate(groups)]


@given(st.lists(st.tuples(st.integers(-3, 5), st.integers(0, 1000)), max_size=60))
def test_duplicate_filter_keeps_best_copy_of_each_link(rows: list[tuple[int, int]]) -> None:
    keys = np.array([k for k, _ in rows], dtype=np.int64)
    scores = np.array([s for _, s in rows], dtype=np.int32)
    f = DuplicateContentFilter("dup")
    batch = CandidateBatch(np.arange(len(rows)), {"url_key": keys, "post_score": scores})
    mask = f.keep(query_for(f), batch)
    kept_keys = keys[mask]
    assert len(set(kept_keys.tolist())) == len(kept_keys) == len(set(keys.tolist()))
    for k in set(keys.tolist()):
        assert scores[mask & (keys == k)][0] == scores[keys == k].max()
