"""The one interface every tree-model runtime serves through: a whole batch in, probabilities out.

Serving scores the full candidate batch (a C-contiguous float32 ``[n, F]`` matrix) in a single call
per model head. Every implementation runs that call on the calling thread only: the serving
threads are shared by concurrent requests, so a runtime that fanned out to all cores would make
every other request on the machine wait (and, under load, be slower overall than one thread).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]
Scores = npt.NDArray[np.float64]


@runtime_checkable
class TreeScorer(Protocol):
    """A loaded tree model that turns a feature matrix into one probability per row.

    ``name`` identifies the runtime (``"native"``, ``"lleaves"``) in traces, metrics and the
    runtime-choice report. ``predict`` takes a float32 ``[n, F]`` matrix and returns float64 ``[n]``
    probabilities with the model's link (sigmoid for binary heads) applied, single-threaded.
    """

    name: str

    def predict(self, X: FloatMatrix) -> Scores: ...


def as_feature_matrix(X: npt.NDArray[Any], n_features: int | None = None) -> FloatMatrix:
    """``X`` as a C-contiguous float32 2-D matrix, copying only when it is not one already.

    The runtimes read rows straight from the buffer, so the layout is settled once here instead of
    each runtime copying (or misreading) a strided view. ``n_features`` checks the width the model
    was trained with: a mismatch would otherwise read the wrong columns without any error.
    """
    if X.ndim != 2:
        raise ValueError(f"feature matrix must be 2-D [n, F], got shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"model expects {n_features} features, matrix has {X.shape[1]}")
    return np.ascontiguousarray(X, dtype=np.float32)
