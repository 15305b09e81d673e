"""The user's query vectors for embedding retrieval: one per index (content, collaborative).

* ``user.embedding.content``: the normalised blend of two normalised means, the centroids of the
  communities the user joined and the vectors of the posts they recently clicked or upvoted
  (``recent_weight`` of the second when there are any). Either part alone is used when the other is
  missing, so a user known only by their clicks still gets a vector.
* ``user.embedding.collab``: the user's ALS factors, when the collaborative model knows the user.

Each is a :class:`~feedmix.components.sources.embedding_source.QueryVector`, carrying the index version it was
computed from (the embedding source searches that version). A user with neither communities nor
recent engagement, and any user the collaborative model has not seen, get no vector, and the
embedding sources return nothing for them: that is not an error. Cold-start users (not in the
directory) do not use the default communities the profile hydrator gives them: those are the
largest communities, which the trending source already covers.

The joined communities are read from the user directory here, not from ``user.communities``:
query hydrators run concurrently and see none of each other's features. It is the same
in-process lookup the profile hydrator makes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.core.components import QueryHydrator
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.collab_index import CollabIndex
from feedmix.retrieval.content_index import ContentIndex
from feedmix.retrieval.query_vector import QueryVector
from feedmix.retrieval.served_indexes import ServedIndex
from feedmix.users.directory import UserDirectory
from feedmix.users.recent_engagements import RecentEngagements

CONTENT_FEATURE = "user.embedding.content"
COLLAB_FEATURE = "user.embedding.collab"


class UserEmbeddingHydrator(QueryHydrator):
    WRITES_QUERY = (CONTENT_FEATURE, COLLAB_FEATURE)
    inline = True  # in-process lookups and a few dozen multiply-adds: no thread hop
    PARAMS = (
        ParamSpec(
            "recent_weight",
            float,
            0.5,
            "share of recently engaged posts in the content vector (the rest: joined communities)",
            min=0,
            max=1,
        ),
        ParamSpec("max_recent", int, 20, "recent engagements blended in", min=0, max=200),
    )

    @classmethod
    def from_deps(cls, identifier: str, deps: Any, **options: Any) -> UserEmbeddingHydrator:
        return cls(
            identifier,
            deps.users,
            deps.corpus,
            deps.content_index,
            deps.collab_index,
            deps.recent_engagements,
            **options,
        )

    def __init__(
        self,
        identifier: str,
        users: UserDirectory,
        corpus: RedditCorpus,
        content: ServedIndex | None = None,
        collab: ServedIndex | None = None,
        recent: RecentEngagements | None = None,
    ) -> None:
        super().__init__(identifier)
        self.users, self.corpus = users, corpus
        self.content, self.collab, self.recent = content, collab, recent

    def hydrate(self, query: Query) -> Mapping[str, Any]:
        out: dict[str, Any] = {CONTENT_FEATURE: None, COLLAB_FEATURE: None}  # None: no vector for this user
        content = self.content.current() if self.content is not None else None
        if content is not None:
            index = content.index
            if not isinstance(index, ContentIndex):
                raise TypeError(f"the content slot serves a {type(index).__name__}, not a ContentIndex")
            vec = self.content_vector(query, index)
            if vec is not None:
                out[CONTENT_FEATURE] = QueryVector(vec, index, content.version)
        collab = self.collab.current() if self.collab is not None else None
        if collab is not None:
            model = collab.index
            if not isinstance(model, CollabIndex):
                raise TypeError(f"the collab slot serves a {type(model).__name__}, not a CollabIndex")
            vec = model.user_vector(query.user_id)
            if vec is not None:
                out[COLLAB_FEATURE] = QueryVector(vec, model, collab.version)
        return out

    def content_vector(self, query: Query, index: ContentIndex) -> npt.NDArray[np.float32] | None:
        profile = self.users.get(query.user_id)
        communities = None
        if profile is not None and len(profile.communities):
            names = self.corpus.communities
            communities = index.community_vector([names[int(c)] for c in profile.communities])
        recent = None
        limit = int(self.param(query, "max_recent"))
        if self.recent is not None and limit > 0:
            recent = index.posts_vector(self.recent.get(query.user_id, limit))
        if communities is None or recent is None:
            return communities if recent is None else recent
        w = float(self.param(query, "recent_weight"))
        blend = (1.0 - w) * communities + w * recent
        norm = float(np.linalg.norm(blend))
        if not norm > 0:
            return communities
        out: npt.NDArray[np.float32] = (blend / norm).astype(np.float32)
        return out
