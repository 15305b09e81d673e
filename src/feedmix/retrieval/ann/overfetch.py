"""Filtered retrieval by over-fetching: ask the index for more than ``k``, drop the excluded, retry short.

Why over-fetch is the default (numbers in :mod:`feedmix.retrieval.ann`): its cost does not depend on the
size of the exclusion list (only the fetched candidates are checked, one ``searchsorted``), it works with
every index kind, and with HNSW a search for ``k·f`` neighbours at ``ef ≥ k·f`` is about as accurate as
the unfiltered one, so the recall of the survivors is the recall of the index.

Adaptive factor: the first round fetches ``k / (1 − excluded share) · slack`` (the share estimated from
the exclusion list's size against the index size). Exclusions are not spread evenly: a user's seen posts
sit right next to the user's vector, so locally far more than the global share can be excluded. A
query left with fewer than ``k`` survivors is searched again with ``growth`` times as many, and only
those queries; after ``max_rounds`` the best survivors are returned with ``-1`` padding (the caller sees a
short answer instead of an unbounded search). A retry also passes an ``effort`` factor (``growth`` per
round) that an IVF index turns into more probed cells: a blocked community can fill whole cells, and
fetching more from the same cells cannot help.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

RowArray = npt.NDArray[np.int64]
ScoreArray = npt.NDArray[np.float32]
#: ``(queries, k, effort) -> (rows, scores)``; ``effort`` > 1 asks the index to search harder
RowSearch = Callable[[npt.NDArray[np.float32], int, float], tuple[RowArray, ScoreArray]]
RowMask = Callable[[RowArray], npt.NDArray[np.bool_]]

#: score given to padding slots (row/id -1)
PAD_SCORE = np.float32(-np.inf)


@dataclass(frozen=True)
class OverfetchPolicy:
    """How hard to try. The defaults bound the worst case at ``k·f₀·2³`` fetched per query."""

    #: extra share fetched on top of the expected survivors; for HNSW a fetch up to ``ef`` is free
    slack: float = 1.5
    growth: float = 2.0
    max_rounds: int = 4
    min_extra: int = 16
    #: never assume less than this share survives (a 99%-excluded list would ask for 100·k at once)
    min_allowed_share: float = 0.1


@dataclass(frozen=True)
class FilteredResult:
    rows: RowArray
    scores: ScoreArray
    #: search calls made (1 when the first fetch sufficed for every query)
    rounds: int
    #: candidates fetched per query in the last round
    fetched: int
    #: queries that still have fewer than ``k`` results
    short: int


def initial_fetch(k: int, n_total: int, excluded: int, policy: OverfetchPolicy) -> int:
    """First-round fetch size for an exclusion list of ``excluded`` ids over ``n_total`` indexed ones."""
    share = 1.0 - min(excluded, n_total) / max(n_total, 1)
    share = max(share, policy.min_allowed_share)
    return int(min(n_total, math.ceil(k / share * policy.slack) + policy.min_extra))


def overfetch_search(
    search_rows: RowSearch,
    queries: npt.NDArray[np.float32],
    k: int,
    is_excluded: RowMask,
    n_total: int,
    excluded: int,
    policy: OverfetchPolicy | None = None,
) -> FilteredResult:
    """Top ``k`` rows per query that ``is_excluded`` lets through, best first, ``-1`` padded."""
    policy = policy or OverfetchPolicy()
    nq = queries.shape[0]
    out_rows = np.full((nq, k), -1, dtype=np.int64)
    out_scores = np.full((nq, k), PAD_SCORE, dtype=np.float32)
    pending = np.arange(nq)
    fetch = max(initial_fetch(k, n_total, excluded, policy), k)
    rounds = 0
    while pending.size:
        rounds += 1
        rows, scores = search_rows(queries[pending], fetch, policy.growth ** (rounds - 1))
        bad = rows < 0
        valid = ~bad
        if valid.any():
            bad[valid] = is_excluded(rows[valid])
        # stable argsort of the "bad" flags keeps the allowed rows first, still in score order
        order = np.argsort(bad, axis=1, kind="stable")[:, :k]
        kept_rows = np.take_along_axis(rows, order, axis=1)
        kept_scores = np.take_along_axis(scores, order, axis=1)
        survivors = (~bad).sum(axis=1)
        width = kept_rows.shape[1]
        pad = np.arange(width)[None, :] >= survivors[:, None]
        kept_rows[pad] = -1
        kept_scores[pad] = PAD_SCORE
        out_rows[pending, :width] = kept_rows
        out_scores[pending, :width] = kept_scores
        # a query is done when it has k, or when there is nothing more to fetch. An index that
        # returned fewer than asked (IVF out of probed cells, HNSW out of reachable nodes) is asked
        # again with more effort: that is what ``effort`` is for.
        done = (survivors >= k) | (fetch >= n_total)
        pending = pending[~done]
        if not pending.size or rounds >= policy.max_rounds:
            break
        fetch = int(min(n_total, math.ceil(fetch * policy.growth)))
    return FilteredResult(out_rows, out_scores, rounds, fetch, int(pending.size))
