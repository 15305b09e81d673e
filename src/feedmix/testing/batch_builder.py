"""Candidate batches for testing components, built read-only: a component that writes into the
arrays it was handed (which would corrupt the columns its neighbours share) fails at the write,
where the mistake is, instead of producing a wrong page three stages later."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Component


def read_only(batch: CandidateBatch) -> CandidateBatch:
    """A copy of ``batch`` whose ids and columns cannot be written."""
    ids = _frozen(batch.ids)
    return CandidateBatch(ids, {name: _frozen(batch.column(name)) for name in batch.column_names})


def make_batch(
    columns: Mapping[str, npt.ArrayLike] | None = None,
    *,
    ids: npt.ArrayLike | None = None,
    n: int | None = None,
    component: Component | None = None,
    seed: int = 0,
) -> CandidateBatch:
    """A read-only batch of ``columns`` (ids ``0..n-1`` unless given).

    With ``component``, every column it declares it reads and ``columns`` does not give is filled
    with floats in [0, 1) from ``seed``, so a test names only the columns whose values matter to it.
    """
    cols = {k: np.asarray(v) for k, v in (columns or {}).items()}
    if n is None:
        n = len(np.asarray(ids)) if ids is not None else (len(next(iter(cols.values()))) if cols else 0)
    rng = np.random.default_rng(seed)
    if component is not None:
        for name in component.reads:
            if not name.endswith(".*") and name not in cols:
                cols[name] = rng.random(n)
    id_array = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
    return read_only(CandidateBatch(id_array, cols))


def _frozen(arr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out = np.array(arr, copy=True)
    out.flags.writeable = False
    return out
