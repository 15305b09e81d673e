"""Which posts a feed session has already served, for cursor pagination.

Page 2 of a scroll must not repeat page 1 even though ranking is recomputed per request, so the
serving layer records what each session was shown and filters it out on the next page. Sessions
are short-lived: the set expires ``ttl_s`` after the last page was served.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from feedmix.stores.redis_conn import is_redis_url

IdArray = npt.NDArray[np.int64]

DEFAULT_SESSION_TTL_S = 3600.0


class FeedSessionStore(Protocol):
    """Post ids served per feed session. Backend failures raise StoreUnavailable."""

    def add_served(self, session_id: str, post_ids: IdArray) -> None:
        """Add ``post_ids`` to the session and restart its TTL."""
        ...

    def served(self, session_id: str) -> IdArray:
        """Every id served in the session, unique and sorted ascending (empty if unknown/expired)."""
        ...

    def close(self) -> None: ...


def open_session_store(url: str) -> FeedSessionStore:
    """A session store for ``url``.

    * ``memory://?ttl_s=3600``
    * ``redis://host:6379/0?prefix=feedmix&ttl_s=3600&timeout_ms=50&connect_timeout_ms=50``
    """
    if url.startswith("memory://"):
        from feedmix.stores.memory_session_store import MemorySessionStore

        return MemorySessionStore.from_url(url)
    if is_redis_url(url):
        from feedmix.stores.redis_session_store import RedisSessionStore

        return RedisSessionStore.from_url(url)
    raise ValueError(f"unsupported session store URL {url!r} (use memory:// or redis://)")
