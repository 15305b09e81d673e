"""Caps how many items of one catalogue category a page holds (``discovery.category_of``: a category per
community), keeping the score order, so a discovery page is not all console games because console
games score best. Items outside the catalogue are not capped here (the community cap still applies)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Selector
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.ranking.group_rank import rank_within_group


class CategoryCapSelector(Selector):
    READS = ("community",)
    READS_QUERY = ("discovery.category_of",)
    PARAMS = (ParamSpec("max_per_category", int, 8, "most items of one category per page", min=1, max=1000),)

    def select(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.integer]:
        if len(batch) == 0:
            return np.empty(0, dtype=np.int64)
        category_of = query.feature("discovery.category_of")
        if category_of is None:
            return np.arange(len(batch))
        category = np.asarray(category_of)[batch.column("community").astype(np.int64)].astype(np.int64)
        ranks = rank_within_group(category)
        return np.flatnonzero((category < 0) | (ranks < int(self.param(query, "max_per_category"))))
