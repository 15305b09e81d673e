"""Removes cross-posts: the same link posted in several communities keeps only its best copy.

Ids are already unique after the merge; this catches different posts with the same content
(same normalised URL), keeping the one with the highest post score.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Filter
from feedmix.core.query import Query


class DuplicateContentFilter(Filter):
    READS = ("url_key", "post_score")

    def keep(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.bool_]:
        keys = batch.column("url_key")
        order = np.lexsort((-batch.column("post_score").astype(np.int64), keys))
        first = np.ones(len(order), dtype=bool)
        first[1:] = keys[order][1:] != keys[order][:-1]
        mask = np.zeros(len(batch), dtype=bool)
        mask[order[first]] = True
        return mask
