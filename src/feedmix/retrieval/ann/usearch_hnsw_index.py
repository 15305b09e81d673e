"""HNSW from usearch: one file, searched in place from a memory map (``Index.restore(view=True)``).

Labels are rows ``0..n-1`` (keys are ``uint64``); ids live in the base class. Loading with ``mmap``
views the file read-only: the graph and vectors stay in the page cache (shared between processes and
between the old and new index during a swap) instead of being copied onto the heap; the key-lookup
table is turned off because nothing here looks vectors up by key. usearch reports inner-product
distance as ``1 - dot``; scores are turned back into dot products.

The Python binding (2.26) has no filtered search (the C++ API takes a predicate, the binding does not
expose it), so exclusions always go through over-fetching.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from tqdm import tqdm
from usearch.index import BatchMatches, Index, Matches

from feedmix.retrieval.ann.row_index import IdArray, RowIndex, ScoreArray

INDEX_FILE = "index.usearch"
_ADD_CHUNK = 50_000


class UsearchHnswIndex(RowIndex):
    kind = "usearch_hnsw"
    DEFAULT_PARAMS: ClassVar[Mapping[str, Any]] = {"M": 16, "ef_construction": 128, "ef_search": 128}
    SEARCH_PARAMS = frozenset({"ef_search"})

    def __init__(self, index: Index, ids: npt.ArrayLike, params: Mapping[str, Any]) -> None:
        super().__init__(ids, int(index.ndim), params)
        self._index = index
        #: threads per search call; 1 on the serving path (requests are the parallelism)
        self.search_threads = 1
        self._apply_search_params()

    @classmethod
    def build(
        cls,
        ids: IdArray,
        vectors: npt.NDArray[np.float32],
        params: Mapping[str, Any],
        threads: int,
        progress: bool,
    ) -> UsearchHnswIndex:
        p = {**cls.DEFAULT_PARAMS, **params}
        index = Index(
            ndim=vectors.shape[1],
            metric="ip",
            dtype="f32",
            connectivity=int(p["M"]),
            expansion_add=int(p["ef_construction"]),
            expansion_search=int(p["ef_search"]),
        )
        n = vectors.shape[0]
        # added in chunks for the progress bar (usearch's own callback insists on runtime annotations)
        with tqdm(total=n, desc="usearch hnsw build", unit="vec", disable=not progress) as bar:
            for start in range(0, n, _ADD_CHUNK):
                stop = min(n, start + _ADD_CHUNK)
                index.add(np.arange(start, stop, dtype=np.uint64), vectors[start:stop], threads=threads)
                bar.update(stop - start)
        return cls(index, ids, p)

    def search_rows(
        self, queries: npt.NDArray[np.float32], k: int, effort: float = 1.0
    ) -> tuple[IdArray, ScoreArray]:
        m = self._index.search(queries, k, threads=self.search_threads)
        if isinstance(m, Matches):  # one query comes back unbatched, maybe shorter than k
            keys, dist, counts = m.keys[None, :], m.distances[None, :], np.array([len(m.keys)])
        else:
            assert isinstance(m, BatchMatches)
            keys, dist, counts = m.keys, m.distances, m.counts
        nq = queries.shape[0]
        rows = np.full((nq, k), -1, dtype=np.int64)
        scores = np.full((nq, k), -np.inf, dtype=np.float32)
        width = min(k, keys.shape[1])
        valid = np.arange(width)[None, :] < np.asarray(counts)[:, None]
        rows[:, :width] = np.where(valid, keys[:, :width].astype(np.int64), -1)
        np.subtract(1.0, dist[:, :width], out=scores[:, :width], where=valid)  # padding holds NaN
        return rows, scores

    def _apply_search_params(self) -> None:
        index: Any = self._index  # the binding's setter is not in its type hints
        index.expansion_search = int(self.params["ef_search"])

    def _save_library(self, directory: Path) -> None:
        self._index.save(str(directory / INDEX_FILE))

    @classmethod
    def load(cls, directory: Path, meta: Mapping[str, Any], ids: IdArray, mmap: bool) -> UsearchHnswIndex:
        path = str(directory / INDEX_FILE)
        index = Index.restore(path, view=mmap, enable_key_lookups=False)
        if index is None:
            raise ValueError(f"{path} is not a usearch index")
        if len(index) != ids.shape[0]:
            raise ValueError(f"{path} holds {len(index)} vectors but ids.npy has {ids.shape[0]}")
        return cls(index, ids, meta.get("params", {}))

    @property
    def memory_bytes(self) -> int:
        """What usearch says the index occupies (mapped or heap)."""
        return int(self._index.memory_usage)
