"""A discovery rule: posts from communities the user has not joined get ``weight`` added, so the surface
shows what is new to them rather than more of what they already follow (their home feed does that).
Kept as a ``score.rule.<id>`` column for the trace. Additive, not multiplicative, because the ranker's
value can be negative (hides subtract) and scaling a negative score would sink it further."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Scorer
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query


class NoveltyBoostScorer(Scorer):
    READS = ("score", "community")
    READS_QUERY = ("user.communities",)
    WRITES = ("score", "score.rule.*")
    inline = True
    PARAMS = (
        ParamSpec(
            "weight",
            float,
            0.3,
            "added to a post from a community the user has not joined",
            min=0.0,
            max=100.0,
        ),
    )

    def score(self, query: Query, batch: CandidateBatch) -> Mapping[str, npt.NDArray[Any]]:
        score = batch.column("score")
        joined = query.feature("user.communities")
        novel = ~np.isin(
            batch.column("community"), np.asarray(joined if joined is not None else [], dtype=np.int64)
        )
        boost = np.where(novel, float(self.param(query, "weight")), 0.0)
        return {"score": score + boost, f"score.rule.{self.identifier}": boost}
