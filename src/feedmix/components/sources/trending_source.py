"""Trending: popularity decayed by age, Hacker-News style: ``score / (age_hours + 2) ** gravity``.

The ranking over the whole window is the same for every user, so it is computed once per
(clock minute, params) and kept in the process's cache (``[cache] url``: in-process by default, Redis
or Memcached to share it between replicas), with a minute as its staleness bound; a request only
slices the cached list, and a cache that is down only makes the request compute it (``ReadThrough``).
The key names the corpus, since the list holds its row numbers.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateSource
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.rows import ROW, rows_batch
from feedmix.stores.cache import Cache
from feedmix.stores.memory_cache import MemoryCache
from feedmix.stores.read_through import ReadThrough

#: the staleness the trending list accepts: a minute of the corpus clock
TTL_S = 60.0
Key = tuple[int, float, float]


class TrendingSource(CandidateSource):
    WRITES = (ROW,)
    inline = True  # in-process corpus work: no thread hop
    PARAMS = (
        ParamSpec("limit", int, 300, "trending posts returned", min=1, max=20_000),
        ParamSpec("window_days", float, 7.0, "posts older than this never trend", min=0.01, max=10_000),
        ParamSpec("gravity", float, 1.5, "how fast age pulls a post down", min=0.0, max=5.0),
    )

    def __init__(self, identifier: str, corpus: RedditCorpus, cache: Cache | None = None) -> None:
        super().__init__(identifier)
        self.corpus = corpus
        who = f"{corpus.source_path}:{len(corpus)}:{corpus.now}".encode()
        corpus_id = hashlib.sha1(who).hexdigest()[:12]
        self.lists: ReadThrough[Key, npt.NDArray[np.int64]] = ReadThrough(
            "trending",
            cache if cache is not None else MemoryCache(max_entries=64),
            lambda keys: [self._rank(*k) for k in keys],
            lambda rows: rows.astype("<i8").tobytes(),
            lambda raw: np.frombuffer(raw, dtype="<i8").astype(np.int64),
            ttl_s=TTL_S,
            key_of=lambda k: f"trending:{corpus_id}:{k[0]}:{k[1]}:{k[2]}",
        )

    def ranked(self, now: float, window_days: float, gravity: float) -> npt.NDArray[np.int64]:
        return self.lists.get((int(now // 60), window_days, gravity))

    def _rank(self, minute: int, window_days: float, gravity: float) -> npt.NDArray[np.int64]:
        c = self.corpus
        now = minute * 60.0 + 59.0  # the minute's end: every request of that minute shares it
        rows = np.flatnonzero(c.created >= now - window_days * 86400.0)
        age_h = np.maximum(now - c.created[rows], 0.0) / 3600.0
        trend = np.maximum(c.score[rows], 0) / np.power(age_h + 2.0, gravity)
        return rows[np.argsort(-trend, kind="stable")].astype(np.int64)

    def fetch(self, query: Query) -> CandidateBatch:
        ranked = self.ranked(
            query.now, float(self.param(query, "window_days")), float(self.param(query, "gravity"))
        )
        return rows_batch(self.corpus, ranked[: int(self.param(query, "limit"))])
