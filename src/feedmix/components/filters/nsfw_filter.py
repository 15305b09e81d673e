"""Removes NSFW (``over_18``) posts unless the user opted in: by their profile, or by their viewer
preference, which a client sends as ``nsfw_filter.viewer_choice`` ("show" or "hide" overrides the
profile; GraphQL sets it from the stored preferences).

Essential: it runs even when the deadline has passed, because showing NSFW content to a user who
did not ask for it is worse than a late response.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Filter
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query


class NsfwFilter(Filter):
    READS = ("over_18",)
    READS_QUERY = ("user.allow_nsfw",)
    essential = True
    PARAMS = (
        ParamSpec(
            "viewer_choice",
            str,
            "profile",
            "the viewer's own setting: 'profile' (the profile decides), 'show' or 'hide'",
            choices=("profile", "show", "hide"),
        ),
    )

    def keep(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.bool_]:
        choice = self.param(query, "viewer_choice")
        allowed = choice == "show" or (choice == "profile" and query.feature("user.allow_nsfw", False))
        if allowed:
            return np.ones(len(batch), dtype=bool)
        return ~batch.column("over_18").astype(bool)
