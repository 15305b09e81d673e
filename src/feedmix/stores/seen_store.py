"""Which posts a user has already seen, so feeds stop repeating them.

The home feed filters candidates against this set on every request, so ``get`` must be one cheap
round trip; the set is bounded (the most recent ``max_per_user`` ids by time seen) because an
unbounded history would grow without limit and the oldest impressions matter least.

Ordering contract shared by every implementation: an id's time is the latest ``ts`` it was added
with; ``get`` returns the kept ids newest first, and between equal times the larger id counts as
newer (both for the order and for which id is evicted), so backends agree exactly.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

IdArray = npt.NDArray[np.int64]

DEFAULT_MAX_PER_USER = 2000
DEFAULT_SEEN_TTL_S = 30 * 24 * 3600.0


class SeenStore(Protocol):
    """Per-user recently seen post ids. Backend failures raise StoreUnavailable."""

    def add(self, user_id: str, post_ids: IdArray, ts: float) -> None:
        """Record that ``user_id`` saw ``post_ids`` at ``ts`` (unix seconds)."""
        ...

    def get(self, user_id: str) -> IdArray:
        """The user's kept seen ids, unique, newest first (empty if none)."""
        ...

    def close(self) -> None: ...
