"""Fresh: the newest posts, so new content gets a first look before it has any votes.

Optionally limited to a set of communities (the community feed uses it that way).
"""

from __future__ import annotations

import numpy as np

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateSource
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.rows import ROW, rows_batch


class FreshSource(CandidateSource):
    WRITES = (ROW,)
    inline = True  # in-process corpus work: no thread hop
    PARAMS = (ParamSpec("limit", int, 100, "newest posts returned", min=1, max=20_000),)

    def __init__(self, identifier: str, corpus: RedditCorpus, communities_feature: str | None = None) -> None:
        super().__init__(identifier)
        self.corpus = corpus
        self.communities_feature = communities_feature
        self.reads_query = (communities_feature,) if communities_feature else ()

    def fetch(self, query: Query) -> CandidateBatch:
        limit = int(self.param(query, "limit"))
        if self.communities_feature is None:
            return rows_batch(self.corpus, self.corpus.newest_rows[:limit])
        communities = query.feature(self.communities_feature)
        if communities is None or len(communities) == 0:
            return CandidateBatch.empty()
        rows = np.concatenate([self.corpus.community_rows(int(c)) for c in communities])
        newest = rows[np.argsort(-self.corpus.created[rows], kind="stable")[:limit]]
        return rows_batch(self.corpus, newest)
