"""The documented hand-tuned scorer that ranks the feed until a trained ranker replaces it.

    score = w_quality    * quality        (score percentile inside its community, 0..1)
          + w_engagement * engagement     (comment-count percentile, 0..1)
          + w_affinity   * affinity       (1 joined community, related_affinity if related, else 0)
          + w_freshness  * freshness      (2 ** (-age_hours / half_life_hours), 0..1)

Each weighted part is kept as a ``score.<part>`` column, so the trace and the console show why
an item ranks where it does. All weights are params, so an experiment can move them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Scorer
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query


class HeuristicScorer(Scorer):
    READS = ("community", "created", "quality", "engagement")
    READS_QUERY = ("user.affinity",)
    WRITES = ("score", "score.quality", "score.engagement", "score.affinity", "score.freshness")
    PARAMS = (
        ParamSpec("w_quality", float, 1.0, "weight of in-community score percentile", min=0, max=100),
        ParamSpec("w_engagement", float, 0.3, "weight of comment-count percentile", min=0, max=100),
        ParamSpec("w_affinity", float, 0.8, "weight of the user's affinity to the community", min=0, max=100),
        ParamSpec("w_freshness", float, 0.6, "weight of freshness", min=0, max=100),
        ParamSpec("half_life_hours", float, 168.0, "age at which freshness halves", min=0.1, max=100_000),
    )

    def score(self, query: Query, batch: CandidateBatch) -> Mapping[str, npt.NDArray[Any]]:
        n = len(batch)
        affinity_by_community = query.feature("user.affinity")
        if affinity_by_community is None:
            affinity = np.zeros(n, dtype=np.float64)
        else:
            affinity = affinity_by_community[batch.column("community").astype(np.int64)].astype(np.float64)
        age_h = np.maximum(query.now - batch.column("created"), 0.0) / 3600.0
        freshness = np.exp2(-age_h / float(self.param(query, "half_life_hours")))
        parts = {
            "score.quality": float(self.param(query, "w_quality")) * batch.column("quality"),
            "score.engagement": float(self.param(query, "w_engagement")) * batch.column("engagement"),
            "score.affinity": float(self.param(query, "w_affinity")) * affinity,
            "score.freshness": float(self.param(query, "w_freshness")) * freshness,
        }
        total = np.zeros(n, dtype=np.float64)
        for v in parts.values():
            total += v
        return {"score": total, **parts}
