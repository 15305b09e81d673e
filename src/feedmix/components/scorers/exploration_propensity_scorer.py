"""Logs how likely the exploration policy was to show each candidate: the ``propensity`` column.

Off-policy evaluation (inverse propensity scoring and its relatives) re-weights logged outcomes by
1 / P(the logging policy showed this item), so the log must carry that probability wherever the
policy was random. Ranked items are placed deterministically: propensity 1. An exploration item
takes one of ``slots`` positions when its Thompson draw is among the best ``slots`` draws of the
exploration candidates that reached this stage; this component estimates that probability by
re-drawing every candidate's posterior ``draws`` times (a ``[draws, n_explore]`` Beta sample and
one partial sort, vectorised) and counting how often each lands in the top ``slots``.

The estimate is conditional on the candidates the source proposed and the filters kept (the
source cuts its own list to its ``limit`` best draws first), times the chance the post was in the
source's sampled pool (``explore_inclusion``, 1 when the pool was not capped); it is clipped below
at ``1 / (2·draws)`` so an item that was shown never gets a zero propensity (an infinite weight).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Scorer
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query
from feedmix.core.request_rng import request_rng


def slot_propensities(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], slots: int, draws: int, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """P(each item's Beta(a, b) draw is among the ``slots`` largest), by Monte Carlo."""
    n = len(a)
    if n == 0 or slots <= 0:
        return np.zeros(n, dtype=np.float64)
    if slots >= n:
        return np.ones(n, dtype=np.float64)
    sample = rng.beta(a[None, :], b[None, :], size=(draws, n))
    # the slots-th largest value of each row: items at or above it took a slot
    kth = np.partition(sample, n - slots, axis=1)[:, n - slots]
    hits = (sample >= kth[:, None]).sum(axis=0)
    p: npt.NDArray[np.float64] = np.maximum(hits / draws, 1.0 / (2 * draws))
    return p


class ExplorationPropensityScorer(Scorer):
    READS = ("score",)
    WRITES = ("score", "propensity")
    inline = True
    PARAMS = (ParamSpec("draws", int, 200, "Monte Carlo re-draws per request", min=10, max=10_000),)

    def __init__(self, identifier: str, slots_param: str = "exploration_slots.slots") -> None:
        super().__init__(identifier)
        self.slots_param = slots_param

    def score(self, query: Query, batch: CandidateBatch) -> Mapping[str, npt.NDArray[Any]]:
        n = len(batch)
        propensity = np.ones(n, dtype=np.float64)
        if n and batch.has("explore") and batch.has("explore_a"):
            explore = np.flatnonzero(batch.column("explore").astype(bool))
            slots = int(query.params.get(self.slots_param, 0) or 0)
            rng = request_rng(query.request_id, self.identifier)
            draws = int(self.param(query, "draws"))
            p = slot_propensities(
                batch.column("explore_a")[explore], batch.column("explore_b")[explore], slots, draws, rng
            )
            if batch.has("explore_inclusion"):
                p = np.maximum(p * batch.column("explore_inclusion")[explore], 1.0 / (2 * draws))
            propensity[explore] = p
        return {"score": batch.column("score"), "propensity": propensity}
