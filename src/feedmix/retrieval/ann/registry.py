"""Build an index of a named kind, or open a saved one: the two entry points callers need.

``build_index`` validates the input once (unit-length ``float32`` rows, unique ``int64`` ids) so that
every kind can assume it; with ``metric="inner_product"`` the rows may have any length and are
augmented into unit rows first (:mod:`feedmix.retrieval.ann.mips`), so every kind also serves
maximum-inner-product search (ALS item factors). ``load_index`` reads ``meta.json`` to find the kind;
it checks the files are consistent with each other but not their checksums: that is the manifest's job
(:mod:`feedmix.retrieval.ann.manifest`), done before anything is mapped, because a library handed a
truncated file may crash the process rather than raise.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.retrieval.ann.faiss_index import (
    ExactIndex,
    FaissHnswIndex,
    FaissIvfFp16Index,
    FaissIvfIndex,
)
from feedmix.retrieval.ann.mips import METRICS, Metric, augment_items
from feedmix.retrieval.ann.row_index import FORMAT_VERSION, IDS_FILE, META_FILE, RowIndex
from feedmix.retrieval.ann.usearch_hnsw_index import UsearchHnswIndex

#: the default kind, chosen by the measurements in the package docstring
DEFAULT_KIND = "faiss_ivf_fp16"

INDEX_KINDS: dict[str, type[RowIndex]] = {
    cls.kind: cls for cls in (UsearchHnswIndex, FaissHnswIndex, FaissIvfIndex, FaissIvfFp16Index, ExactIndex)
}


#: ``auto`` builds an exact index up to this many vectors
AUTO_EXACT_MAX = 50_000
KIND_CHOICES = ("auto", *sorted(INDEX_KINDS))


def resolve_kind(kind: str, n: int) -> str:
    """``auto`` → ``exact`` for small sets, the default ANN kind for large ones; others unchanged."""
    if kind == "auto":
        return "exact" if n <= AUTO_EXACT_MAX else DEFAULT_KIND
    if kind not in INDEX_KINDS:
        raise ValueError(f"unknown index kind {kind!r} (known: {list(KIND_CHOICES)})")
    return kind


def build_index(
    ids: npt.ArrayLike,
    vectors: npt.ArrayLike,
    kind: str = DEFAULT_KIND,
    params: Mapping[str, Any] | None = None,
    *,
    threads: int = 2,
    progress: bool = False,
    metric: Metric = "cosine",
) -> RowIndex:
    """Index ``vectors[i]`` under ``ids[i]``.

    ``metric="cosine"``: vectors must be unit length, scores are cosines. ``"inner_product"``: any
    lengths, search ranks and scores by the raw inner product (exactly, up to the kind's recall).
    """
    cls = _kind(kind)
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r} (use {' or '.join(METRICS)})")
    id_arr = np.ascontiguousarray(ids, dtype=np.int64)
    vec = np.ascontiguousarray(vectors, dtype=np.float32)
    if vec.ndim != 2 or vec.shape[0] != id_arr.shape[0] or id_arr.ndim != 1:
        raise ValueError(f"need ids [n] and vectors [n, d], got {id_arr.shape} and {vec.shape}")
    if vec.shape[0] == 0:
        raise ValueError("cannot index zero vectors")
    if np.unique(id_arr).shape[0] != id_arr.shape[0]:
        raise ValueError("ids must be unique")
    if not np.all(np.isfinite(vec)):
        raise ValueError("vectors must be finite")
    unknown = set(params or {}) - set(cls.DEFAULT_PARAMS) - {"filter_mode"}
    if unknown:
        raise ValueError(f"{kind} has no params {sorted(unknown)} (has {sorted(cls.DEFAULT_PARAMS)})")
    if metric == "inner_product":
        augmented, max_norm = augment_items(vec)
        index = cls.build(id_arr, augmented, dict(params or {}), threads, progress)
        index._use_inner_product(max_norm)
        return index
    norms = np.linalg.norm(vec[: min(len(vec), 10_000)], axis=1)
    if not np.all((np.abs(norms - 1.0) < 1e-3) | (norms == 0.0)):
        raise ValueError(
            "vectors must be L2-normalised for metric='cosine' (use metric='inner_product' for raw dot"
            " products)"
        )
    return cls.build(id_arr, vec, dict(params or {}), threads, progress)


def load_index(path: str | os.PathLike[str], mmap: bool = True) -> RowIndex:
    """Open an index directory written by ``save``; ``mmap`` maps the files instead of reading them."""
    d = Path(path)
    meta = read_meta(d)
    ids = np.load(d / IDS_FILE, mmap_mode="r" if mmap else None, allow_pickle=False)
    if ids.dtype != np.int64 or ids.ndim != 1 or ids.shape[0] != meta["count"]:
        raise ValueError(f"{d / IDS_FILE} does not hold {meta['count']} int64 ids")
    index = _kind(meta["kind"]).load(d, meta, ids, mmap)
    if index.dim != meta["dim"]:
        raise ValueError(f"{d} says dim {meta['dim']} but the index has {index.dim}")
    return index


def read_meta(directory: Path) -> dict[str, Any]:
    meta = json.loads((directory / META_FILE).read_text())
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{directory / META_FILE} is not an index description of format {FORMAT_VERSION}")
    for key, typ in (("kind", str), ("dim", int), ("count", int)):
        if not isinstance(meta.get(key), typ):
            raise ValueError(f"{directory / META_FILE} lacks {key!r}")
    return meta


def _kind(kind: str) -> type[RowIndex]:
    try:
        return INDEX_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown index kind {kind!r} (known: {sorted(INDEX_KINDS)})") from None
