"""Post features gathered by row in one vectorised step per column.

``quality`` is the post's score percentile inside its own community and ``engagement`` its
comment-count percentile over the corpus; percentiles rather than raw counts, so a great post
in a 20k-subscriber community can compete with an average one in a 4M-subscriber community.
Both are computed once at startup; the request path is a gather.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateHydrator
from feedmix.core.query import Query
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.rows import ROW


def within_group_percentile(
    values: npt.NDArray[np.float64], groups: npt.NDArray[np.int64]
) -> npt.NDArray[np.float32]:
    """Percentile rank (0..1, 1 = best) of each value inside its group."""
    order = np.lexsort((values, groups))
    counts = np.bincount(groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank_in_group = np.arange(len(values)) - starts[groups[order]]
    size = counts[groups[order]]
    pct = np.empty(len(values), dtype=np.float32)
    pct[order] = (rank_in_group + 1) / size
    return pct


class PostFeaturesHydrator(CandidateHydrator):
    # runs after the deadline too: the essential NSFW filter judges by its ``over_18`` column (a
    # gather per column, well under a millisecond)
    essential = True

    def __init__(self, identifier: str, corpus: RedditCorpus) -> None:
        super().__init__(identifier)
        self.corpus = corpus
        c = corpus
        self.quality = within_group_percentile(c.score.astype(np.float64), c.community.astype(np.int64))
        self.engagement = within_group_percentile(
            c.num_comments.astype(np.float64), np.zeros(len(c), dtype=np.int64)
        )
        #: the link's domain as a small integer (self posts: ``self.<community>``), for source diversity
        self.domain = np.unique(np.asarray(c.domains, dtype=object), return_inverse=True)[1].astype(np.int32)

    def hydrate(self, query: Query, batch: CandidateBatch) -> Mapping[str, npt.ArrayLike]:
        rows = batch.column(ROW)
        c = self.corpus
        return {
            "community": c.community[rows],
            "created": c.created[rows],
            "post_score": c.score[rows],
            "num_comments": c.num_comments[rows],
            "over_18": c.over_18[rows],
            "url_key": c.url_key[rows],
            "quality": self.quality[rows],
            "engagement": self.engagement[rows],
            "domain": self.domain[rows],
        }
