"""The ad slots of a feed, as a pipeline component: it keeps the ranking as it is and holds the
params the blender reads (``ad_slots.first_position``, ``ad_slots.min_gap``, ``ad_slots.max_load``),
so they are overridable per request and per experiment like any param, and its kill switch
``ad_slots.enabled`` turns ads off for a request or for everyone without a deploy."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feedmix.ads.ad_blender import BlendParams
from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Selector
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query


class AdSlotsSelector(Selector):
    inline = True
    owner = "ads"
    PARAMS = (
        ParamSpec("first_position", int, 2, "earliest 0-based page position of an ad", min=0, max=1000),
        ParamSpec("min_gap", int, 5, "organic posts at least between two ads", min=1, max=1000),
        ParamSpec("max_load", float, 0.15, "largest share of a page's items that are ads", min=0.0, max=0.5),
    )

    def select(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.int64]:
        return np.arange(len(batch), dtype=np.int64)

    def blend_params(self, query: Query) -> BlendParams:
        return BlendParams(
            first_position=int(self.param(query, "first_position")),
            min_gap=int(self.param(query, "min_gap")),
            max_load=float(self.param(query, "max_load")),
        )
