"""Loads who the user is: joined communities, NSFW setting, and an affinity over communities.

Unknown users are not an error: they get the cold-start profile (the largest communities by
2013 subscribers, as Reddit's default subscriptions did), flagged ``user.cold_start``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from feedmix.core.components import QueryHydrator
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.users.directory import UserDirectory


class UserProfileHydrator(QueryHydrator):
    inline = True  # in-process corpus work: no thread hop
    PARAMS = (
        ParamSpec("cold_start_communities", int, 20, "communities an unknown user is given", min=1, max=200),
        ParamSpec(
            "related_affinity", float, 0.4, "affinity of a community related to a joined one", min=0, max=1
        ),
    )

    def __init__(
        self, identifier: str, corpus: RedditCorpus, graph: CommunityGraph, users: UserDirectory
    ) -> None:
        super().__init__(identifier)
        self.corpus, self.graph, self.users = corpus, graph, users
        has_posts = corpus.post_counts() > 0
        by_size = np.argsort(-np.where(has_posts, corpus.subscribers, -1), kind="stable")
        self._defaults = by_size[: int(has_posts.sum())].astype(np.int32)

    def hydrate(self, query: Query) -> Mapping[str, Any]:
        return self.profile(
            query.user_id,
            int(self.param(query, "cold_start_communities")),
            float(self.param(query, "related_affinity")),
        )

    def profile(self, user_id: str, cold_start_communities: int, related_affinity: float) -> dict[str, Any]:
        """The user's profile features; training calls this too, so affinity is computed once, here."""
        profile = self.users.get(user_id)
        if profile is None:
            communities = self._defaults[:cold_start_communities]
            allow_nsfw, cold = False, True
        else:
            communities = np.asarray(profile.communities, dtype=np.int32)
            allow_nsfw, cold = bool(profile.allow_nsfw), False
        affinity = np.zeros(len(self.corpus.communities), dtype=np.float32)
        related = self.graph.related(communities, k=2 * max(len(communities), 1))
        affinity[related] = related_affinity
        affinity[communities] = 1.0
        return {
            "user.communities": communities,
            "user.related_communities": related,
            "user.allow_nsfw": allow_nsfw,
            "user.cold_start": cold,
            "user.affinity": affinity,
        }
