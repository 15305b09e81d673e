"""Removes posts of the communities a viewer muted (``muted_communities.communities``: names, comma
separated). The viewer's stored preferences become this param per request (GraphQL does it for its
clients; a REST client sends ``p.muted_communities.communities=``), so the pipeline stays stateless.

Essential: a muted community showing up is a broken promise, late response or not. Unknown names are
ignored rather than refused, since a community can disappear after someone muted it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Filter
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.corpus.reddit_corpus import RedditCorpus


def community_ids(corpus: RedditCorpus, names: str) -> npt.NDArray[np.int64]:
    """The ids of the known communities in a comma-separated list of names."""
    ids = [corpus.community_id(n.strip()) for n in names.split(",") if n.strip()]
    return np.array([i for i in ids if i is not None], dtype=np.int64)


class MutedCommunitiesFilter(Filter):
    READS = ("community",)
    essential = True
    PARAMS = (ParamSpec("communities", str, "", "community names this viewer never sees, comma separated"),)

    def __init__(self, identifier: str, corpus: RedditCorpus) -> None:
        super().__init__(identifier)
        self.corpus = corpus

    def keep(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.bool_]:
        muted = community_ids(self.corpus, str(self.param(query, "communities")))
        if len(muted) == 0:
            return np.ones(len(batch), dtype=bool)
        return ~np.isin(batch.column("community"), muted)
