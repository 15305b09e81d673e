"""Adds the per-post corpus features (:mod:`feedmix.features.post_features`) to the candidates."""

from __future__ import annotations

from collections.abc import Mapping

import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateHydrator
from feedmix.core.query import Query
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.features.post_features import POST_FEATURE_COLUMNS, PostFeatures
from feedmix.retrieval.rows import ROW


class PostFeaturesHydrator(CandidateHydrator):
    READS = (ROW,)
    WRITES = POST_FEATURE_COLUMNS
    # runs after the deadline too: the essential NSFW filter judges by its ``over_18`` column (a
    # gather per column, well under a millisecond)
    essential = True

    def __init__(self, identifier: str, corpus: RedditCorpus) -> None:
        super().__init__(identifier)
        self.features = PostFeatures(corpus)

    def hydrate(self, query: Query, batch: CandidateBatch) -> Mapping[str, npt.ArrayLike]:
        return self.features.columns(batch.column(ROW))
