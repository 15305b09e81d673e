"""Unions of several sources' candidate lists, as a feed's candidate stage merges them.

Two definitions, because a union is only comparable with a single source at equal budget:

* ``round_robin_union``: a fixed total budget (50 for Recall@50) filled by taking, in rounds,
  ``quotas[s]`` next items from each source in the given order and skipping items already taken.
  Its order (source 1's best, source 2's best, ..., then the second round) is the ranking NDCG@10 is
  computed on, so the union's NDCG says what an unranked interleave is worth before a ranker reorders
  it. With equal quotas each source gets about budget / n_sources slots; a source that runs out
  leaves its slots to the others. Equal quotas hand most of the budget to the weaker sources, so the
  benchmark also reports quotas picked on a validation split.
* ``full_union``: every distinct item of every list, with its size per user. It shows how much the
  sources complement one another at a larger budget; its recall divides by min(size, relevant).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from feedmix.retrieval.embeddings.topk import NO_ITEM

ListArray = npt.NDArray[np.int64]


def _first_occurrences(merged: ListArray) -> npt.NDArray[np.bool_]:
    """True at the first occurrence of each valid item in its row."""
    order = np.argsort(merged, axis=1, kind="stable")
    ranked = np.take_along_axis(merged, order, axis=1)
    first_sorted = np.ones(merged.shape, dtype=np.bool_)
    first_sorted[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    first = np.empty_like(first_sorted)
    np.put_along_axis(first, order, first_sorted, axis=1)
    valid: npt.NDArray[np.bool_] = first & (merged != NO_ITEM)
    return valid


def _compact(merged: ListArray, keep: npt.NDArray[np.bool_], width: int) -> ListArray:
    """The kept items of each row, in their order, left-aligned and -1 padded to ``width``."""
    order = np.argsort(~keep, axis=1, kind="stable")[:, :width]
    picked = np.take_along_axis(merged, order, axis=1)
    valid = np.take_along_axis(keep, order, axis=1)
    out = np.full((merged.shape[0], width), NO_ITEM, dtype=np.int64)
    out[:, : picked.shape[1]] = np.where(valid, picked, NO_ITEM)
    return out


def round_robin_union(
    lists: Sequence[ListArray], budget: int, quotas: Sequence[int] | None = None
) -> ListArray:
    """Interleave ``lists`` (same rows) round by round, distinct items only, up to ``budget`` each."""
    if not lists:
        raise ValueError("no lists to interleave")
    q = [1] * len(lists) if quotas is None else list(quotas)
    if len(q) != len(lists) or min(q) < 1:
        raise ValueError("one positive quota per list")
    rounds = max(-(-lst.shape[1] // qs) for lst, qs in zip(lists, q, strict=True))
    columns = [lst[:, r * qs : (r + 1) * qs] for r in range(rounds) for lst, qs in zip(lists, q, strict=True)]
    merged = np.concatenate([c for c in columns if c.shape[1]], axis=1)
    return _compact(merged, _first_occurrences(merged), budget)


def full_union(lists: Sequence[ListArray]) -> tuple[ListArray, npt.NDArray[np.int64]]:
    """Every distinct item of every list (round-robin order), -1 padded; and each row's size."""
    merged = round_robin_union(lists, budget=sum(lst.shape[1] for lst in lists))
    sizes = (merged != NO_ITEM).sum(axis=1).astype(np.int64)
    return merged[:, : max(int(sizes.max(initial=0)), 1)], sizes
