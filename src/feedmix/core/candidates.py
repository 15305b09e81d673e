"""The columnar candidate batch that travels through a pipeline.

A request carries hundreds to thousands of candidates with dozens of features. Keeping them as
one id array plus named numpy columns lets every component work on whole columns (a filter is a
mask, a scorer an array), which is about two orders of magnitude cheaper than per-candidate
objects. Batches are treated as immutable: every operation returns a new batch that shares the
untouched arrays, so a failing component can never leave a half-modified batch behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

IdArray = npt.NDArray[np.int64]


class CandidateBatch:
    """Candidate ids plus named feature columns of the same length."""

    __slots__ = ("_columns", "ids")

    def __init__(self, ids: npt.ArrayLike, columns: Mapping[str, npt.ArrayLike] | None = None) -> None:
        self.ids: IdArray = np.asarray(ids, dtype=np.int64)
        if self.ids.ndim != 1:
            raise ValueError("ids must be one-dimensional")
        cols: dict[str, np.ndarray[Any, Any]] = {}
        for name, values in (columns or {}).items():
            arr = np.asarray(values)
            if arr.shape[:1] != self.ids.shape:
                raise ValueError(
                    f"column {name!r} has {arr.shape[0] if arr.ndim else 0} rows, ids have {len(self.ids)}"
                )
            cols[name] = arr
        self._columns = cols

    @classmethod
    def empty(cls) -> CandidateBatch:
        return cls(np.empty(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def __repr__(self) -> str:
        return f"CandidateBatch(n={len(self)}, columns={sorted(self._columns)})"

    @property
    def column_names(self) -> list[str]:
        return list(self._columns)

    def has(self, name: str) -> bool:
        return name in self._columns

    def column(self, name: str) -> np.ndarray[Any, Any]:
        try:
            return self._columns[name]
        except KeyError:
            raise KeyError(f"candidate column {name!r} is missing (have: {sorted(self._columns)})") from None

    def get(self, name: str, default: Any = None) -> np.ndarray[Any, Any] | Any:
        return self._columns.get(name, default)

    def with_columns(self, columns: Mapping[str, npt.ArrayLike]) -> CandidateBatch:
        """A new batch with these columns added or replaced (lengths are checked)."""
        merged: dict[str, npt.ArrayLike] = dict(self._columns)
        merged.update(columns)
        return CandidateBatch(self.ids, merged)

    def take(self, indices: npt.ArrayLike) -> CandidateBatch:
        """Rows at these positions, in this order (used by selectors and sorting)."""
        idx = np.asarray(indices, dtype=np.intp)
        return CandidateBatch(self.ids[idx], {k: v[idx] for k, v in self._columns.items()})

    def filter(self, mask: npt.ArrayLike) -> CandidateBatch:
        keep = np.asarray(mask, dtype=bool)
        if keep.shape != self.ids.shape:
            raise ValueError(f"mask has shape {keep.shape}, batch has {len(self)} rows")
        return CandidateBatch(self.ids[keep], {k: v[keep] for k, v in self._columns.items()})

    def head(self, n: int) -> CandidateBatch:
        return self.take(np.arange(min(n, len(self))))

    @staticmethod
    def concat(batches: Iterable[CandidateBatch]) -> CandidateBatch:
        """Stack batches; a column missing from some batch is filled with zeros of its dtype."""
        batches = list(batches)
        names: dict[str, np.dtype[Any]] = {}
        for b in batches:
            for k, v in b._columns.items():
                names.setdefault(k, v.dtype)
        parts = [b for b in batches if len(b)] or batches[:1]
        if not parts:
            return CandidateBatch.empty()
        cols = {}
        for k, dt in names.items():
            cols[k] = np.concatenate(
                [b._columns[k] if k in b._columns else np.zeros(len(b), dtype=dt) for b in parts]
            )
        return CandidateBatch(np.concatenate([b.ids for b in parts]), cols)

    def dedup(self) -> CandidateBatch:
        """Keep the first occurrence of every id (sources earlier in the batch win)."""
        _, first = np.unique(self.ids, return_index=True)
        if len(first) == len(self):
            return self
        return self.take(np.sort(first))
