"""Who the user is, as ranking sees it: joined communities, NSFW setting, an affinity over communities.

Serving (the ``user_profile`` hydrator) and training (``feedmix train`` rebuilding each logged
request's context) read profiles from here, so the two can never compute affinity differently.
Unknown users are not an error: they get the cold-start profile (the largest communities by 2013
subscribers, as Reddit's default subscriptions did), flagged ``user.cold_start``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.users.directory import UserDirectory


class UserProfiles:
    def __init__(self, corpus: RedditCorpus, graph: CommunityGraph, users: UserDirectory) -> None:
        self.corpus, self.graph, self.users = corpus, graph, users
        has_posts = corpus.post_counts() > 0
        by_size = np.argsort(-np.where(has_posts, corpus.subscribers, -1), kind="stable")
        self._defaults = by_size[: int(has_posts.sum())].astype(np.int32)

    def profile(self, user_id: str, cold_start_communities: int, related_affinity: float) -> dict[str, Any]:
        """The user's profile features (the query features of a feed request)."""
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
