"""What every index kind shares: post ids over library rows, filtered search, the on-disk layout.

The libraries index rows ``0..n-1``; the post id of row ``r`` is ``ids[r]``, kept beside the index as
``ids.npy`` (memory-mapped on load like the index itself). Using rows as library labels keeps faiss
without an ``IndexIDMap`` layer and usearch without a key-lookup table, and lets a native filter be a
bitmap over rows.

A saved index is a directory: the library's file(s), ``ids.npy``, and ``meta.json`` (kind, dim, count,
params) written last, so a directory with a ``meta.json`` is complete.

Metric: rows are unit vectors and scores cosines, unless the index was built with
``metric="inner_product"`` (:mod:`feedmix.retrieval.ann.mips`): then the library holds the augmented
rows (one dimension more than the queries), ``params`` records ``metric`` and ``max_norm`` (so a load
restores them), :meth:`RowIndex.search` augments the queries and returns raw inner products, and
``dim`` is the dimension of the queries.
"""

from __future__ import annotations

import json
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from feedmix.retrieval.ann.exclusion_set import ExclusionSet
from feedmix.retrieval.ann.mips import augment_queries, raw_scores
from feedmix.retrieval.ann.overfetch import FilteredResult, OverfetchPolicy, overfetch_search

IdArray = npt.NDArray[np.int64]
ScoreArray = npt.NDArray[np.float32]
FilterMode = Literal["overfetch", "native"]

META_FILE = "meta.json"
IDS_FILE = "ids.npy"
FORMAT_VERSION = 1


class RowIndex(ABC):
    """Base of the concrete indexes; subclasses implement :meth:`search_rows` and the file I/O."""

    kind: ClassVar[str] = ""
    #: the library can skip excluded rows during the search itself (``filter_mode="native"``)
    supports_native_filter: ClassVar[bool] = False
    #: build and search knobs with their defaults; ``params`` overrides them
    DEFAULT_PARAMS: ClassVar[Mapping[str, Any]] = {}
    #: knobs that may change after the build (:meth:`set_search_params`)
    SEARCH_PARAMS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, ids: npt.ArrayLike, dim: int, params: Mapping[str, Any]) -> None:
        self._ids: IdArray = np.asarray(ids)
        if self._ids.dtype != np.int64 or self._ids.ndim != 1:
            raise ValueError("ids must be a one-dimensional int64 array")
        self._dim = int(dim)
        self.params: dict[str, Any] = {"filter_mode": "overfetch", **self.DEFAULT_PARAMS, **params}
        self.overfetch_policy = OverfetchPolicy()
        #: set for ``metric="inner_product"``: the largest item norm of the augmentation
        self._max_norm: float | None = None
        metric = self.params.get("metric", "cosine")
        if metric == "inner_product":
            self._use_inner_product(float(self.params["max_norm"]))
        elif metric != "cosine":
            raise ValueError(f"unknown metric {metric!r} (use 'cosine' or 'inner_product')")
        self._sorted: tuple[IdArray, IdArray] | None = None
        self._sorted_lock = threading.Lock()

    # -- the AnnIndex protocol -------------------------------------------------------------------

    @property
    def dim(self) -> int:
        """Dimension of the queries (the library's rows have one more under ``inner_product``)."""
        return self._dim - 1 if self._max_norm is not None else self._dim

    @property
    def metric(self) -> str:
        return "cosine" if self._max_norm is None else "inner_product"

    def _use_inner_product(self, max_norm: float) -> None:
        """Mark the library's rows as MIPS-augmented (``build_index`` does this after building)."""
        if not max_norm > 0 or self._dim < 2:
            raise ValueError("an inner-product index needs a positive max_norm and augmented rows")
        self._max_norm = float(max_norm)
        self.params["metric"] = "inner_product"
        self.params["max_norm"] = self._max_norm

    @property
    def ids(self) -> IdArray:
        return self._ids

    def __len__(self) -> int:
        return int(self._ids.shape[0])

    def search(
        self, queries: npt.ArrayLike, k: int, *, exclude: ExclusionSet | None = None
    ) -> tuple[IdArray, ScoreArray]:
        q = self._queries(queries)
        if k < 1:
            raise ValueError("k must be at least 1")
        norms = None
        if self._max_norm is not None:
            q, norms = augment_queries(q)
        if exclude is None or len(exclude) == 0:
            rows, scores = self.search_rows(q, k)
        else:
            res = self.search_filtered_rows(q, k, exclude)
            rows, scores = res.rows, res.scores
        if norms is not None and self._max_norm is not None:
            scores = raw_scores(scores, norms, self._max_norm)
            no_direction = norms == 0  # a zero query prefers nothing: padding, not arbitrary items
            if no_direction.any():
                rows[no_direction] = -1
                scores[no_direction] = -np.inf
        return self.ids_of(rows), scores

    def save(self, path: str | os.PathLike[str]) -> None:
        d = Path(path)
        d.mkdir(parents=True, exist_ok=True)
        self._save_library(d)
        np.save(d / IDS_FILE, np.ascontiguousarray(self._ids, dtype=np.int64))
        meta = {
            "format": FORMAT_VERSION,
            "kind": self.kind,
            "dim": self.dim,
            "count": len(self),
            "params": self.params,
        }
        tmp = d / f".{META_FILE}.tmp"
        tmp.write_text(json.dumps(meta, indent=2, sort_keys=True))
        os.replace(tmp, d / META_FILE)

    # -- search building blocks --------------------------------------------------------------------

    @abstractmethod
    def search_rows(
        self, queries: npt.NDArray[np.float32], k: int, effort: float = 1.0
    ) -> tuple[IdArray, ScoreArray]:
        """Unfiltered top ``k`` rows (``-1`` padded) and scores for validated queries.

        ``effort`` scales the search knob for over-fetch retries where that helps (IVF ``nprobe``);
        HNSW ignores it because its ``ef`` already grows with ``k``.
        """

    def search_rows_native(
        self, queries: npt.NDArray[np.float32], k: int, allowed_bitmap: npt.NDArray[np.uint8]
    ) -> tuple[IdArray, ScoreArray]:
        """Top ``k`` among rows whose bit is set (little-endian bit order, ``n`` bits)."""
        raise NotImplementedError(f"{self.kind} has no native filtered search")

    def search_filtered_rows(
        self, queries: npt.NDArray[np.float32], k: int, exclude: ExclusionSet
    ) -> FilteredResult:
        """Filtered search by the configured ``filter_mode``, with the over-fetch statistics."""
        if self.params["filter_mode"] == "native" and self.supports_native_filter:
            rows, scores = self.search_rows_native(queries, k, self.allowed_bitmap(exclude))
            return FilteredResult(rows, scores, rounds=1, fetched=k, short=int((rows[:, -1] < 0).sum()))
        return overfetch_search(
            self.search_rows,
            queries,
            k,
            lambda rows: exclude.contains(self._ids[rows]),
            n_total=len(self),
            excluded=len(exclude),
            policy=self.overfetch_policy,
        )

    def set_search_params(self, **params: Any) -> None:
        """Change search-time knobs (``ef_search``, ``nprobe``, ``filter_mode``) of a built index."""
        unknown = set(params) - self.SEARCH_PARAMS - {"filter_mode"}
        if unknown:
            raise ValueError(f"{self.kind} has no search params {sorted(unknown)}")
        mode = params.get("filter_mode", self.params["filter_mode"])
        if mode not in ("overfetch", "native"):
            raise ValueError(f"filter_mode must be 'overfetch' or 'native', not {mode!r}")
        if mode == "native" and not self.supports_native_filter:
            raise ValueError(f"{self.kind} has no native filtered search")
        self.params.update(params)
        self._apply_search_params()

    def _apply_search_params(self) -> None:
        """Push ``self.params`` into the library (for libraries that keep them on the index)."""
        return  # faiss takes them per call

    # -- ids and rows ------------------------------------------------------------------------------

    def ids_of(self, rows: IdArray) -> IdArray:
        """Post ids of rows, ``-1`` kept for padding."""
        out: IdArray = np.where(rows >= 0, self._ids[np.maximum(rows, 0)], -1)
        return out

    def rows_of(self, ids: npt.ArrayLike) -> IdArray:
        """Row of each id, ``-1`` for ids not in the index."""
        sorted_ids, sorted_rows = self._sorted_index()
        q = np.asarray(ids, dtype=np.int64)
        if sorted_ids.shape[0] == 0:
            return np.full(q.shape, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(sorted_ids, q), sorted_ids.shape[0] - 1)
        out: IdArray = np.where(sorted_ids[pos] == q, sorted_rows[pos], -1)
        return out

    def allowed_bitmap(self, exclude: ExclusionSet) -> npt.NDArray[np.uint8]:
        """One bit per row, set where the row may be returned (the layout faiss' IDSelectorBitmap reads)."""
        allowed = np.ones(len(self), dtype=bool)
        rows = self.rows_of(exclude.ids)
        allowed[rows[rows >= 0]] = False
        return np.packbits(allowed, bitorder="little")

    def _sorted_index(self) -> tuple[IdArray, IdArray]:
        # built on first use only: serving without native filters never pays the argsort
        if self._sorted is None:
            with self._sorted_lock:
                if self._sorted is None:
                    order = np.argsort(self._ids, kind="stable").astype(np.int64)
                    self._sorted = (np.asarray(self._ids[order]), order)
        return self._sorted

    def _queries(self, queries: npt.ArrayLike) -> npt.NDArray[np.float32]:
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries must have shape [q, {self.dim}], got {np.shape(queries)}")
        return np.ascontiguousarray(q)

    # -- persistence -------------------------------------------------------------------------------

    @abstractmethod
    def _save_library(self, directory: Path) -> None:
        """Write the library's own file(s) into ``directory``."""

    @classmethod
    @abstractmethod
    def build(
        cls,
        ids: IdArray,
        vectors: npt.NDArray[np.float32],
        params: Mapping[str, Any],
        threads: int,
        progress: bool,
    ) -> RowIndex:
        """Index ``vectors`` (unit rows, ``float32`` C-contiguous) under ``ids``."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, meta: Mapping[str, Any], ids: IdArray, mmap: bool) -> RowIndex:
        """Open what :meth:`save` wrote; ``mmap`` maps the library file instead of reading it."""
