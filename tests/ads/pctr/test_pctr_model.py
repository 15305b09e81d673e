"""The pCTR model learns position bias and relevance from a generated log, and scores at position 0."""

from __future__ import annotations

import numpy as np
import pytest

from feedmix.ads.decision.targeting_index import TargetingIndex
from feedmix.ads.pctr.ad_log_generator import LOG_COLUMNS, generate_ad_log
from feedmix.ads.pctr.pctr_model import PctrModel, PriorPctr
from feedmix.ads.store.synthetic_campaigns import synthetic_snapshot

NOW = 1_376_000_000.0


@pytest.fixture(scope="module")
def trained() -> tuple[PctrModel, TargetingIndex, dict[str, np.ndarray]]:
    snapshot = synthetic_snapshot(300, [f"c{i}" for i in range(20)], now=NOW, seed=3)
    log, _ = generate_ad_log(snapshot, 200_000, seed=4, position_decay=0.8)
    return PctrModel.train(log), TargetingIndex.build(snapshot), log


def test_position_weights_decrease_like_the_ground_truth(
    trained: tuple[PctrModel, TargetingIndex, dict[str, np.ndarray]],
) -> None:
    model, _, log = trained
    assert set(LOG_COLUMNS) <= set(log)
    w = np.array(model.position_weights)
    assert w[0] == 0.0 and np.all(np.diff(w) < 0)
    # truth: log examine(p) = -0.8 * log(1 + p); the fitted offsets land near it
    truth = -0.8 * np.log1p(np.arange(len(w)))
    assert np.max(np.abs(w - truth)) < 0.25
    assert model.weights["community_match"] > 0.5 and model.weights["keyword_overlap"] > 0.1
    assert model.weights["log_coec_group"] > 0


def test_serving_scores_equal_the_table_prediction_at_reference_position(
    trained: tuple[PctrModel, TargetingIndex, dict[str, np.ndarray]],
) -> None:
    model, index, log = trained
    bound = model.bind(index)
    take = np.arange(50)
    rows = np.array([index.row_of[str(g)] for g in log["ad_group_id"][take]])
    served = bound.score(rows, log["community_match"][take], log["keyword_overlap"][take])
    offline = model.predict_table({k: v[take] for k, v in log.items()}, at_position=0)
    np.testing.assert_allclose(served, offline, rtol=1e-9)
    # a lower position predicts fewer clicks for the same ad
    assert np.all(model.predict_table({k: v[take] for k, v in log.items()}, at_position=3) < offline)


def test_prior_fallback_and_untrainable_logs() -> None:
    prior = PriorPctr(0.02)
    assert prior.score(np.arange(3), np.zeros(3), np.zeros(3)).tolist() == [0.02] * 3
    with pytest.raises(ValueError, match="clicks and non-clicks"):
        PctrModel.train({c: np.zeros(3) for c in LOG_COLUMNS})
