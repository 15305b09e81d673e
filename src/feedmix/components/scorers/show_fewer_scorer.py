"""A viewer's "show fewer like this": posts of the named communities (``show_fewer.communities``,
comma separated) keep ``factor`` of their score, so they sink without disappearing, which is what the
words promise (muting is the filter next door). Kept as a ``score.rule.<id>`` column (the change) for
the trace. It acts on any score, heuristic or ranker, since the viewer asked for it either way; the
scores it scales are non-negative values, so a factor below 1 always lowers them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.components.filters.muted_communities_filter import community_ids
from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Scorer
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.corpus.reddit_corpus import RedditCorpus


class ShowFewerScorer(Scorer):
    READS = ("score", "community")
    WRITES = ("score", "score.rule.*")
    inline = True
    PARAMS = (
        ParamSpec("communities", str, "", "communities this viewer wants fewer posts of, comma separated"),
        ParamSpec("factor", float, 0.3, "share of its score such a post keeps", min=0.0, max=1.0),
    )

    def __init__(self, identifier: str, corpus: RedditCorpus) -> None:
        super().__init__(identifier)
        self.corpus = corpus

    def score(self, query: Query, batch: CandidateBatch) -> Mapping[str, npt.NDArray[Any]]:
        score = batch.column("score")
        fewer = community_ids(self.corpus, str(self.param(query, "communities")))
        if len(fewer) == 0:
            return {"score": score}
        hit = np.isin(batch.column("community"), fewer)
        new = np.where(hit, score * float(self.param(query, "factor")), score)
        return {"score": new, f"score.rule.{self.identifier}": new - score}
