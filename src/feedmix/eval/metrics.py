"""Retrieval metrics over fixed-width candidate lists (rows = users, -1 = no candidate).

Relevance is binary (the user's held-out positives, a CSR user × item matrix aligned with the list
rows). Definitions, per user, then averaged over users:

* ``recall``: hits in the list / min(budget, number of relevant items). The budget is the list's
  length (``k``) unless given; capping the denominator (Liang et al., "Variational Autoencoders for
  Collaborative Filtering", 2018) lets a heavy user with 200 held-out positives still reach 1.0 with
  a perfect top-50, so heavy users do not drag every method's mean toward zero alike.
* ``ndcg``: DCG of the first ``k`` positions (gain 1 for a hit, discount 1/log2(rank + 1)) over the
  DCG of ``min(k, relevant)`` hits in the top positions.

Lists must not repeat an item; every source and union here produces distinct items.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

ListArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def hits(lists: ListArray, relevant: sp.csr_matrix) -> npt.NDArray[np.bool_]:
    """``hits[u, j]``: ``lists[u, j]`` is one of user ``u``'s relevant items."""
    n = lists.shape[0]
    if relevant.shape[0] != n:
        raise ValueError(f"{n} lists for {relevant.shape[0]} relevance rows")
    n_items = relevant.shape[1]
    rel = relevant.tocsr()
    rel_rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(rel.indptr))
    rel_keys = np.sort(rel_rows * n_items + rel.indices.astype(np.int64))
    keys = np.arange(n, dtype=np.int64)[:, None] * n_items + lists
    found = np.isin(keys, rel_keys)
    return found & (lists >= 0)


def relevant_counts(relevant: sp.csr_matrix) -> npt.NDArray[np.int64]:
    counts: npt.NDArray[np.int64] = np.diff(relevant.tocsr().indptr).astype(np.int64)
    return counts


def recall(
    lists: ListArray, relevant: sp.csr_matrix, budget: int | npt.NDArray[np.int64] | None = None
) -> FloatArray:
    """Per-user capped recall; NaN for a user with nothing relevant."""
    n_rel = relevant_counts(relevant)
    cap = np.minimum(lists.shape[1] if budget is None else budget, n_rel)
    found = hits(lists, relevant).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_rel > 0, found / np.maximum(cap, 1), np.nan)


def recall_at_k(lists: ListArray, relevant: sp.csr_matrix, k: int) -> FloatArray:
    return recall(lists[:, :k], relevant, budget=k)


def ndcg_at_k(lists: ListArray, relevant: sp.csr_matrix, k: int) -> FloatArray:
    """Per-user binary NDCG@k; NaN for a user with nothing relevant."""
    top = hits(lists[:, :k], relevant)
    width = top.shape[1]
    discount = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))
    dcg = top.astype(np.float64) @ discount[:width]
    n_rel = relevant_counts(relevant)
    ideal_cum = np.concatenate([[0.0], np.cumsum(discount)])
    idcg = ideal_cum[np.minimum(n_rel, k)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_rel > 0, dcg / np.where(idcg > 0, idcg, 1.0), np.nan)
