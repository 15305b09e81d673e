"""The documented hand-tuned scorer that ranks the feed until a trained ranker replaces it; the
formula lives in :mod:`feedmix.ranking.heuristic_formula`.

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
from feedmix.ranking.heuristic_formula import DEFAULT_WEIGHTS, heuristic_parts, heuristic_total


class HeuristicScorer(Scorer):
    READS = ("community", "created", "quality", "engagement")
    READS_QUERY = ("user.affinity",)
    WRITES = ("score", "score.quality", "score.engagement", "score.affinity", "score.freshness")
    PARAMS = (
        ParamSpec(
            "w_quality",
            float,
            DEFAULT_WEIGHTS["w_quality"],
            "weight of in-community score percentile",
            min=0,
            max=100,
        ),
        ParamSpec(
            "w_engagement",
            float,
            DEFAULT_WEIGHTS["w_engagement"],
            "weight of comment-count percentile",
            min=0,
            max=100,
        ),
        ParamSpec(
            "w_affinity",
            float,
            DEFAULT_WEIGHTS["w_affinity"],
            "weight of the user's affinity to the community",
            min=0,
            max=100,
        ),
        ParamSpec(
            "w_freshness", float, DEFAULT_WEIGHTS["w_freshness"], "weight of freshness", min=0, max=100
        ),
        ParamSpec(
            "half_life_hours",
            float,
            DEFAULT_WEIGHTS["half_life_hours"],
            "age at which freshness halves",
            min=0.1,
            max=100_000,
        ),
    )

    def score(self, query: Query, batch: CandidateBatch) -> Mapping[str, npt.NDArray[Any]]:
        n = len(batch)
        affinity_by_community = query.feature("user.affinity")
        if affinity_by_community is None:
            affinity = np.zeros(n, dtype=np.float64)
        else:
            affinity = affinity_by_community[batch.column("community").astype(np.int64)].astype(np.float64)
        age_h = np.maximum(query.now - batch.column("created"), 0.0) / 3600.0
        weights = {p.name: float(self.param(query, p.name)) for p in self.PARAMS}
        parts = heuristic_parts(batch.column("quality"), batch.column("engagement"), affinity, age_h, weights)
        return {"score": heuristic_total(parts, n), **{f"score.{k}": v for k, v in parts.items()}}
