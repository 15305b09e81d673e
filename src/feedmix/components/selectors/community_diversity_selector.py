"""Caps how many posts one community may hold in a response, keeping the score order.

Vectorised: a stable sort by community gives each candidate its rank among same-community
candidates above it, and candidates ranked past the cap are dropped.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Selector
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.ranking.group_rank import rank_within_group


class CommunityDiversitySelector(Selector):
    READS = ("community",)
    PARAMS = (
        ParamSpec("max_per_community", int, 4, "most posts from one community per response", min=1, max=1000),
    )

    def select(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.integer]:
        if len(batch) == 0:
            return np.empty(0, dtype=np.int64)
        ranks = rank_within_group(batch.column("community").astype(np.int64))
        return np.flatnonzero(ranks < int(self.param(query, "max_per_community")))
