"""Approximate maximum-inner-product search over item vectors (faiss HNSW), with exclusions.

ALS ranks by dot product, so the index uses faiss's inner-product metric directly. HNSW rather
than IVF because the catalogue is small and changes whole with every retrain: HNSW needs no
training step and its recall is controlled at query time by ``efSearch``.

Exclusions (already-seen posts) are applied by over-fetching: each user asks for ``k`` plus the
number of their excluded items that are in the index, and the excluded ones are dropped afterwards,
so a user with a long history still gets ``k`` eligible items. Users are searched in batches of
equal fetch size (rounded up to a power of two) to keep faiss calls few.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.retrieval.embeddings.topk import NO_ITEM


class InnerProductIndex:
    """HNSW over ``vectors``; ``search`` answers with the caller's ``ids`` (non-negative ints)."""

    def __init__(
        self,
        vectors: npt.NDArray[np.float32],
        ids: npt.NDArray[np.int64],
        *,
        m: int = 16,
        ef_construction: int = 40,
        ef_search: int = 128,
        num_threads: int = 2,
    ) -> None:
        import faiss

        faiss.omp_set_num_threads(num_threads)
        self.ids = np.asarray(ids, dtype=np.int64)
        self.ef_search = ef_search
        self._hnsw: Any = faiss.IndexHNSWFlat(int(vectors.shape[1]), m, faiss.METRIC_INNER_PRODUCT)
        self._hnsw.hnsw.efConstruction = ef_construction
        self._index: Any = faiss.IndexIDMap(self._hnsw)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), self.ids)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(
        self,
        queries: npt.NDArray[np.float32],
        k: int,
        exclude: npt.NDArray[np.bool_] | None = None,
    ) -> npt.NDArray[np.int64]:
        """Top-``k`` ids per query by inner product, best first, -1 padded.

        ``exclude[q, id]`` True drops ``id`` for query ``q`` (columns indexed by id).
        """
        q = np.ascontiguousarray(queries, dtype=np.float32)
        n = q.shape[0]
        out = np.full((n, k), NO_ITEM, dtype=np.int64)
        if n == 0 or len(self) == 0:
            return out
        extra = np.zeros(n, dtype=np.int64) if exclude is None else exclude[:, self.ids].sum(axis=1)
        fetch = np.minimum(2 ** np.ceil(np.log2(k + extra)).astype(np.int64), len(self))
        for size in np.unique(fetch):
            rows = np.flatnonzero(fetch == size)
            self._hnsw.hnsw.efSearch = max(self.ef_search, int(size))
            _, found = self._index.search(q[rows], int(size))
            valid = found >= 0
            if exclude is not None:
                valid &= ~exclude[rows[:, None], np.maximum(found, 0)]
            # keep the valid ones in rank order: a stable sort puts them first
            order = np.argsort(~valid, axis=1, kind="stable")[:, :k]
            picked = np.take_along_axis(found, order, axis=1)
            picked_valid = np.take_along_axis(valid, order, axis=1)
            width = picked.shape[1]
            out[rows, :width] = np.where(picked_valid, picked, NO_ITEM)
        return out
