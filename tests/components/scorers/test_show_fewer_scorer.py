"""Show fewer: the named communities' posts keep a share of their score and sink, never vanish."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedmix.components.scorers.show_fewer_scorer import ShowFewerScorer
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.testing import make_batch, make_query


@pytest.fixture(scope="module")
def rule() -> ShowFewerScorer:
    return ShowFewerScorer("show_fewer", RedditCorpus.load())


def test_posts_of_the_named_communities_keep_the_factor_of_their_score(rule: ShowFewerScorer) -> None:
    a = rule.corpus.community_id("pics")
    assert a is not None
    batch = make_batch({"score": np.array([1.0, 0.5, 0.2]), "community": np.array([a, a + 1, a])})
    q = make_query(rule, params={"show_fewer.communities": "pics", "show_fewer.factor": 0.25})
    out = rule.score(q, batch)
    assert out["score"].tolist() == pytest.approx([0.25, 0.5, 0.05])
    assert out["score.rule.show_fewer"].tolist() == pytest.approx([-0.75, 0.0, -0.15])
    assert set(rule.score(make_query(rule), batch)) == {"score"}  # nobody asked: untouched


@settings(max_examples=50, deadline=None)
@given(
    scores=st.lists(st.floats(0, 10), min_size=1, max_size=20),
    factor=st.floats(0, 1),
)
def test_it_never_raises_a_score_and_leaves_other_communities_alone(
    rule: ShowFewerScorer, scores: list[float], factor: float
) -> None:
    a = rule.corpus.community_id("pics")
    assert a is not None
    comm = np.array([a if i % 2 else a + 1 for i in range(len(scores))])
    batch = make_batch({"score": np.array(scores), "community": comm})
    q = make_query(rule, params={"show_fewer.communities": "pics", "show_fewer.factor": factor})
    out = rule.score(q, batch)["score"]
    assert np.all(out <= np.array(scores) + 1e-12)
    assert np.array_equal(out[comm != a], np.array(scores)[comm != a])
