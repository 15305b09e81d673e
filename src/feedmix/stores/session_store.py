"""Which posts a feed session has already served, for cursor pagination.

Page 2 of a scroll must not repeat page 1 even though ranking is recomputed per request, so the
serving layer records what each session was shown and filters it out on the next page. Sessions
are short-lived: the set expires ``ttl_s`` after the last page was served.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

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
