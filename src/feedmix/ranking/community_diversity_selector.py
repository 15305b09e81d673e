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


def rank_within_group(groups: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For each position, how many earlier positions share its group."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_groups[1:] != sorted_groups[:-1]]))
    run_start = np.repeat(starts, np.diff(np.concatenate([starts, [len(groups)]])))
    ranks = np.empty(len(groups), dtype=np.int64)
    ranks[order] = np.arange(len(groups)) - run_start
    return ranks


class CommunityDiversitySelector(Selector):
    PARAMS = (
        ParamSpec("max_per_community", int, 4, "most posts from one community per response", min=1, max=1000),
    )

    def select(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.integer]:
        if len(batch) == 0:
            return np.empty(0, dtype=np.int64)
        ranks = rank_within_group(batch.column("community").astype(np.int64))
        return np.flatnonzero(ranks < int(self.param(query, "max_per_community")))
