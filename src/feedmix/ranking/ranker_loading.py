"""How a server loads a registered ranker, and what it refuses.

A model is checked before it serves: every feature it reads must be one this server computes
(a context feature or a registered online feature), and it must score a probe batch (NaN inputs,
the all-missing case) into finite probabilities for every head. A model that fails either is
refused by the model handle and the previous one keeps serving.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from feedmix.ranking.model_handle import ModelHandle
from feedmix.ranking.model_registry import ModelMeta, ModelRegistry, ModelVersion
from feedmix.ranking.multitask_ranker import IncompatibleModel, MultiTaskRanker
from feedmix.ranking.ranker_features import CONTEXT_FEATURES, SIGNAL_FEATURES, online_feature_names
from feedmix.ranking.ranker_training import MODEL_NAME

RUNTIMES = ("native", "compiled")


def ranker_loader(runtime: str, cache_dir: Path) -> Callable[[Path, ModelMeta], MultiTaskRanker]:
    """Loads a version; with ``runtime="compiled"`` also compiles its heads (cached in ``cache_dir``,
    outside the version directories, whose files the registry checksums)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"ranking runtime {runtime!r} is not one of {RUNTIMES}")

    def load(path: Path, meta: ModelMeta) -> MultiTaskRanker:
        model = MultiTaskRanker.load(path)
        if tuple(meta.features) != model.features:
            raise IncompatibleModel("the registry's feature list differs from the model file's")
        if runtime == "compiled":
            model.use_compiled(path, cache_dir)
        return model

    return load


load_ranker = ranker_loader("native", Path("."))


def validate_ranker(model: MultiTaskRanker, meta: ModelMeta) -> None:
    known = set(CONTEXT_FEATURES) | set(SIGNAL_FEATURES) | set(online_feature_names())
    unknown = [f for f in model.features if f not in known]
    if unknown:
        raise IncompatibleModel(f"this server cannot compute features {unknown}")
    probe = np.full((2, len(model.features)), np.nan, dtype=np.float32)
    for head, p in model.predict(probe).items():
        if p.shape != (2,) or not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
            raise IncompatibleModel(f"head {head!r} does not give probabilities on a probe batch")


def ranker_handle(registry_dir: str | Path, runtime: str = "compiled") -> ModelHandle[MultiTaskRanker]:
    """The serving handle of the promoted ranker (load it with ``reload()``)."""
    loader = ranker_loader(runtime, Path(registry_dir) / ".compiled" / MODEL_NAME)
    return ModelHandle(ModelRegistry(registry_dir), MODEL_NAME, loader, validate_ranker)


class PinnedRanker:
    """One registered version, loaded once and never swapped: what a shadow serves when it tests a
    model version against the promoted one. Checked like a promotion (files verified, features this
    server computes, probabilities on a probe); a version that fails is an error at startup."""

    def __init__(self, registry_dir: str | Path, version: str, runtime: str = "compiled") -> None:
        registry = ModelRegistry(registry_dir)
        mv = registry.get(MODEL_NAME, version)
        problems = registry.verify(mv)
        if problems:
            raise IncompatibleModel(f"version {version}: files fail verification: {'; '.join(problems)}")
        loader = ranker_loader(runtime, Path(registry_dir) / ".compiled" / MODEL_NAME)
        model = loader(mv.path, mv.meta)
        validate_ranker(model, mv.meta)
        self._current = (model, mv)

    def current(self) -> tuple[MultiTaskRanker, ModelVersion]:
        return self._current
