"""Tiny real LightGBM models for the inference tests (trained once per session, a second or two)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pytest

from feedmix.bench.ranking import synthetic_features, synthetic_labels

N_FEATURES = 10


@dataclass(frozen=True)
class TinyModels:
    """Two heads trained on the same features, saved as LightGBM text models, plus scoring rows."""

    files: dict[str, Path]
    boosters: dict[str, lgb.Booster]
    X: npt.NDArray[np.float32]


def threshold_rows(booster: lgb.Booster, n_features: int) -> npt.NDArray[np.float32]:
    """Rows with values exactly on (float32-rounded) split thresholds: where a compiler can go wrong."""
    thresholds: list[tuple[int, float]] = []

    def walk(node: dict[str, Any]) -> None:
        if "split_feature" in node:
            thresholds.append((int(node["split_feature"]), float(node["threshold"])))
            walk(node["left_child"])
            walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    rows = np.zeros((len(thresholds), n_features), dtype=np.float32)
    for i, (feature, value) in enumerate(thresholds):
        rows[i, feature] = np.float32(value)
    return rows


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    rng = np.random.default_rng(3)
    X = synthetic_features(rng, 4000, N_FEATURES)
    labels = synthetic_labels(rng, X, ["click", "hide"])
    directory = tmp_path_factory.mktemp("tiny-models")
    params = {"objective": "binary", "num_leaves": 15, "learning_rate": 0.1, "num_threads": 1, "verbose": -1}
    files: dict[str, Path] = {}
    boosters: dict[str, lgb.Booster] = {}
    for head, y in labels.items():
        booster = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=20)
        files[head] = directory / f"{head}.txt"
        booster.save_model(str(files[head]))
        boosters[head] = booster
    sample = np.concatenate([X[:500], threshold_rows(boosters["click"], N_FEATURES)])
    nan_rows = np.full((3, N_FEATURES), np.nan, dtype=np.float32)
    return TinyModels(files, boosters, np.ascontiguousarray(np.concatenate([sample, nan_rows])))
