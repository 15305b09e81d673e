"""What the discovery surface is about: the catalogue of games and apps communities (a product's
configuration: category name -> communities), as ``feed.communities`` (the catalogue in this corpus),
``discovery.category_of`` (each community's category, -1 outside the catalogue, for the per-category
cap) and ``discovery.similar`` (catalogue communities the user has not joined, most like the ones they
have first: where the similar-communities source draws, and the communities the response suggests).

Essential: without the catalogue the surface has nothing to show. A cold-start user (no joined
communities) gets the catalogue's largest communities as the similar ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from feedmix.core.components import QueryHydrator
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus


class DiscoveryContextHydrator(QueryHydrator):
    READS_QUERY = ("user.communities",)
    WRITES_QUERY = (
        "feed.communities",
        "discovery.category_of",
        "discovery.similar",
        "discovery.categories",
        "feed.suggested_communities",
    )
    inline = True  # in-process corpus and graph work: no thread hop
    essential = True
    PARAMS = (ParamSpec("similar", int, 8, "catalogue communities suggested and drawn from", min=1, max=100),)

    def __init__(
        self,
        identifier: str,
        corpus: RedditCorpus,
        graph: CommunityGraph,
        catalogue: Mapping[str, Sequence[str]],
    ) -> None:
        super().__init__(identifier)
        self.corpus, self.graph = corpus, graph
        self.categories = tuple(catalogue)
        self.category_of = np.full(len(corpus.communities), -1, dtype=np.int32)
        for k, names in enumerate(catalogue.values()):
            for name in names:
                cid = corpus.community_id(name)
                if cid is not None:
                    self.category_of[cid] = k
        self.catalogue = np.flatnonzero(self.category_of >= 0).astype(np.int32)
        if len(self.catalogue) == 0:
            raise ValueError(f"{identifier}: no catalogue community is in this corpus")
        # the fallback order: the catalogue's largest communities
        sizes = np.array([len(corpus.community_rows(int(c))) for c in self.catalogue]) + corpus.subscribers[
            self.catalogue
        ] / max(float(corpus.subscribers.max()), 1.0)
        self.by_size = self.catalogue[np.argsort(-sizes, kind="stable")]

    def hydrate(self, query: Query) -> Mapping[str, Any]:
        k = int(self.param(query, "similar"))
        joined = query.feature("user.communities")
        joined_ids = np.asarray(joined if joined is not None else [], dtype=np.int64)
        candidates = self.graph.related(joined_ids, len(self.corpus.communities)) if len(joined_ids) else None
        order = self.by_size if candidates is None else np.concatenate([candidates, self.by_size])
        in_catalogue = order[self.category_of[order] >= 0]
        fresh = in_catalogue[~np.isin(in_catalogue, joined_ids)]
        _, first = np.unique(fresh, return_index=True)
        similar = fresh[np.sort(first)][:k].astype(np.int32)
        return {
            "feed.communities": self.catalogue,
            "discovery.category_of": self.category_of,
            "discovery.similar": similar,
            "discovery.categories": self.categories,
            # the communities the response suggests joining (the feed service names them)
            "feed.suggested_communities": similar,
        }
