"""Records what this page served in the scroll session, before the response leaves.

The next page's ``session_served`` hydrator reads the record to leave these posts out; recorded after
the response, page 2 could arrive first and repeat page 1. So this is a synchronous side effect: it
runs on the request thread, even past the deadline (essential), and when it fails the response has
no ``next_cursor`` (the feed service reads ``query.annotations["session_recorded"]``) and names it in
``failed_components``. Only the page's own posts are recorded (not the ads a blender mixed in).
"""

from __future__ import annotations

from typing import Any

from feedmix.core.components import SynchronousSideEffect
from feedmix.core.query import Query
from feedmix.stores.session_store import FeedSessionStore

RECORDED = "session_recorded"


class SessionRecordSideEffect(SynchronousSideEffect):
    essential = True

    def __init__(self, identifier: str, sessions: FeedSessionStore) -> None:
        super().__init__(identifier)
        self.sessions = sessions

    def run(self, query: Query, result: Any) -> None:
        session_id = query.context.get("session_id")
        page = result.page
        if not session_id or len(page) == 0:
            return
        self.sessions.add_served(str(session_id), page.ids)
        query.annotations[RECORDED] = True
