"""Turns the community named in the request into ``feed.communities`` for a community feed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from feedmix.core.components import QueryHydrator
from feedmix.core.query import Query
from feedmix.corpus.reddit_corpus import RedditCorpus


class CommunityContextHydrator(QueryHydrator):
    WRITES_QUERY = ("feed.communities",)
    inline = True  # in-process corpus work: no thread hop
    essential = True

    def __init__(self, identifier: str, corpus: RedditCorpus) -> None:
        super().__init__(identifier)
        self.corpus = corpus

    def hydrate(self, query: Query) -> Mapping[str, Any]:
        name = query.context.get("community")
        cid = self.corpus.community_id(str(name)) if name is not None else None
        if cid is None:
            raise LookupError(f"unknown community {name!r}")
        return {"feed.communities": np.array([cid], dtype=np.int32)}
