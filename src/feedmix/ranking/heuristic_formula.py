"""The hand-tuned feed formula, kept below both its users: the serving scorer
(:class:`feedmix.components.scorers.heuristic_scorer.HeuristicScorer`) and the training loop, which
scores logged rows with the default weights as the baseline every trained head must beat. One
definition means the baseline cannot drift from what serves.

    score = w_quality    * quality        (score percentile inside its community, 0..1)
          + w_engagement * engagement     (comment-count percentile, 0..1)
          + w_affinity   * affinity       (1 joined community, related_affinity if related, else 0)
          + w_freshness  * freshness      (2 ** (-age_hours / half_life_hours), 0..1)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

#: the weights that serve unless a config or an experiment moves them
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "w_quality": 1.0,
    "w_engagement": 0.3,
    "w_affinity": 0.8,
    "w_freshness": 0.6,
    "half_life_hours": 168.0,
}

PARTS = ("quality", "engagement", "affinity", "freshness")


def heuristic_parts(
    quality: npt.NDArray[np.float64],
    engagement: npt.NDArray[np.float64],
    affinity: npt.NDArray[np.float64],
    age_hours: npt.NDArray[np.float64],
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
) -> dict[str, npt.NDArray[np.float64]]:
    """Each weighted part by name (``PARTS``); they are kept apart so a trace can show why an item ranks."""
    freshness = np.exp2(-age_hours / weights["half_life_hours"])
    return {
        "quality": weights["w_quality"] * quality,
        "engagement": weights["w_engagement"] * engagement,
        "affinity": weights["w_affinity"] * affinity,
        "freshness": weights["w_freshness"] * freshness,
    }


def heuristic_total(parts: Mapping[str, npt.NDArray[np.float64]], n: int) -> npt.NDArray[np.float64]:
    """The score: the parts summed in ``PARTS`` order, so serving and training round alike."""
    total = np.zeros(n, dtype=np.float64)
    for name in PARTS:
        total += parts[name]
    return total
