"""Item-to-item cosine nearest neighbours: the cheap second learned source beside ALS.

Each item keeps its ``neighbours`` most cosine-similar items (columns of the confidence matrix,
i.e. items that the same users liked); a user's score for item j is Σᵢ wᵤᵢ·sim(i, j) over the items
i they liked. It needs no training loop, explains itself ("because you liked i") and reacts to a
user's newest events with no fold-in step, which is why production feeds keep it next to an
embedding source. The similarity comes from implicit's multithreaded all-pairs kNN, which prunes to
the top ``neighbours`` per item as it goes instead of materialising the dense item × item product.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from feedmix.retrieval.embeddings.interactions import IdMap, InteractionMatrix


@dataclass
class ItemKNN:
    #: ``len(items) × len(items)``; row i holds item i's neighbours (itself excluded)
    similarity: sp.csr_matrix
    items: IdMap
    meta: dict[str, Any] = field(default_factory=dict)

    def scores(self, user_items: sp.csr_matrix) -> npt.NDArray[np.float32]:
        """Dense scores, one row per row of ``user_items`` (columns aligned with ``items``).

        Items no liked item points to score exactly 0; callers treat that as "no candidate".
        """
        product = user_items.astype(np.float32) @ self.similarity
        return np.asarray(product.toarray(), dtype=np.float32)


def fit_item_knn(matrix: InteractionMatrix, *, neighbours: int = 100, num_threads: int = 2) -> ItemKNN:
    """Cosine item-kNN over ``matrix.confidence``."""
    from implicit.nearest_neighbours import CosineRecommender

    n_items = matrix.shape[1]
    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        # implicit's own normalisation hands its kNN a COO matrix and then warns about it
        warnings.filterwarnings("ignore", message="Method expects CSR input")
        model = CosineRecommender(K=neighbours + 1, num_threads=num_threads)  # +1: itself
        model.fit(matrix.confidence, show_progress=False)
    coo = sp.coo_matrix(model.similarity)
    keep = (coo.row != coo.col) & (coo.row < n_items) & (coo.col < n_items)
    sim = sp.csr_matrix(
        (coo.data[keep].astype(np.float32), (coo.row[keep], coo.col[keep])), shape=(n_items, n_items)
    )
    meta = {
        "trainer": "implicit.cosine_item_knn",
        "implicit_version": importlib.metadata.version("implicit"),
        "params": {"neighbours": neighbours},
        "data": {**matrix.window, "positive_pairs": int(matrix.confidence.nnz)},
    }
    return ItemKNN(sim, matrix.items, meta)
