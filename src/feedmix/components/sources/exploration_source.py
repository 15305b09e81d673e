"""Exploration: new and little-shown posts, ranked by Thompson sampling on their early engagement.

A post that nobody has seen cannot earn the engagement the rankers reward, so without a budget for
discovery it never gets shown. This source proposes posts younger than ``window_days`` with fewer
than ``max_impressions`` impressions. Each gets a draw from its click-through posterior
``Beta(prior_clicks + clicks, prior_skips + impressions - clicks)``; the best draws are returned
with an ``explore_score`` column (the draw) and ``explore = True``. The exploration-slots selector
then places at most a fixed number of them per page, so discovery has a documented, bounded cost.

The draws use a generator seeded from the request id, so a logged request can be replayed.

The pool is capped: when more than ``max_pool`` posts are young enough, a uniform sample of
``max_pool`` of them (seeded like the draws) is scored. Thompson sampling over the whole week costs
time in proportion to the corpus (15,400 posts at 2M posts, 4 ms a request); a sample keeps that
fixed, still gives every young post the same chance per request, and that chance is carried in an
``explore_inclusion`` column so the propensity logged for off-policy evaluation includes it.
"""

from __future__ import annotations

import numpy as np

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateSource
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.core.request_rng import request_rng
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.engagement_counts import EngagementCounts, NoEngagement
from feedmix.retrieval.rows import ROW


class ExplorationSource(CandidateSource):
    WRITES = (ROW, "explore", "explore_score", "explore_a", "explore_b", "explore_inclusion")
    inline = True
    PARAMS = (
        ParamSpec("window_days", float, 7.0, "posts younger than this are explorable", min=0.01, max=365),
        ParamSpec(
            "max_impressions",
            int,
            100,
            "posts shown more often than this are explored enough",
            min=1,
            max=1_000_000,
        ),
        ParamSpec("limit", int, 40, "candidates proposed per request", min=1, max=5000),
        ParamSpec(
            "max_pool", int, 5000, "young posts scored per request (a uniform sample above)", min=1, max=10**7
        ),
        ParamSpec("prior_clicks", float, 1.0, "Beta prior: pseudo-clicks", min=0.01, max=1000),
        ParamSpec(
            "prior_skips", float, 12.0, "Beta prior: pseudo-impressions without a click", min=0.01, max=10_000
        ),
    )

    def __init__(
        self, identifier: str, corpus: RedditCorpus, engagement: EngagementCounts | None = None
    ) -> None:
        super().__init__(identifier)
        self.corpus = corpus
        self.engagement: EngagementCounts = engagement or NoEngagement()

    def fetch(self, query: Query) -> CandidateBatch:
        c = self.corpus
        since = query.now - float(self.param(query, "window_days")) * 86400.0
        rows = c.newest_since(since)
        rows = rows[c.created[rows] <= query.now]
        if len(rows) == 0:
            return CandidateBatch.empty()
        rng = request_rng(query.request_id, self.identifier)
        max_pool = int(self.param(query, "max_pool"))
        inclusion = 1.0
        if len(rows) > max_pool:
            inclusion = max_pool / len(rows)
            rows = rows[np.sort(rng.choice(len(rows), size=max_pool, replace=False))]
        ids = c.ids[rows]
        impressions, clicks = self.engagement.post_counts(ids, "24h")
        keep = impressions < int(self.param(query, "max_impressions"))
        rows, ids, impressions, clicks = rows[keep], ids[keep], impressions[keep], clicks[keep]
        if len(rows) == 0:
            return CandidateBatch.empty()
        a = float(self.param(query, "prior_clicks")) + clicks
        b = float(self.param(query, "prior_skips")) + np.maximum(impressions - clicks, 0)
        draws = rng.beta(a, b)
        top = np.argsort(-draws, kind="stable")[: int(self.param(query, "limit"))]
        return CandidateBatch(
            ids[top],
            {
                ROW: rows[top],
                "explore": np.ones(len(top), dtype=bool),
                "explore_score": draws[top],
                # the posterior, so the propensity of the slot placement can be estimated later
                "explore_a": a[top].astype(np.float64),
                "explore_b": b[top].astype(np.float64),
                # the chance this post was in the sampled pool at all (1 below max_pool)
                "explore_inclusion": np.full(len(top), inclusion, dtype=np.float64),
            },
        )
