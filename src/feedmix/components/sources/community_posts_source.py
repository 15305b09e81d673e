"""Top recent posts of a set of communities: the user's joined ones, or the one being viewed.

The same class serves the home feed (``communities_feature = "user.communities"``) and the
community feed (``"feed.communities"``), which is the point of declarative pipelines: a
surface is a different wiring of the same parts.
"""

from __future__ import annotations

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateSource
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.rows import ROW, rows_batch, top_recent_rows


class CommunityPostsSource(CandidateSource):
    WRITES = (ROW,)
    inline = True  # in-process corpus work: no thread hop
    PARAMS = (
        ParamSpec("per_community", int, 40, "posts taken from each community", min=1, max=5000),
        ParamSpec(
            "window_days", float, 30.0, "only posts newer than this (corpus clock)", min=0.01, max=10_000
        ),
    )

    def __init__(
        self, identifier: str, corpus: RedditCorpus, communities_feature: str = "user.communities"
    ) -> None:
        super().__init__(identifier)
        self.corpus = corpus
        self.communities_feature = communities_feature
        self.reads_query = (communities_feature,)

    def fetch(self, query: Query) -> CandidateBatch:
        communities = query.feature(self.communities_feature)
        if communities is None or len(communities) == 0:
            return CandidateBatch.empty()
        since = query.now - float(self.param(query, "window_days")) * 86400.0
        rows = top_recent_rows(self.corpus, communities, since, int(self.param(query, "per_community")))
        return rows_batch(self.corpus, rows)
