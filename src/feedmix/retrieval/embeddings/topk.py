"""Top-k item selection over a dense score matrix, with per-user exclusions, in one vectorised pass.

Shared by every retrieval source and by the offline evaluation so that all of them break the same
way on the same edge cases: an excluded item (already seen, not yet in the catalogue, unknown to
the model) scores -inf and never appears, and a user with fewer than ``k`` eligible items gets a
list padded with -1 rather than with arbitrary excluded items.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: padding for "no candidate here" in fixed-width candidate lists
NO_ITEM = -1


def top_k(
    scores: npt.NDArray[np.floating],
    k: int,
    exclude: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.int64]:
    """Column indices of each row's ``k`` highest scores, best first; -1 where none is eligible.

    ``argpartition`` then a sort of only the ``k`` survivors: O(m + k log k) per row instead of
    O(m log m). NaN and -inf scores count as ineligible, like ``exclude``.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    s = np.array(scores, dtype=np.float32, copy=True, ndmin=2)
    n, m = s.shape
    s[np.isnan(s)] = -np.inf
    if exclude is not None:
        if exclude.shape != s.shape:
            raise ValueError(f"exclude has shape {exclude.shape}, scores {s.shape}")
        s[exclude] = -np.inf
    out = np.full((n, k), NO_ITEM, dtype=np.int64)
    kk = min(k, m)
    if kk == 0 or n == 0:
        return out
    part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
    vals = np.take_along_axis(s, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    best = np.take_along_axis(part, order, axis=1)
    best_vals = np.take_along_axis(vals, order, axis=1)
    out[:, :kk] = np.where(best_vals > -np.inf, best, NO_ITEM)
    return out
