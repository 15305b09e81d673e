"""Loads the posts this user has already been shown, from the impressions clients reported."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from feedmix.core.components import QueryHydrator
from feedmix.core.query import Query
from feedmix.stores.seen_store import SeenStore


class SeenPostsHydrator(QueryHydrator):
    """``user.seen``: ids the user saw in earlier sessions (impressions the client reported)."""

    WRITES_QUERY = ("user.seen",)

    def __init__(self, identifier: str, seen: SeenStore) -> None:
        super().__init__(identifier)
        self.seen = seen
        self.inline = not getattr(seen, "remote", True)

    def hydrate(self, query: Query) -> Mapping[str, Any]:
        return {"user.seen": self.seen.get(query.user_id)}
