"""Implicit-feedback matrix factorisation (ALS, Hu, Koren and Volinsky 2008) with ``implicit``.

The model: every (user, item) pair has a preference p (1 if the pair has positive confidence,
else 0) and a confidence c: alpha·w for an observed pair with net event weight w (implicit's
convention; the paper writes 1 + alpha·w), 1 for an unobserved pair. ALS minimises
Σ c·(p − xᵤ·yᵢ)² + λ(|x|² + |y|²) by alternately solving for all user and all item vectors.
Dot products of the results rank items for a user, so retrieval is maximum-inner-product search.

Why ALS first: it trains on the whole MovieLens-small log in about a second on two cores, it is
deterministic for a seed (each row is solved independently, so thread count does not change the
answer, unlike BPR's Hogwild SGD), and a new user's vector has a closed form from the item vectors
(``als_fold_in``), so the serving path can embed a user from their latest events without retraining.

Threads: implicit's own pool does the solving (``num_threads``); the BLAS pool is held to one thread
during the fit, as implicit asks, because nested BLAS threads on a 2-core machine only contend.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from feedmix.retrieval.embeddings.interactions import InteractionMatrix
from feedmix.retrieval.embeddings.vectors import Embeddings


@dataclass(frozen=True)
class ALSParams:
    """Defaults picked on MovieLens, on a validation split cut from the training side only.

    Grid: factors {32, 64, 128} × alpha {1, 2, 5, 20, 50} × regularization {0.05 … 30}, scored by
    Recall@50 of both evaluation protocols (``feedmix.eval.movielens``); 32 factors, alpha 5 and a
    strong regularization of 10 were best or within noise of best on both. Larger factor counts
    overfit a log of 50k positives. On a bigger log, sweep again (``validation_data``).
    """

    factors: int = 32
    regularization: float = 10.0
    #: confidence scale: c = alpha·w in implicit's convention (the "1 +" is implicit in the solver)
    alpha: float = 5.0
    iterations: int = 15
    seed: int = 0
    num_threads: int = 2


def train_als(
    matrix: InteractionMatrix, params: ALSParams = ALSParams(), *, progress: bool = False
) -> Embeddings:
    """Fit ALS on ``matrix.confidence``; users and items without a positive are left out.

    Rows with no positive would get a zero vector (their least-squares target is all zeros), which
    retrieves nothing, so they are dropped rather than shipped; fold a user in later instead.
    """
    from implicit.cpu.als import AlternatingLeastSquares

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=params.factors,
            regularization=params.regularization,
            alpha=params.alpha,
            iterations=params.iterations,
            random_state=params.seed,
            num_threads=params.num_threads,
            dtype=np.float32,
        )
        model.fit(matrix.confidence, show_progress=progress)
    user_factors = np.asarray(model.user_factors, dtype=np.float32)
    item_factors = np.asarray(model.item_factors, dtype=np.float32)
    conf = matrix.confidence
    has_user = np.diff(conf.indptr) > 0
    has_item = np.bincount(conf.indices, minlength=conf.shape[1]) > 0
    meta = {
        "trainer": "implicit.als",
        "implicit_version": importlib.metadata.version("implicit"),
        "params": asdict(params),
        "data": {
            **matrix.window,
            "users": int(has_user.sum()),
            "items": int(has_item.sum()),
            "positive_pairs": int(conf.nnz),
        },
        "metrics": {},
    }
    return Embeddings(
        user_ids=matrix.users.keys[has_user],
        user_vectors=np.ascontiguousarray(user_factors[has_user]),
        item_ids=matrix.items.keys[has_item],
        item_vectors=np.ascontiguousarray(item_factors[has_item]),
        meta=meta,
    )


def als_fold_in(
    item_vectors: npt.NDArray[np.float32],
    user_items: sp.csr_matrix,
    *,
    regularization: float,
    alpha: float,
) -> npt.NDArray[np.float32]:
    """User vectors for rows of ``user_items`` (columns = rows of ``item_vectors``), items fixed.

    The exact ALS user step, xᵤ = (YᵀY + λI + Σᵢ (cᵤᵢ − 1) yᵢyᵢᵀ)⁻¹ Σᵢ cᵤᵢ yᵢ with cᵤᵢ = alpha·wᵤᵢ,
    the same normal equations implicit solves (its ``recalculate_user``), but from plain arrays so
    it works on saved ``Embeddings``. Users are batched by history length (rounded up to a power of
    two, padded with a zero vector of weight 0), so each batch's Gram matrices are one batched
    BLAS ``matmul`` and each batch is solved with one ``np.linalg.solve``. Summing per-pair outer
    products with ``np.add.reduceat`` instead was memory-bound: 4.7 s against 0.2 s here for the
    MovieLens-small training set at 64 factors.
    """
    n_items, f = item_vectors.shape
    if user_items.shape[1] != n_items:
        raise ValueError(f"user_items has {user_items.shape[1]} columns for {n_items} item vectors")
    # one extra all-zero row: the padding target
    y = np.zeros((n_items + 1, f), dtype=np.float64)
    y[:n_items] = item_vectors
    base = y.T @ y + regularization * np.eye(f)
    csr = user_items.tocsr()
    indptr = csr.indptr.astype(np.int64)
    lengths = np.diff(indptr)
    out = np.zeros((csr.shape[0], f), dtype=np.float32)
    width_of = np.where(lengths > 0, 2 ** np.ceil(np.log2(np.maximum(lengths, 1))), 0).astype(np.int64)
    for width in np.unique(width_of[width_of > 0]).tolist():
        users = np.flatnonzero(width_of == width)
        offsets = np.arange(width)
        valid = offsets[None, :] < lengths[users, None]
        pos = np.minimum(indptr[users, None] + offsets[None, :], max(csr.nnz - 1, 0))
        items = np.where(valid, csr.indices[pos], n_items)
        c = np.where(valid, alpha * csr.data[pos].astype(np.float64), 0.0)
        yu = y[items]  # (users, width, f)
        # implicit's convention for a negative value: preference 0 with confidence |c|
        gram = np.matmul(yu.transpose(0, 2, 1), yu * np.where(valid, np.abs(c) - 1.0, 0.0)[:, :, None])
        rhs = np.einsum("uw,uwf->uf", np.maximum(c, 0.0), yu)
        out[users] = np.linalg.solve(base + gram, rhs[:, :, None])[:, :, 0]
    return out
