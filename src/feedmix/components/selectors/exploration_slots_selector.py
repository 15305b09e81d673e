"""Gives exploration candidates a fixed budget of page positions.

Exploration candidates (``explore`` column) compete on their Thompson draw, not on the ranker's
score, and take at most ``slots`` positions per page at ``first_position``, ``first_position +
gap``, ... (0-based). Every other position keeps the ranked order. The cost of discovery is thus
bounded and visible: ``slots / limit`` of a page at most, at known positions.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Selector
from feedmix.core.params import ParamSpec
from feedmix.core.query import Query


def interleave(
    ranked: npt.NDArray[np.int64],
    explore: npt.NDArray[np.int64],
    positions: npt.NDArray[np.int64],
    limit: int,
) -> npt.NDArray[np.int64]:
    """Place ``explore`` items at ``positions`` and ``ranked`` items everywhere else, up to ``limit``.

    Exploration items only ever take slot positions: when the ranked items run out first, the page
    ends there. A loop over at most ``limit`` output positions, so it is cheap.
    """
    slots = set(positions.tolist())
    out: list[int] = []
    r = e = 0
    while len(out) < limit:
        if len(out) in slots and e < len(explore):
            out.append(int(explore[e]))
            e += 1
        elif r < len(ranked):
            out.append(int(ranked[r]))
            r += 1
        else:
            break
    return np.asarray(out, dtype=np.int64)


class ExplorationSlotsSelector(Selector):
    READS = ("explore", "explore_score")
    PARAMS = (
        ParamSpec("slots", int, 2, "most exploration items per page", min=0, max=100),
        ParamSpec(
            "first_position", int, 3, "0-based position of the first exploration slot", min=0, max=1000
        ),
        ParamSpec("gap", int, 8, "positions between exploration slots", min=1, max=1000),
    )

    def select(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.int64]:
        n = len(batch)
        if n == 0 or not batch.has("explore"):
            return np.arange(n, dtype=np.int64)
        is_explore = batch.column("explore").astype(bool)
        ranked = np.flatnonzero(~is_explore).astype(np.int64)
        explore = np.flatnonzero(is_explore).astype(np.int64)
        explore = explore[np.argsort(-batch.column("explore_score")[explore], kind="stable")]
        slots = int(self.param(query, "slots"))
        first, gap = int(self.param(query, "first_position")), int(self.param(query, "gap"))
        positions = first + gap * np.arange(slots, dtype=np.int64)
        return interleave(ranked, explore[:slots], positions, query.limit)
