"""Propensities of the exploration slots: probabilities that sum to the slots taken, by Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedmix.components.scorers.exploration_propensity_scorer import slot_propensities


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), slots=st.integers(0, 5), seed=st.integers(0, 2**32 - 1))
def test_propensities_are_probabilities_summing_to_the_slots(n: int, slots: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.5, 20, n), rng.uniform(0.5, 50, n)
    p = slot_propensities(a, b, slots, 200, np.random.default_rng(seed))
    assert p.shape == (n,) and np.all(p > 0 if slots else p == 0) and np.all(p <= 1)
    if slots >= n:
        assert np.all(p == 1)
    elif slots:
        # every draw gives exactly `slots` items a slot (continuous draws: no ties); the floor adds a little
        assert p.sum() == pytest.approx(slots, abs=n / 400 + 1e-9)


def test_a_clear_favourite_nearly_always_gets_the_slot() -> None:
    a = np.array([200.0, 1.0, 1.0])
    b = np.array([10.0, 50.0, 50.0])
    p = slot_propensities(a, b, 1, 500, np.random.default_rng(0))
    assert p[0] > 0.98 and p[1] < 0.02 and p[2] < 0.02
    # identical posteriors share the slot about equally
    q = slot_propensities(np.full(4, 3.0), np.full(4, 30.0), 1, 4000, np.random.default_rng(1))
    assert np.allclose(q, 0.25, atol=0.03)


def test_the_sampled_pool_share_scales_the_logged_propensity() -> None:
    """A post the source scored only in a sample of the pool was that much less likely to be shown."""
    from feedmix.components.scorers.exploration_propensity_scorer import ExplorationPropensityScorer
    from feedmix.core.candidates import CandidateBatch
    from feedmix.core.params import ParamRegistry
    from feedmix.core.query import Deadline, Query

    scorer = ExplorationPropensityScorer("prop", slots_param="slots")
    params = ParamRegistry(scorer.declared_params()).defaults({})
    query = Query("u", "home", {**params.as_dict(), "slots": 1}, Deadline(1.0), "r1", now=0.0, limit=10)
    cols = {
        "score": np.zeros(3),
        "explore": np.array([True, True, False]),
        "explore_a": np.array([5.0, 1.0, 0.0]),
        "explore_b": np.array([10.0, 40.0, 0.0]),
    }
    whole = scorer.score(query, CandidateBatch(np.arange(3), cols))["propensity"]
    sampled = scorer.score(
        query, CandidateBatch(np.arange(3), {**cols, "explore_inclusion": np.array([0.25, 0.25, 1.0])})
    )["propensity"]
    assert whole[2] == sampled[2] == 1.0  # ranked items: shown deterministically
    assert sampled[0] == pytest.approx(0.25 * whole[0])
    assert sampled[1] == pytest.approx(max(0.25 * whole[1], 1 / 400))
