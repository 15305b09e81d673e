"""Corpus rows to a candidate batch: every source hands the rest of the pipeline ids plus rows."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.corpus.reddit_corpus import RedditCorpus

ROW = "row"


def rows_batch(corpus: RedditCorpus, rows: npt.ArrayLike) -> CandidateBatch:
    r = np.asarray(rows, dtype=np.int64)
    return CandidateBatch(corpus.ids[r], {ROW: r})


def top_recent_rows(
    corpus: RedditCorpus, communities: npt.ArrayLike, since: float, per_community: int
) -> npt.NDArray[np.int64]:
    """The best-scored posts newer than ``since`` of each community, ``per_community`` each."""
    parts = []
    for c in np.asarray(communities, dtype=np.int64):
        rows = corpus.community_rows(int(c))
        recent = rows[corpus.created[rows] >= since]
        parts.append(recent[:per_community])
    if not parts:
        return np.empty(0, dtype=np.int64)
    return np.concatenate(parts)
