"""Embedding retrieval: the posts nearest to the user's query vector in an ANN index.

The vector comes from the query (the ``user_embedding`` hydrator puts a :class:`QueryVector` under
``vector_feature``), together with the index version it belongs to: the source searches that very
version, so a hot swap between hydration and retrieval cannot pair a vector of one model with the
index of another. A query without a vector (a cold-start user, a slot with no build yet) gets an
empty batch, which is the normal answer, not a failure.

One ANN search per request. Exclusions are applied inside it by over-fetching
(:mod:`feedmix.retrieval.ann.overfetch`), so ``k`` results survive the filters that would otherwise
throw them away later: the posts the user has seen (``user.seen``) or was served earlier in this
scroll session (``session.served``), and NSFW posts unless the user opted in (``user.allow_nsfw``).
The NSFW id set is built once per corpus; a request only merges its seen ids into it.

A sharded index (:mod:`feedmix.retrieval.shards.scatter_gather`) is searched the same way, bounded by
the request's remaining deadline; when a shard is down or late, the source returns what the other
shards found and reports the request degraded (``Fallback``: status ``fallback`` in the trace, whose
``error`` names the missing shards and why), so the feed is served from the shards that answered.

The batch has ``row`` (corpus rows; ids the corpus lacks, from a build of another corpus, are
dropped) and the similarity as a column (cosine for the content index, the ALS dot product for the
collaborative one), named by ``similarity_column``.
"""

from __future__ import annotations

import numpy as np

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateSource, Fallback
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.ann.exclusion_set import ExclusionSet
from feedmix.retrieval.query_vector import QueryVector
from feedmix.retrieval.rows import ROW
from feedmix.retrieval.shards.coverage import search_with_coverage

#: ``k`` bounds: at least one, at most what one over-fetching search should ever be asked for
MAX_K = 2000


class EmbeddingSource(CandidateSource):
    WRITES = (ROW,)
    inline = True  # one in-process search of well under a millisecond: no thread hop
    PARAMS = (ParamSpec("k", int, 200, "posts retrieved per request", min=1, max=MAX_K),)

    def __init__(
        self,
        identifier: str,
        corpus: RedditCorpus,
        vector_feature: str,
        similarity_column: str | None = None,
    ) -> None:
        super().__init__(identifier)
        self.corpus = corpus
        self.vector_feature = vector_feature
        self.similarity_column = similarity_column or f"{identifier}_similarity"
        self.reads_query = (vector_feature,)
        self.writes = (ROW, self.similarity_column)
        self._nsfw = ExclusionSet.from_mask(corpus.ids, corpus.over_18)

    def exclusions(self, query: Query) -> ExclusionSet:
        seen = [
            np.asarray(ids, dtype=np.int64)
            for ids in (query.feature("user.seen"), query.feature("session.served"))
            if ids is not None and len(ids)
        ]
        base = ExclusionSet.empty() if query.feature("user.allow_nsfw", False) else self._nsfw
        return base.union(*seen) if seen else base

    def fetch(self, query: Query) -> CandidateBatch:
        qv = query.feature(self.vector_feature)
        if qv is None:
            return CandidateBatch.empty()
        if not isinstance(qv, QueryVector):
            raise TypeError(f"{self.vector_feature} holds a {type(qv).__name__}, not a QueryVector")
        k = int(self.param(query, "k"))
        res = search_with_coverage(
            qv.index, qv.vector, k, exclude=self.exclusions(query), timeout_s=query.deadline.remaining_s()
        )
        found = res.ids[0] >= 0
        ids, scores = res.ids[0][found], res.scores[0][found]
        rows = self.corpus.rows_of(ids)
        known = rows >= 0
        batch = CandidateBatch(
            ids[known], {ROW: rows[known], self.similarity_column: scores[known].astype(np.float32)}
        )
        if res.coverage is not None and not res.coverage.complete:
            raise Fallback(batch, f"partial index: {res.coverage.describe()}")
        return batch
