"""Removes NSFW (``over_18``) posts unless the user opted in.

Essential: it runs even when the deadline has passed, because showing NSFW content to a user who
did not ask for it is worse than a late response.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Filter
from feedmix.core.query import Query


class NsfwFilter(Filter):
    READS = ("over_18",)
    READS_QUERY = ("user.allow_nsfw",)
    essential = True

    def keep(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.bool_]:
        if query.feature("user.allow_nsfw", False):
            return np.ones(len(batch), dtype=bool)
        return ~batch.column("over_18").astype(bool)
