"""The posts each user engaged with most recently, kept in process from the ingested events.

The content query vector blends the user's communities with the posts they just clicked or upvoted,
so a feed follows what a user is into today without waiting for a retrain. This consumer of
:class:`~feedmix.events.ingest.EventIngestor` keeps, per user, the last ``per_user`` positive posts
(click, upvote), newest first; a hide or downvote of a post takes it out again. Users are evicted
least recently active first beyond ``max_users``, so memory is bounded (about 0.5 KB per user at 50
posts). In process: a server rebuilds it at startup from the log's recent events, then keeps it from
the events it ingests (one server), or, with the aggregates in workers mode (several replicas, a
user's events arriving through any of them), from the shared log itself (``events.log_tailer``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from feedmix.events.post_ids import post_ids_to_int
from feedmix.events.schema import Event

IdArray = npt.NDArray[np.int64]

POSITIVE = frozenset({"click", "upvote", "comment"})
NEGATIVE = frozenset({"hide", "downvote"})


class RecentEngagements:
    def __init__(self, per_user: int = 50, max_users: int = 200_000) -> None:
        if per_user < 1 or max_users < 1:
            raise ValueError("per_user and max_users must be positive")
        self.per_user = per_user
        self.max_users = max_users
        self._users: OrderedDict[str, deque[int]] = OrderedDict()
        self._lock = threading.Lock()

    def apply(self, events: Sequence[Event], now: float) -> None:
        """Record the positive events in log order (an ``EventConsumer``)."""
        relevant = [e for e in events if e.type in POSITIVE or e.type in NEGATIVE]
        if not relevant:
            return
        posts = post_ids_to_int([e.post_id for e in relevant]).tolist()
        with self._lock:
            for event, post in zip(relevant, posts, strict=True):
                recent = self._users.get(event.user_id)
                if event.type in NEGATIVE:
                    if recent is not None and post in recent:
                        recent.remove(post)
                    continue
                if recent is None:
                    recent = self._users[event.user_id] = deque(maxlen=self.per_user)
                elif post in recent:
                    recent.remove(post)
                recent.appendleft(post)
                self._users.move_to_end(event.user_id)
            while len(self._users) > self.max_users:
                self._users.popitem(last=False)

    def get(self, user_id: str, limit: int | None = None) -> IdArray:
        """The user's most recent positive posts, newest first (empty for a user with none)."""
        with self._lock:
            recent = self._users.get(user_id)
            ids = list(recent)[:limit] if recent else []
        return np.asarray(ids, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._users)
