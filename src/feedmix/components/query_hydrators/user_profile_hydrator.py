"""Loads who the user is (``user.communities``, ``user.allow_nsfw``, ``user.affinity`` ...) from
:class:`feedmix.users.user_profiles.UserProfiles`, with the cold-start size and related affinity as params."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from feedmix.core.components import QueryHydrator
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.users.directory import UserDirectory
from feedmix.users.user_profiles import UserProfiles


class UserProfileHydrator(QueryHydrator):
    WRITES_QUERY = (
        "user.communities",
        "user.related_communities",
        "user.allow_nsfw",
        "user.cold_start",
        "user.affinity",
    )
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
        self.profiles = UserProfiles(corpus, graph, users)

    def hydrate(self, query: Query) -> Mapping[str, Any]:
        return self.profiles.profile(
            query.user_id,
            int(self.param(query, "cold_start_communities")),
            float(self.param(query, "related_affinity")),
        )
