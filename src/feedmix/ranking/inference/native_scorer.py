"""LightGBM's own ``Booster.predict``, pinned to one thread: the reference every compiled form must match.

LightGBM parallelises prediction with OpenMP and by default uses every core. In a server the request
threads are shared by concurrent requests, so each call passes ``num_threads=1``: LightGBM 4.x turns
the parameter into its thread count (``OMP_SET_NUM_THREADS`` sets ``LGBM_DEFAULT_NUM_THREADS``) before
the call's parallel loops, so they run a team of one, on the calling thread. That setting is
process-global in LightGBM, which is why it is sent with every call rather than once at load: any
other LightGBM call in the process (a training run, a ``predict`` without the parameter) changes it.
``feedmix bench ranking`` checks the outcome: process CPU time per batch equals wall time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import lightgbm as lgb
import numpy as np

from feedmix.ranking.inference.tree_scorer import FloatMatrix, Scores, as_feature_matrix

# Passed to every Booster.predict call; a test checks it reaches LightGBM.
PREDICT_PARAMS: Final[dict[str, Any]] = {"num_threads": 1}


class NativeLightGBMScorer:
    """Scores a batch with ``lightgbm.Booster.predict`` on the calling thread.

    Accepts a trained ``Booster`` or the path of a LightGBM text model (what training writes and
    what the compiled runtimes read).
    """

    name = "native"

    def __init__(self, model: lgb.Booster | str | Path) -> None:
        self.booster: lgb.Booster = (
            model if isinstance(model, lgb.Booster) else lgb.Booster(model_file=str(model))
        )
        self.n_features: int = int(self.booster.num_feature())

    def predict(self, X: FloatMatrix) -> Scores:
        X = as_feature_matrix(X, self.n_features)
        out = self.booster.predict(X, raw_score=False, **PREDICT_PARAMS)
        return np.asarray(out, dtype=np.float64)
