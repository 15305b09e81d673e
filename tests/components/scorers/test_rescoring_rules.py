"""Rescoring rules: a freshness boost and diversity penalties on the ranker's value, never on the
heuristic's score."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedmix.components.scorers.diversity_penalty_scorer import DiversityPenaltyScorer
from feedmix.components.scorers.freshness_boost_scorer import FreshnessBoostScorer
from feedmix.core.candidates import CandidateBatch
from feedmix.core.params import ParamRegistry
from feedmix.core.query import Deadline, Query


def _query(component: Any, now: float = 1_000_000.0, **params: Any) -> Query:
    registry = ParamRegistry(component.declared_params())
    overrides = {f"{component.identifier}.{k}": v for k, v in params.items()}
    return Query("u", "home", registry.defaults(overrides), Deadline.from_ms(1000), "r1", now)


def _batch(score: list[float], **cols: Any) -> CandidateBatch:
    n = len(score)
    columns = {"score": np.asarray(score, dtype=np.float64), "score.value.click": np.zeros(n), **cols}
    return CandidateBatch(np.arange(n, dtype=np.int64), {k: np.asarray(v) for k, v in columns.items()})


def test_diversity_penalty_sinks_repeats_of_a_group_in_score_order() -> None:
    rule = DiversityPenaltyScorer("community_penalty", column="community")
    batch = _batch([1.0, 0.9, 0.8, 0.7], community=[5, 5, 6, 5])
    out = rule.score(_query(rule, penalty=0.1), batch)
    assert out["score.rule.community_penalty"].tolist() == pytest.approx([0.0, -0.1, 0.0, -0.2])
    assert out["score"].tolist() == pytest.approx([1.0, 0.8, 0.8, 0.5])


def test_freshness_boost_halves_per_half_life() -> None:
    rule = FreshnessBoostScorer("freshness_boost")
    now = 1_000_000.0
    batch = _batch([0.0, 0.0], created=[now, now - 24 * 3600.0])
    out = rule.score(_query(rule, now, weight=0.2), batch)
    assert out["score"].tolist() == pytest.approx([0.2, 0.1])


def test_rules_leave_a_heuristic_score_alone() -> None:
    n = 3
    batch = CandidateBatch(
        np.arange(n, dtype=np.int64),
        {
            "score": np.array([3.0, 2.0, 1.0]),
            "community": np.zeros(n, dtype=np.int64),
            "created": np.zeros(n),
        },
    )
    for rule in (DiversityPenaltyScorer("community_penalty"), FreshnessBoostScorer("freshness_boost")):
        out = rule.score(_query(rule), batch)
        assert set(out) == {"score"} and out["score"].tolist() == [3.0, 2.0, 1.0]


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.floats(-5, 5), min_size=1, max_size=40),
    groups=st.lists(st.integers(0, 4), min_size=40, max_size=40),
    penalty=st.floats(0, 1),
)
def test_the_best_item_of_each_group_is_never_penalised(
    scores: list[float], groups: list[int], penalty: float
) -> None:
    rule = DiversityPenaltyScorer("domain_penalty", column="domain")
    batch = _batch(scores, domain=groups[: len(scores)])
    out = rule.score(_query(rule, penalty=penalty), batch)["score.rule.domain_penalty"]
    s, g = np.asarray(scores), np.asarray(groups[: len(scores)])
    for group in set(g.tolist()):
        members = np.flatnonzero(g == group)
        best = members[np.argsort(-s[members], kind="stable")[0]]
        assert out[best] == 0.0
        assert np.all(out[members] <= 0.0)
