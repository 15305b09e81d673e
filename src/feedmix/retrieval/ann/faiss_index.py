"""faiss indexes over unit vectors with the inner-product metric: HNSW-Flat, IVF (float32 or float16
storage) and exact Flat.

All of them are one wrapper because faiss gives them one interface; they differ in the factory, the build
(IVF trains a coarse quantizer on a seeded sample first) and the search knob (``efSearch``,
``nprobe``, none).

Memory-mapped load: ``faiss.read_index(path, IO_FLAG_MMAP_IFC)`` maps the file and uses the codes in
place. Checked on faiss 1.15.1 for every kind here: the file shows up in ``/proc/self/maps`` and the
process' anonymous memory does not grow by the index size (plain ``IO_FLAG_MMAP`` copies HNSW and Flat
storage onto the heap; it maps only IVF lists).

Filtered search: faiss applies an ``IDSelectorBitmap`` inside the search (HNSW skips excluded nodes
as results but still walks through them; IVF and Flat skip them while scanning), so ``native`` mode is
exact for Flat. Building the bitmap costs ``O(n/8 + excluded · log n)`` per request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import faiss
import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from feedmix.retrieval.ann.faiss_threads import faiss_threads
from feedmix.retrieval.ann.row_index import IdArray, RowIndex, ScoreArray

INDEX_FILE = "index.faiss"
#: the SWIG module's type hints miss some classes and keywords that exist at runtime
_faiss: Any = faiss
_ADD_CHUNK = 50_000


class FaissIndex(RowIndex):
    """Shared wrapper; the subclasses below name the kind, factory and search params."""

    supports_native_filter = True

    def __init__(self, index: Any, ids: npt.ArrayLike, params: Mapping[str, Any]) -> None:
        super().__init__(ids, int(index.d), params)
        if index.ntotal != self._ids.shape[0]:
            raise ValueError(f"faiss index holds {index.ntotal} vectors but there are {len(self._ids)} ids")
        self._index = index

    @classmethod
    def _make(cls, dim: int, n: int, params: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    @classmethod
    def _train(cls, index: Any, vectors: npt.NDArray[np.float32], params: Mapping[str, Any]) -> None:
        """Train whatever needs training (IVF's coarse quantizer); nothing for HNSW and Flat."""

    def _search_parameters(self, k: int, effort: float = 1.0) -> Any:
        return None

    @classmethod
    def build(
        cls,
        ids: IdArray,
        vectors: npt.NDArray[np.float32],
        params: Mapping[str, Any],
        threads: int,
        progress: bool,
    ) -> FaissIndex:
        p = {**cls.DEFAULT_PARAMS, **params}
        n, dim = vectors.shape
        index = cls._make(dim, n, p)
        if hasattr(index, "nlist"):  # record what "auto" resolved to
            p["nlist"] = int(index.nlist)
            p["nprobe"] = int(p["nprobe"]) or max(1, round(index.nlist / 80))
        with faiss_threads(threads):
            cls._train(index, vectors, p)
            with tqdm(total=n, desc=f"{cls.kind} build", unit="vec", disable=not progress) as bar:
                for start in range(0, n, _ADD_CHUNK):
                    chunk = vectors[start : start + _ADD_CHUNK]
                    index.add(chunk)
                    bar.update(chunk.shape[0])
        return cls(index, ids, p)

    def search_rows(
        self, queries: npt.NDArray[np.float32], k: int, effort: float = 1.0
    ) -> tuple[IdArray, ScoreArray]:
        params = self._search_parameters(k, effort)
        scores, rows = self._index.search(queries, k, params=params)
        return self._clean(rows, scores)

    def search_rows_native(
        self, queries: npt.NDArray[np.float32], k: int, allowed_bitmap: npt.NDArray[np.uint8]
    ) -> tuple[IdArray, ScoreArray]:
        sel = faiss.IDSelectorBitmap(len(self), faiss.swig_ptr(allowed_bitmap))
        params = self._search_parameters(k)
        if params is None:
            params = faiss.SearchParameters()
        params.sel = sel
        scores, rows = self._index.search(queries, k, params=params)
        # the selector reads the bitmap through a raw pointer: keep the array alive until here
        del sel, allowed_bitmap
        return self._clean(rows, scores)

    @staticmethod
    def _clean(rows: npt.NDArray[Any], scores: npt.NDArray[Any]) -> tuple[IdArray, ScoreArray]:
        r = np.asarray(rows, dtype=np.int64)
        s = np.asarray(scores, dtype=np.float32)
        s[r < 0] = -np.inf
        return r, s

    def _save_library(self, directory: Path) -> None:
        faiss.write_index(self._index, str(directory / INDEX_FILE))

    @classmethod
    def load(cls, directory: Path, meta: Mapping[str, Any], ids: IdArray, mmap: bool) -> FaissIndex:
        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
        index = faiss.read_index(str(directory / INDEX_FILE), flags)
        return cls(index, ids, meta.get("params", {}))


class FaissHnswIndex(FaissIndex):
    """HNSW-Flat. ``efSearch`` is raised to ``k`` when a search (or an over-fetch) asks for more."""

    kind = "faiss_hnsw"
    DEFAULT_PARAMS: ClassVar[Mapping[str, Any]] = {"M": 16, "ef_construction": 64, "ef_search": 128}
    SEARCH_PARAMS = frozenset({"ef_search"})

    @classmethod
    def _make(cls, dim: int, n: int, params: Mapping[str, Any]) -> Any:
        index = faiss.IndexHNSWFlat(dim, int(params["M"]), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(params["ef_construction"])
        return index

    def _search_parameters(self, k: int, effort: float = 1.0) -> Any:
        return _faiss.SearchParametersHNSW(efSearch=max(int(self.params["ef_search"]), k))


class FaissIvfIndex(FaissIndex):
    """IVF-Flat: ``nlist`` k-means cells, ``nprobe`` of them scanned per query.

    ``nlist=0`` means ``8·√n`` and ``nprobe=0`` means ``nlist/80`` (1.25% of the cells), both resolved
    at build time and saved. Measured on 1M synthetic vectors: ``8·√n`` lists reach recall@100 0.958 at
    0.76 ms (nprobe 96); ``4·√n`` needs 1.15 ms for the same recall and ``16·√n`` gains nothing (0.959 at
    0.80 ms) for 2.3x the build time. The ``nlist/80`` ratio is where both the Reddit user queries and
    the synthetic set first pass 0.95.
    """

    kind = "faiss_ivf"
    DEFAULT_PARAMS: ClassVar[Mapping[str, Any]] = {
        "nlist": 0,
        "nprobe": 0,
        "train_per_list": 40,
        "seed": 0,
    }
    SEARCH_PARAMS = frozenset({"nprobe"})

    @classmethod
    def _make(cls, dim: int, n: int, params: Mapping[str, Any]) -> Any:
        nlist = int(params["nlist"]) or max(1, round(8 * math.sqrt(n)))
        nlist = min(nlist, max(1, n))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = int(params["seed"])
        return index

    @classmethod
    def _train(cls, index: Any, vectors: npt.NDArray[np.float32], params: Mapping[str, Any]) -> None:
        n = vectors.shape[0]
        size = min(n, index.nlist * int(params["train_per_list"]))
        rng = np.random.default_rng(int(params["seed"]))
        sample = vectors[np.sort(rng.choice(n, size=size, replace=False))] if size < n else vectors
        index.train(np.ascontiguousarray(sample))

    def _search_parameters(self, k: int, effort: float = 1.0) -> Any:
        nprobe = min(int(self._index.nlist), math.ceil(int(self.params["nprobe"]) * effort))
        return _faiss.SearchParametersIVF(nprobe=nprobe)


class FaissIvfFp16Index(FaissIvfIndex):
    """IVF with vectors stored as float16 (residuals to their cell's centroid): half the bytes.

    A one-query IVF scan is bound by memory traffic, not arithmetic (at 1M, nprobe 96 reads about
    3 MB of float32 vectors for 0.8M multiply-adds), so halving the bytes is the cheapest speed-up:
    measured on 1M synthetic vectors, same process, recall@100 0.956 at 0.76 ms against 0.957 at
    0.96 ms for float32; 8-bit codes were no faster and lost recall (0.92). Scores are exact to about
    1e-3, far below the gaps a ranking stage acts on.
    """

    kind = "faiss_ivf_fp16"

    @classmethod
    def _make(cls, dim: int, n: int, params: Mapping[str, Any]) -> Any:
        nlist = int(params["nlist"]) or max(1, round(8 * math.sqrt(n)))
        nlist = min(nlist, max(1, n))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        index.cp.seed = int(params["seed"])
        return index


class ExactIndex(FaissIndex):
    """Brute force (``IndexFlatIP``): the ground truth for recall, and fine for small corpora."""

    kind = "exact"
    DEFAULT_PARAMS: ClassVar[Mapping[str, Any]] = {}

    @classmethod
    def _make(cls, dim: int, n: int, params: Mapping[str, Any]) -> Any:
        return faiss.IndexFlatIP(dim)
