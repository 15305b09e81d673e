"""The value model: what one impression is worth, from the ranker's head probabilities.

    value = w_click·P(click) + w_upvote·P(upvote) + w_comment·P(comment) − w_hide·P(hide)

The weights are a product decision, not something the data decides: they say how much a comment
is worth against a click, and how bad a hide is. So they are params of the ``ranker`` scorer (the
defaults below, overridable per request with ``p.ranker.w_click=...`` and so per experiment arm),
and each weighted term is kept as a ``score.value.<head>`` column, so the trace and the console show
why an item ranks where it does. Defaults: clicks and upvotes count one each and hides minus one,
as in the simulator's engagement metric (clicks + upvotes − hides), plus half a point per comment,
the signal a community most wants more of.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.params import ParamSpec

#: head -> (default weight, sign): hides subtract
WEIGHTS: dict[str, tuple[float, float]] = {
    "click": (1.0, 1.0),
    "upvote": (1.0, 1.0),
    "comment": (0.5, 1.0),
    "hide": (1.0, -1.0),
}

WEIGHT_PARAMS = tuple(
    ParamSpec(
        f"w_{head}",
        float,
        default,
        f"value-model weight of P({head})" + (" (subtracted)" if sign < 0 else ""),
        min=0.0,
        max=1000.0,
    )
    for head, (default, sign) in WEIGHTS.items()
)


def value(
    heads: Mapping[str, npt.NDArray[np.float64]], weights: Mapping[str, float]
) -> tuple[npt.NDArray[np.float64], dict[str, npt.NDArray[np.float64]]]:
    """The value of each row and its weighted terms (``score.value.<head>``).

    A head the model does not have contributes nothing (a model trained without a comment head
    still ranks); a weight for an unknown head is an error, because it is almost surely a typo.
    """
    unknown = sorted(set(weights) - set(WEIGHTS))
    if unknown:
        raise ValueError(f"no value-model weight for heads {unknown} (have: {sorted(WEIGHTS)})")
    n = len(next(iter(heads.values()))) if heads else 0
    total = np.zeros(n, dtype=np.float64)
    parts: dict[str, npt.NDArray[np.float64]] = {}
    for head, p in heads.items():
        if head not in WEIGHTS:
            continue
        term = WEIGHTS[head][1] * float(weights.get(head, WEIGHTS[head][0])) * p
        parts[f"score.value.{head}"] = term
        total += term
    return total, parts


def ranker_scored(batch: CandidateBatch) -> bool:
    """Whether the ranker's value model produced this batch's score (``score.value.*`` columns):
    the rescoring rules act on that value only, so a request that fell back to the heuristic is
    ranked exactly as before the ranker existed."""
    return any(n.startswith("score.value.") for n in batch.column_names)
