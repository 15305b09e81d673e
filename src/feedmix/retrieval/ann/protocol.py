"""What a retrieval source needs from an ANN index, and nothing more.

Ids are the corpus's ``int64`` post ids (never the library's internal row numbers); scores are inner
products of unit vectors (cosine), or raw inner products for an index built with
``metric="inner_product"`` (:mod:`feedmix.retrieval.ann.mips`); higher is better. A query that has
fewer than ``k`` results is padded with id ``-1`` and score ``-inf``, so the result is always a dense
``[q, k]`` array and callers mask with ``ids >= 0``.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from feedmix.retrieval.ann.exclusion_set import ExclusionSet

IdArray = npt.NDArray[np.int64]
ScoreArray = npt.NDArray[np.float32]


@runtime_checkable
class AnnIndex(Protocol):
    """A built or loaded index. ``search`` is safe to call from many threads at once."""

    @property
    def kind(self) -> str:
        """Registry name (``usearch_hnsw``, ``faiss_hnsw``, ``faiss_ivf``, ``exact``)."""
        ...

    @property
    def dim(self) -> int: ...

    def __len__(self) -> int: ...

    def search(
        self, queries: npt.ArrayLike, k: int, *, exclude: ExclusionSet | None = None
    ) -> tuple[IdArray, ScoreArray]:
        """Top ``k`` ids and scores per query row (``[q, d]`` or one ``[d]`` vector), best first.

        ``exclude`` ids are never returned; the index fetches past them so that up to ``k`` allowed
        results still come back.
        """
        ...

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index into the directory ``path`` (created); :func:`load_index` reads it back."""
        ...


class DelegatingIndex:
    """An :class:`AnnIndex` made of a wrapped ``self.index`` plus data of its own.

    Builds that carry query data beside the index (content centroids, collaborative user factors) are
    searched exactly like a bare index, so they inherit this instead of repeating the delegation.
    """

    index: AnnIndex

    @property
    def kind(self) -> str:
        return self.index.kind

    @property
    def dim(self) -> int:
        return self.index.dim

    def __len__(self) -> int:
        return len(self.index)

    def search(
        self, queries: npt.ArrayLike, k: int, *, exclude: ExclusionSet | None = None
    ) -> tuple[IdArray, ScoreArray]:
        return self.index.search(queries, k, exclude=exclude)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Saves the ANN index only; the owning build function publishes the rest."""
        self.index.save(path)
