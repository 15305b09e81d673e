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
_MISSING = object()
#: columns that arrived together, the positions (into their arrays) of a batch's rows, and which of
#: those rows the layer has no value for (read as zeros of the column's dtype; None: it has them all)
_Layer = tuple[dict[str, np.ndarray[Any, Any]], npt.NDArray[np.intp], npt.NDArray[np.bool_] | None]


class CandidateBatch:
    """Candidate ids plus named feature columns of the same length.

    Row selection is lazy: ``take``, ``filter`` and ``head`` compose an index per *layer* of
    columns (the columns that arrived together) instead of copying every column, and a column is
    gathered the first time someone reads it. A request's batch carries 50-100 columns through
    four filters, a sort and three selectors, while most columns are read once (by the ranker) or
    never; copying them all at every step was the largest single overhead of the pipeline.
    Callers see the same values as with eager copies: gathered arrays are fresh copies, and a
    column handed in is never written to.
    """

    __slots__ = ("_cache", "_layers", "ids")

    def __init__(self, ids: npt.ArrayLike, columns: Mapping[str, npt.ArrayLike] | None = None) -> None:
        self.ids: IdArray = np.asarray(ids, dtype=np.int64)
        if self.ids.ndim != 1:
            raise ValueError("ids must be one-dimensional")
        #: columns already in this batch's row order (validated or gathered)
        self._cache: dict[str, np.ndarray[Any, Any]] = self._checked(columns or {})
        #: older columns with the row positions (into their arrays) of this batch's rows
        self._layers: tuple[_Layer, ...] = ()

    def _checked(self, columns: Mapping[str, npt.ArrayLike]) -> dict[str, np.ndarray[Any, Any]]:
        cols: dict[str, np.ndarray[Any, Any]] = {}
        for name, values in columns.items():
            arr = np.asarray(values)
            if arr.shape[:1] != self.ids.shape:
                raise ValueError(
                    f"column {name!r} has {arr.shape[0] if arr.ndim else 0} rows, ids have {len(self.ids)}"
                )
            cols[name] = arr
        return cols

    @classmethod
    def _derived(
        cls,
        ids: IdArray,
        cache: dict[str, np.ndarray[Any, Any]],
        layers: tuple[_Layer, ...],
    ) -> CandidateBatch:
        out = cls.__new__(cls)
        out.ids, out._cache, out._layers = ids, cache, layers
        return out

    @classmethod
    def empty(cls) -> CandidateBatch:
        return cls(np.empty(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def __repr__(self) -> str:
        return f"CandidateBatch(n={len(self)}, columns={sorted(self.column_names)})"

    @property
    def column_names(self) -> list[str]:
        names = dict.fromkeys(self._cache)
        for cols, _, _ in self._layers:
            names.update(dict.fromkeys(cols))
        return list(names)

    def has(self, name: str) -> bool:
        return name in self._cache or any(name in cols for cols, _, _ in self._layers)

    def column(self, name: str) -> np.ndarray[Any, Any]:
        got = self.get(name, _MISSING)
        if got is _MISSING:
            raise KeyError(f"candidate column {name!r} is missing (have: {sorted(self.column_names)})")
        return got  # type: ignore[no-any-return]

    def get(self, name: str, default: Any = None) -> np.ndarray[Any, Any] | Any:
        arr = self._cache.get(name)
        if arr is not None:
            return arr
        for cols, index, missing in self._layers:
            base = cols.get(name)
            if base is not None:
                arr = base[index]
                if missing is not None:
                    arr[missing] = np.zeros((), dtype=arr.dtype)
                self._cache[name] = arr
                return arr
        return default

    def with_columns(self, columns: Mapping[str, npt.ArrayLike]) -> CandidateBatch:
        """A new batch with these columns added or replaced (lengths are checked)."""
        cache = dict(self._cache)
        cache.update(self._checked(columns))
        return CandidateBatch._derived(self.ids, cache, self._layers)

    def take(self, indices: npt.ArrayLike) -> CandidateBatch:
        """Rows at these positions, in this order (used by selectors and sorting)."""
        idx = np.asarray(indices, dtype=np.intp)
        ids = self.ids[idx]  # raises IndexError for a position out of range, as eager copies did
        layers = tuple(
            (cols, index[idx], None if missing is None else missing[idx])
            for cols, index, missing in self._layers
        )
        if self._cache:
            layers = ((self._cache, idx, None), *layers)
        return CandidateBatch._derived(ids, {}, layers)

    def interleave(self, other: CandidateBatch, order: npt.ArrayLike) -> CandidateBatch:
        """The rows of both batches in ``order``: a position below ``len(self)`` is a row of this batch,
        the others rows of ``other`` (at ``position - len(self)``). The same as
        ``CandidateBatch.concat([self, other]).take(order)``, but lazy: a column only one side has is
        gathered when read, zeros where the other side's rows are, so mixing a few ads into a page of
        ninety columns costs the columns both sides have (``row``, ``kind``), not all ninety. (Unlike
        ``concat``, an empty side adds no columns.)
        """
        n, pos = len(self), np.asarray(order, dtype=np.intp)
        if not len(other):
            return self.take(pos)
        if not n:
            return other.take(pos - n)
        from_self = pos < n
        mine, theirs = np.where(from_self, pos, 0), np.where(from_self, 0, pos - n)
        ids = np.where(from_self, self.ids[mine], other.ids[theirs])
        shared = set(self.column_names) & set(other.column_names)
        cache = {k: np.concatenate([self.column(k), other.column(k)])[pos] for k in shared}
        layers: list[_Layer] = []
        for batch, index, absent in ((self, mine, ~from_self), (other, theirs, from_self)):
            if batch._cache:
                layers.append((batch._cache, index, absent))
            for cols, idx, missing in batch._layers:
                layers.append((cols, idx[index], absent if missing is None else absent | missing[index]))
        return CandidateBatch._derived(ids, cache, tuple(layers))

    def filter(self, mask: npt.ArrayLike) -> CandidateBatch:
        keep = np.asarray(mask, dtype=bool)
        if keep.shape != self.ids.shape:
            raise ValueError(f"mask has shape {keep.shape}, batch has {len(self)} rows")
        return self.take(np.flatnonzero(keep))

    def head(self, n: int) -> CandidateBatch:
        if n >= len(self):
            return self
        return self.take(np.arange(max(n, 0)))

    @staticmethod
    def concat(batches: Iterable[CandidateBatch]) -> CandidateBatch:
        """Stack batches; a column missing from some batch is filled with zeros of its dtype."""
        batches = list(batches)
        names: dict[str, np.dtype[Any]] = {}
        for b in batches:
            for k in b.column_names:
                names.setdefault(k, b.column(k).dtype)
        parts = [b for b in batches if len(b)] or batches[:1]
        if not parts:
            return CandidateBatch.empty()
        cols = {}
        for k, dt in names.items():
            cols[k] = np.concatenate([b.column(k) if b.has(k) else np.zeros(len(b), dtype=dt) for b in parts])
        return CandidateBatch(np.concatenate([b.ids for b in parts]), cols)

    def dedup(self) -> CandidateBatch:
        """Keep the first occurrence of every id (sources earlier in the batch win)."""
        _, first = np.unique(self.ids, return_index=True)
        if len(first) == len(self):
            return self
        return self.take(np.sort(first))
