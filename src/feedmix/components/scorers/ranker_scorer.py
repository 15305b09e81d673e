"""Scores the candidates with the promoted multi-task ranker and the value model.

One call per request scores the whole batch with every head (a float32 matrix built from the
batch's columns by ``ranker_features``, the same code that builds training rows). The result:

* ``p.<head>`` columns, the head probabilities (``p.click``, ``p.upvote``, ``p.comment``, ``p.hide``);
* ``score`` = the value model over them, and its ``score.value.<head>`` terms.

It runs after ``heuristic_scorer`` in the same stage, which is what makes it fail open: if the
model raises, the executor records the error in the trace (the response is ``degraded``) and the
heuristic's ``score`` from the scorer before it ranks this request. With no promoted model yet (a
new deployment), the heuristic score passes through unchanged and the trace's model version says
``heuristic``: that is the configured state, not a failure.

A feature column the batch lacks (its hydrator failed or timed out) gets the registry default,
exactly what training rows get for a value that was not known, and is counted in
``feedmix_ranker_missing_features_total{feature}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from prometheus_client import Counter

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Scorer
from feedmix.core.query import Query
from feedmix.features.definitions import default_registry
from feedmix.features.feature_columns import feature_column
from feedmix.ranking.model_source import MODEL_VERSION_KEY, NO_MODEL, ModelSource
from feedmix.ranking.ranker_features import CONTEXT_FEATURES, context_features, feature_matrix
from feedmix.ranking.value_model import WEIGHT_PARAMS, WEIGHTS, value

MISSING = Counter(
    "feedmix_ranker_missing_features_total",
    "Ranker input columns a request lacked (filled with the registry default)",
    ["feature"],
)


#: ``query.annotations`` key the scorer writes the serving model's version to (the served log reads it)
def _defaults() -> dict[str, float]:
    registry = default_registry()
    return {
        feature_column(e, d.name): float(d.default)
        for e in registry.entities()
        for d in registry.by_entity(e)
    }


class RankerScorer(Scorer):
    READS = (
        "quality",
        "engagement",
        "created",
        "over_18",
        "post_score",
        "num_comments",
        "community",
        "f.*",
        "sig.*",
    )
    READS_QUERY = ("user.affinity",)
    WRITES = ("score", "p.*", "score.*")
    owner = "feed-ranking"
    inline = True  # numpy + tree inference on the request thread; a thread hop would cost more
    PARAMS = WEIGHT_PARAMS

    @classmethod
    def from_deps(cls, identifier: str, deps: Any, **options: Any) -> RankerScorer:
        return cls(identifier, deps.ranker_models, **options)

    def __init__(self, identifier: str, models: ModelSource | None) -> None:
        super().__init__(identifier)
        self.models = models
        self._defaults = _defaults()

    def score(self, query: Query, batch: CandidateBatch) -> Mapping[str, npt.NDArray[Any]]:
        served = self.models.current() if self.models is not None else None
        if served is None:
            query.annotations[MODEL_VERSION_KEY] = NO_MODEL
            return {"score": batch.column("score")}
        model, version = served
        n = len(batch)
        columns = self.input_columns(query, batch, model.features)
        heads = model.predict(feature_matrix(columns, model.features, n))
        weights = {h: float(self.param(query, f"w_{h}")) for h in WEIGHTS}
        total, parts = value(heads, weights)
        query.annotations[MODEL_VERSION_KEY] = str(getattr(version, "version", version))
        return {"score": total, **{f"p.{h}": p for h, p in heads.items()}, **parts}

    def input_columns(
        self, query: Query, batch: CandidateBatch, features: tuple[str, ...]
    ) -> dict[str, npt.NDArray[Any]]:
        """Every feature the model reads, by name: context features computed, online ones gathered."""
        out: dict[str, npt.NDArray[Any]] = {}
        if any(f in CONTEXT_FEATURES for f in features):
            out.update(
                context_features(
                    quality=batch.column("quality"),
                    engagement=batch.column("engagement"),
                    created=batch.column("created"),
                    now=query.now,
                    over_18=batch.column("over_18"),
                    post_score=batch.column("post_score"),
                    num_comments=batch.column("num_comments"),
                    community=batch.column("community"),
                    affinity_by_community=query.feature("user.affinity"),
                )
            )
        n = len(batch)
        for name in features:
            if name in out:
                continue
            if batch.has(name):
                out[name] = batch.column(name)
            elif name in self._defaults:
                MISSING.labels(name).inc()
                out[name] = np.full(n, self._defaults[name], dtype=np.float32)
            # anything else stays absent: NaN, LightGBM's missing branch
        return out
