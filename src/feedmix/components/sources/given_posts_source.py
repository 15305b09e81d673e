"""The caller's own candidates: the rows a ranking request brought (``query.context["candidate_rows"]``),
so an internal service that retrieved posts its own way gets them ranked by a surface's scorers and
heads without this platform's retrieval (the gRPC ``RankCandidates`` call). Nothing given, nothing out.
"""

from __future__ import annotations

import numpy as np

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateSource
from feedmix.core.query import Query
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.rows import ROW, rows_batch

CONTEXT_KEY = "candidate_rows"


class GivenPostsSource(CandidateSource):
    WRITES = (ROW,)
    inline = True  # a gather of corpus columns: no thread hop

    def __init__(self, identifier: str, corpus: RedditCorpus) -> None:
        super().__init__(identifier)
        self.corpus = corpus

    def fetch(self, query: Query) -> CandidateBatch:
        rows = query.context.get(CONTEXT_KEY)
        if rows is None or len(rows) == 0:
            return CandidateBatch.empty()
        return rows_batch(self.corpus, np.asarray(rows, dtype=np.int64))
