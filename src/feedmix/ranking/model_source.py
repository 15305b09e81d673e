"""Where the serving ranker comes from, as the scorer sees it (a ``ModelHandle`` over the registry)."""

from __future__ import annotations

from typing import Any, Protocol

from feedmix.ranking.multitask_ranker import MultiTaskRanker

MODEL_VERSION_KEY = "model_version"
NO_MODEL = "heuristic"


class ModelSource(Protocol):
    """Where the serving model comes from (a ``ModelHandle`` over the model registry)."""

    def current(self) -> tuple[MultiTaskRanker, Any] | None: ...
