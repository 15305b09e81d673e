"""How a caller learns that a search answered from part of the index, and which part was missing.

An index that can answer partially (the scatter-gather coordinator) implements
:class:`CoverageReporting`; :func:`search_with_coverage` finds it inside the wrappers a source is
handed (a content build's :class:`~feedmix.retrieval.ann.protocol.DelegatingIndex`, an
:class:`~feedmix.retrieval.ann.index_handle.IndexHandle`) and reports ``coverage=None`` for an index
that is always whole, so a source treats a sharded and an in-process index alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy.typing as npt

from feedmix.retrieval.ann.exclusion_set import ExclusionSet
from feedmix.retrieval.ann.index_handle import IndexHandle
from feedmix.retrieval.ann.protocol import AnnIndex, DelegatingIndex, IdArray, ScoreArray


@dataclass(frozen=True)
class Coverage:
    """Which shards answered one search; ``missing`` maps each other shard to why."""

    shards: int
    answered: tuple[int, ...]
    missing: Mapping[int, str] = field(default_factory=dict)
    #: shards that were sent a second (hedged) request
    hedged: tuple[int, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def fraction(self) -> float:
        return len(self.answered) / self.shards if self.shards else 1.0

    def describe(self) -> str:
        """One line for a trace: ``"1 of 4 shards missing: shard 2 (UNAVAILABLE: ...)"``."""
        if self.complete:
            return f"all {self.shards} shards answered"
        parts = ", ".join(f"shard {s} ({why})" for s, why in sorted(self.missing.items()))
        return f"{len(self.missing)} of {self.shards} shards missing: {parts}"

    def as_dict(self) -> dict[str, object]:
        return {
            "shards": self.shards,
            "answered": list(self.answered),
            "missing": {str(s): why for s, why in sorted(self.missing.items())},
            "hedged": list(self.hedged),
        }


@dataclass(frozen=True)
class CoveredResult:
    ids: IdArray
    scores: ScoreArray
    #: None: the index is whole by construction (in-process)
    coverage: Coverage | None


@runtime_checkable
class CoverageReporting(Protocol):
    def search_covered(
        self,
        queries: npt.ArrayLike,
        k: int,
        *,
        exclude: ExclusionSet | None = None,
        timeout_s: float | None = None,
    ) -> CoveredResult: ...


def search_with_coverage(
    index: AnnIndex,
    queries: npt.ArrayLike,
    k: int,
    *,
    exclude: ExclusionSet | None = None,
    timeout_s: float | None = None,
) -> CoveredResult:
    """``index.search``, plus the coverage when the index (or the one it wraps) can answer partially.

    ``timeout_s`` bounds a distributed search (the request's remaining deadline); an in-process
    search ignores it.
    """
    inner: object = index
    while True:
        if isinstance(inner, CoverageReporting):
            return inner.search_covered(queries, k, exclude=exclude, timeout_s=timeout_s)
        if isinstance(inner, DelegatingIndex):
            inner = inner.index
        elif isinstance(inner, IndexHandle):
            inner = inner.current.index
        else:
            break
    ids, scores = index.search(queries, k, exclude=exclude)
    return CoveredResult(ids, scores, None)
