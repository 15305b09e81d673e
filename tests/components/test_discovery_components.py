"""The discovery surface's own parts: the catalogue context, the novelty rule and the category cap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedmix.components.query_hydrators.discovery_context_hydrator import DiscoveryContextHydrator
from feedmix.components.scorers.novelty_boost_scorer import NoveltyBoostScorer
from feedmix.components.selectors.category_cap_selector import CategoryCapSelector
from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.products.discovery_feed import CATALOGUE
from feedmix.testing import make_batch, make_query


@pytest.fixture(scope="module")
def hydrator() -> DiscoveryContextHydrator:
    corpus = RedditCorpus.load()
    return DiscoveryContextHydrator(
        "discovery_context", corpus, CommunityGraph.from_corpus(corpus), CATALOGUE
    )


def test_the_catalogue_and_the_similar_communities(hydrator: DiscoveryContextHydrator) -> None:
    c = hydrator.corpus
    minecraft, gaming, funny = (c.community_id(n) for n in ("Minecraft", "gaming", "funny"))
    assert minecraft is not None and gaming is not None and funny is not None
    q = make_query(hydrator, features={"user.communities": np.array([minecraft, funny])})
    out = hydrator.hydrate(q)
    names = {c.communities[i] for i in out["feed.communities"]}
    assert {"Minecraft", "gaming", "xbox360"} <= names and "funny" not in names
    similar = out["discovery.similar"]
    assert len(similar) == 8 and minecraft not in similar  # joined ones are not suggested
    assert all(out["discovery.category_of"][s] >= 0 for s in similar)
    assert list(out["feed.suggested_communities"]) == list(similar)
    assert out["discovery.category_of"][funny] == -1
    assert out["discovery.categories"][out["discovery.category_of"][minecraft]] == "pc games"


def test_a_cold_start_user_is_suggested_the_largest_catalogue_communities(
    hydrator: DiscoveryContextHydrator,
) -> None:
    out = hydrator.hydrate(make_query(hydrator, features={"user.communities": np.array([], dtype=np.int64)}))
    assert list(out["discovery.similar"]) == list(hydrator.by_size[:8])


def test_the_novelty_rule_boosts_only_communities_not_joined() -> None:
    rule = NoveltyBoostScorer("novelty")
    batch = make_batch({"score": np.array([1.0, -0.5, 0.2]), "community": np.array([3, 4, 5])})
    q = make_query(rule, params={"novelty.weight": 0.25}, features={"user.communities": np.array([3])})
    out = rule.score(q, batch)
    assert out["score"].tolist() == pytest.approx([1.0, -0.25, 0.45])
    assert out["score.rule.novelty"].tolist() == pytest.approx([0.0, 0.25, 0.25])


@settings(max_examples=60, deadline=None)
@given(
    communities=st.lists(st.integers(0, 9), min_size=0, max_size=60),
    cap=st.integers(1, 5),
)
def test_the_category_cap_keeps_score_order_and_never_exceeds_the_cap(
    communities: list[int], cap: int
) -> None:
    sel = CategoryCapSelector("category_cap")
    category_of = np.array([0, 0, 1, 1, 2, 2, -1, -1, 0, 1])  # communities 6 and 7 are outside the catalogue
    batch = make_batch({"community": np.array(communities, dtype=np.int64)}, n=len(communities))
    q = make_query(
        sel, params={"category_cap.max_per_category": cap}, features={"discovery.category_of": category_of}
    )
    kept = sel.select(q, batch)
    assert np.all(np.diff(kept) > 0)  # score order: positions ascending
    cats = category_of[np.array(communities, dtype=np.int64)[kept]] if len(kept) else np.array([])
    for k in (0, 1, 2):
        assert (cats == k).sum() <= cap
    outside = [i for i, c in enumerate(communities) if category_of[c] < 0]
    assert set(outside) <= set(kept.tolist())  # not capped here
