"""Maximum inner-product search (MIPS) on the unit-vector indexes, by the standard augmentation.

Matrix-factorisation models (ALS) score by the raw inner product ``q·x``, and their item vectors have
different lengths: a popular item's vector is longer, and that length is part of its score. Every kind
in this package is built for unit rows (inner product = cosine), so item and query vectors are mapped
into one more dimension where cosine ranks like the raw inner product (Bachrach et al. 2014, "Speeding
up the Xbox recommender system using a Euclidean transformation for inner-product spaces"):

* item ``x`` → ``[x, √(M² − |x|²)] / M`` with ``M`` the largest item norm: every row has length 1;
* query ``q`` → ``[q / |q|, 0]``: length 1, and the extra coordinate contributes nothing.

The augmented inner product is ``q·x / (|q|·M)``: for one query, a positive constant times the raw one,
so the order (and therefore any top ``k``) is exactly the MIPS order, and the raw score comes back by
multiplying with ``|q|·M``. Nothing else changes: builds, saving, memory-mapped loads, over-fetching
and exclusions all work on the augmented rows. A zero query has no direction (every item scores 0) and
is answered with padding, which is what "no preference" should retrieve.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

Metric = Literal["cosine", "inner_product"]
METRICS: tuple[Metric, ...] = ("cosine", "inner_product")

FloatArray = npt.NDArray[np.float32]


def augment_items(vectors: npt.NDArray[np.float32]) -> tuple[FloatArray, float]:
    """Unit rows ``[n, d + 1]`` whose inner product with :func:`augment_queries` ranks like ``q·x``,
    and ``M`` (the largest item norm) to turn augmented scores back into raw ones."""
    x = np.asarray(vectors, dtype=np.float64)
    norms2 = np.einsum("ij,ij->i", x, x)
    max_norm2 = float(norms2.max()) if norms2.size else 0.0
    if not max_norm2 > 0.0 or not np.isfinite(max_norm2):
        raise ValueError("inner-product indexing needs at least one non-zero, finite item vector")
    max_norm = float(np.sqrt(max_norm2))
    out = np.empty((x.shape[0], x.shape[1] + 1), dtype=np.float32)
    out[:, :-1] = x / max_norm
    out[:, -1] = np.sqrt(np.maximum(max_norm2 - norms2, 0.0)) / max_norm
    return out, max_norm


def augment_queries(queries: npt.NDArray[np.float32]) -> tuple[FloatArray, npt.NDArray[np.float64]]:
    """Queries ``[q, d]`` → unit rows ``[q, d + 1]`` (last coordinate 0) and their original norms."""
    q = np.asarray(queries, dtype=np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", q, q))
    out = np.zeros((q.shape[0], q.shape[1] + 1), dtype=np.float32)
    nonzero = norms > 0
    out[nonzero, :-1] = q[nonzero] / norms[nonzero, None]
    return out, norms


def raw_scores(
    scores: npt.NDArray[np.float32], query_norms: npt.NDArray[np.float64], max_norm: float
) -> npt.NDArray[np.float32]:
    """Augmented scores back to ``q·x`` (padding stays ``-inf``)."""
    scale = np.broadcast_to((query_norms * max_norm).astype(np.float32)[:, None], scores.shape)
    out = np.array(scores, dtype=np.float32, copy=True)
    np.multiply(out, scale, out=out, where=np.isfinite(out))
    return out
