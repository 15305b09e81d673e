"""Trending: popularity decayed by age, Hacker-News style: ``score / (age_hours + 2) ** gravity``.

The ranking over the whole window is the same for every user, so it is computed once per
(clock minute, params) and cached; a request only slices the cached list. On a live site the
same list would be refreshed by a background job; here the corpus clock is fixed.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateSource
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.rows import ROW, rows_batch


class TrendingSource(CandidateSource):
    WRITES = (ROW,)
    inline = True  # in-process corpus work: no thread hop
    PARAMS = (
        ParamSpec("limit", int, 300, "trending posts returned", min=1, max=20_000),
        ParamSpec("window_days", float, 7.0, "posts older than this never trend", min=0.01, max=10_000),
        ParamSpec("gravity", float, 1.5, "how fast age pulls a post down", min=0.0, max=5.0),
    )

    def __init__(self, identifier: str, corpus: RedditCorpus) -> None:
        super().__init__(identifier)
        self.corpus = corpus
        self._cache: dict[tuple[int, float, float], npt.NDArray[np.int64]] = {}
        self._lock = threading.Lock()

    def ranked(self, now: float, window_days: float, gravity: float) -> npt.NDArray[np.int64]:
        key = (int(now // 60), window_days, gravity)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        c = self.corpus
        rows = np.flatnonzero(c.created >= now - window_days * 86400.0)
        age_h = np.maximum(now - c.created[rows], 0.0) / 3600.0
        trend = np.maximum(c.score[rows], 0) / np.power(age_h + 2.0, gravity)
        ranked = rows[np.argsort(-trend, kind="stable")].astype(np.int64)
        with self._lock:
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = ranked
        return ranked

    def fetch(self, query: Query) -> CandidateBatch:
        ranked = self.ranked(
            query.now, float(self.param(query, "window_days")), float(self.param(query, "gravity"))
        )
        return rows_batch(self.corpus, ranked[: int(self.param(query, "limit"))])
