"""Removes posts the user was already shown in earlier sessions (reported impressions)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Filter
from feedmix.core.query import Query


class SeenPostsFilter(Filter):
    def __init__(self, identifier: str, feature: str = "user.seen") -> None:
        super().__init__(identifier)
        self.feature = feature
        self.reads_query = (feature,)

    def keep(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.bool_]:
        seen = query.feature(self.feature)
        if seen is None or len(seen) == 0:
            return np.ones(len(batch), dtype=bool)
        return ~np.isin(batch.ids, seen)
