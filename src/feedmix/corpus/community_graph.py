"""Which communities are related, learned from what their posts are about.

The data has no user co-membership log, so relatedness comes from the text: each community is
the TF-IDF vector of all its post titles, and two communities are related when those vectors are
close (cosine). ``r/buildapc`` lands next to ``r/pcmasterrace`` and ``r/techsupport`` this way,
which is what "popular in related communities" needs. Computed once at startup (about a second
on the full corpus).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer

from feedmix.corpus.reddit_corpus import RedditCorpus


@dataclass(frozen=True)
class CommunityGraph:
    #: ``neighbors[c]`` are the ids of the communities most related to ``c``, best first
    neighbors: npt.NDArray[np.int32]
    similarity: npt.NDArray[np.float32]

    @classmethod
    def from_corpus(
        cls, corpus: RedditCorpus, k: int = 8, max_titles_per_community: int = 500
    ) -> CommunityGraph:
        n = len(corpus.communities)
        docs = []
        for c in range(n):
            rows = corpus.community_rows(c)[:max_titles_per_community]
            docs.append(" ".join(corpus.titles[r] for r in rows))
        vec = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2, max_df=0.5, dtype=np.float32)
        m = vec.fit_transform(docs)
        sim = np.asarray((m @ m.T).todense(), dtype=np.float32)
        np.fill_diagonal(sim, -1.0)
        k = min(k, n - 1)
        top = np.argsort(-sim, axis=1)[:, :k].astype(np.int32)
        return cls(neighbors=top, similarity=np.take_along_axis(sim, top, axis=1))

    def related(self, communities: npt.ArrayLike, k: int) -> npt.NDArray[np.int32]:
        """Communities related to any of ``communities`` (excluding them), strongest first."""
        own = np.asarray(communities, dtype=np.int32)
        if own.size == 0:
            return np.empty(0, dtype=np.int32)
        cand = self.neighbors[own].ravel()
        weight = self.similarity[own].ravel()
        keep = ~np.isin(cand, own)
        cand, weight = cand[keep], weight[keep]
        if cand.size == 0:
            return np.empty(0, dtype=np.int32)
        total = np.bincount(cand, weights=weight)
        ranked = np.argsort(-total, kind="stable")
        ranked = ranked[total[ranked] > 0]
        return ranked[:k].astype(np.int32)
