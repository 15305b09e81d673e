"""All heads of the multi-task ranker (click, upvote, comment, hide...) over one feature matrix.

Every head is a separate LightGBM binary model trained on the same features, so serving converts
and checks the candidate matrix once and hands the same buffer to each head in turn, on the calling
thread. Each head keeps the runtime :func:`~feedmix.ranking.inference.runtime_choice.choose_runtime`
picked for it (they can differ: a compiler may fail on one model only), and its report, so the
trace and the model registry can say which runtime served which head.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.ranking.inference.runtime_choice import (
    DEFAULT_TIMING_REPEATS,
    DEFAULT_TOLERANCE,
    ModelRef,
    ScorerFactory,
    choose_runtime,
)
from feedmix.ranking.inference.tree_scorer import Scores, TreeScorer, as_feature_matrix


class MultiHeadScorer:
    """Scores one candidate batch with every head; heads keep their insertion order."""

    def __init__(self, heads: Mapping[str, TreeScorer], reports: Mapping[str, dict[str, Any]] | None = None):
        if not heads:
            raise ValueError("a MultiHeadScorer needs at least one head")
        self.heads: dict[str, TreeScorer] = dict(heads)
        self.reports: dict[str, dict[str, Any]] = dict(reports or {})
        widths = {w for s in self.heads.values() if isinstance(w := getattr(s, "n_features", None), int)}
        if len(widths) > 1:
            raise ValueError(f"heads expect different feature counts: {sorted(widths)}")
        self.n_features: int | None = widths.pop() if widths else None

    @classmethod
    def choose(
        cls,
        models: Mapping[str, ModelRef],
        sample_X: npt.NDArray[Any],
        *,
        tolerance: float = DEFAULT_TOLERANCE,
        cache_dir: str | Path | None = None,
        runtimes: Mapping[str, ScorerFactory] | None = None,
        repeats: int = DEFAULT_TIMING_REPEATS,
    ) -> MultiHeadScorer:
        """Run :func:`choose_runtime` for each head (at model load time) and serve the winners."""
        heads: dict[str, TreeScorer] = {}
        reports: dict[str, dict[str, Any]] = {}
        for head, model in models.items():
            heads[head], reports[head] = choose_runtime(
                model, sample_X, tolerance=tolerance, cache_dir=cache_dir, runtimes=runtimes, repeats=repeats
            )
        return cls(heads, reports)

    @property
    def runtimes(self) -> dict[str, str]:
        """Which runtime serves each head."""
        return {head: scorer.name for head, scorer in self.heads.items()}

    def predict(self, X: npt.NDArray[Any]) -> dict[str, Scores]:
        """Probabilities per head, each float64 ``[n]``."""
        X = as_feature_matrix(X, self.n_features)
        return {head: scorer.predict(X) for head, scorer in self.heads.items()}

    def predict_matrix(self, X: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Probabilities as one float64 ``[n, heads]`` array, columns in head order."""
        X = as_feature_matrix(X, self.n_features)
        out = np.empty((X.shape[0], len(self.heads)), dtype=np.float64)
        for j, scorer in enumerate(self.heads.values()):
            out[:, j] = scorer.predict(X)
        return out
