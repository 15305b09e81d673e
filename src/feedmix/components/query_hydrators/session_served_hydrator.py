"""Loads what earlier pages of this scroll session served, so the next page repeats none of it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from feedmix.core.components import QueryHydrator
from feedmix.core.query import Query
from feedmix.stores.session_store import FeedSessionStore


class SessionServedHydrator(QueryHydrator):
    """``session.served``: ids already served on earlier pages of this scroll (cursor) session."""

    WRITES_QUERY = ("session.served",)

    def __init__(self, identifier: str, sessions: FeedSessionStore) -> None:
        super().__init__(identifier)
        self.sessions = sessions
        self.inline = not getattr(sessions, "remote", True)

    def hydrate(self, query: Query) -> Mapping[str, Any]:
        session_id = query.context.get("session_id")
        if not session_id or not query.context.get("page"):
            return {"session.served": None}  # the first page: nothing served yet
        return {"session.served": self.sessions.served(str(session_id))}
