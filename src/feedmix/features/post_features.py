"""Per-post features from the corpus (community, age, score, quality and engagement percentiles,
domain), as columns gathered by row: serving's ``post_features`` hydrator and training read the same
arrays, so a model trains on the values it is served with."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feedmix.corpus.reddit_corpus import RedditCorpus


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


#: the columns ``PostFeatures.columns`` returns
POST_FEATURE_COLUMNS = (
    "community",
    "created",
    "post_score",
    "num_comments",
    "over_18",
    "url_key",
    "quality",
    "engagement",
    "domain",
)


class PostFeatures:
    """The per-post arrays, computed once per corpus (percentiles need the whole corpus)."""

    def __init__(self, corpus: RedditCorpus) -> None:
        self.corpus = c = corpus
        self.quality = within_group_percentile(c.score.astype(np.float64), c.community.astype(np.int64))
        self.engagement = within_group_percentile(
            c.num_comments.astype(np.float64), np.zeros(len(c), dtype=np.int64)
        )
        #: the link's domain as a small integer (self posts: ``self.<community>``), for source diversity
        self.domain = np.unique(np.asarray(c.domains, dtype=object), return_inverse=True)[1].astype(np.int32)

    def columns(self, rows: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[np.generic]]:
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
