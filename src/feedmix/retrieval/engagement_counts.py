"""How often posts were shown and clicked over a window: what exploration needs to know of engagement."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt


class EngagementCounts(Protocol):
    """Impressions and clicks per post over a window (the streaming aggregates provide it)."""

    def post_counts(
        self, post_ids: npt.NDArray[np.int64], window: str
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...


class NoEngagement:
    """Until engagement is wired in: every post counts as never shown."""

    def post_counts(
        self, post_ids: npt.NDArray[np.int64], window: str
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        zeros = np.zeros(len(post_ids), dtype=np.int64)
        return zeros, zeros.copy()
