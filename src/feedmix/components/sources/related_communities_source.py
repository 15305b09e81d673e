"""Popular posts in communities related to the user's (by title similarity), for discovery."""

from __future__ import annotations

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateSource
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.rows import ROW, rows_batch, top_recent_rows


class RelatedCommunitiesSource(CandidateSource):
    WRITES = (ROW,)
    READS_QUERY = ("user.related_communities",)
    inline = True  # in-process corpus work: no thread hop
    PARAMS = (
        ParamSpec("communities", int, 10, "related communities to draw from", min=1, max=200),
        ParamSpec("per_community", int, 15, "posts taken from each related community", min=1, max=1000),
        ParamSpec(
            "window_days", float, 30.0, "only posts newer than this (corpus clock)", min=0.01, max=10_000
        ),
    )

    def __init__(self, identifier: str, corpus: RedditCorpus, graph: CommunityGraph) -> None:
        super().__init__(identifier)
        self.corpus, self.graph = corpus, graph

    def fetch(self, query: Query) -> CandidateBatch:
        related = query.feature("user.related_communities")
        if related is None:
            joined = query.feature("user.communities")
            if joined is None or len(joined) == 0:
                return CandidateBatch.empty()
            related = self.graph.related(joined, int(self.param(query, "communities")))
        related = related[: int(self.param(query, "communities"))]
        since = query.now - float(self.param(query, "window_days")) * 86400.0
        rows = top_recent_rows(self.corpus, related, since, int(self.param(query, "per_community")))
        return rows_batch(self.corpus, rows)
