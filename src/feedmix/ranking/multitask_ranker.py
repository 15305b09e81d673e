"""A multi-task ranker: one gradient-boosted binary classifier per engagement head.

Heads are separate LightGBM models over one shared feature matrix rather than one multi-output
model: each head has its own base rate (clicks are common, hides rare) and tree structure, a head
can be retrained or dropped alone, and LightGBM's binary objective gives calibrated probabilities,
which the value model needs to weigh a click against a hide. The cost is one pass per head over
the same matrix, a few hundred microseconds each for a page of candidates (see
``feedmix bench ranking``).

On disk (a model registry version directory): ``ranker.json`` (format, heads, feature names,
training parameters) and ``heads/<head>.txt`` (LightGBM's text model, readable and diffable).
Loading checks that every head has exactly the declared features, so a file from another feature
list is refused before it serves.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from feedmix.ranking.inference.multi_head_scorer import MultiHeadScorer

FORMAT = 1
MANIFEST = "ranker.json"
HEADS_DIR = "heads"
#: the heads ``feedmix train`` trains, each from the label column it names
HEAD_LABELS: dict[str, str] = {
    "click": "clicked",
    "upvote": "upvoted",
    "comment": "commented",
    "hide": "hidden",
}

#: documented defaults; small trees and a low learning rate suit a few hundred thousand rows
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_boost_round": 300,
    "early_stopping_rounds": 30,
    "seed": 0,
    "verbose": -1,
}


class IncompatibleModel(ValueError):
    """A model file that cannot serve here (wrong format, features or heads)."""


class MultiTaskRanker:
    """Heads over one feature list; ``predict`` scores a whole batch with every head."""

    def __init__(
        self,
        boosters: Mapping[str, lgb.Booster],
        features: Sequence[str],
        params: Mapping[str, Any] | None = None,
    ) -> None:
        if not boosters:
            raise IncompatibleModel("a ranker needs at least one head")
        for head, booster in boosters.items():
            names = list(booster.feature_name())
            if names != [_lgb_name(f) for f in features]:
                raise IncompatibleModel(f"head {head!r} was trained on other features than declared")
        self.boosters = dict(boosters)
        self.features = tuple(features)
        self.params = dict(params or {})
        #: compiled scorers per head (``use_compiled``); None: LightGBM's own predict
        self.compiled: MultiHeadScorer | None = None

    @property
    def runtimes(self) -> dict[str, str]:
        """Which runtime scores each head (``lightgbm`` unless ``use_compiled`` found a faster one)."""
        if self.compiled is None:
            return dict.fromkeys(self.boosters, "lightgbm")
        return self.compiled.runtimes

    def use_compiled(self, directory: str | os.PathLike[str], cache_dir: str | os.PathLike[str]) -> None:
        """Score with a compiled form of each head where one agrees with LightGBM and is faster.

        ``choose_runtime`` compiles (lleaves; cached in ``cache_dir`` by model hash and CPU, so only
        the first load of a version pays the tens of seconds), checks the compiled scores against
        LightGBM's on a probe sample within 1e-5, times both, and keeps LightGBM for any head where
        compiling fails, disagrees or is slower.
        """
        rng = np.random.default_rng(0)
        probe = rng.random((512, len(self.features)), dtype=np.float32) * 10.0
        probe[rng.random(probe.shape) < 0.1] = np.nan
        files = {head: Path(directory) / HEADS_DIR / f"{head}.txt" for head in self.boosters}
        self.compiled = MultiHeadScorer.choose(files, probe, cache_dir=Path(cache_dir))

    @property
    def heads(self) -> tuple[str, ...]:
        return tuple(self.boosters)

    def predict(self, x: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float64]]:
        """Probabilities per head for the rows of ``x`` (``[n, len(features)]``), one thread.

        One thread because requests run concurrently on two shared cores: an OpenMP pool per call
        would oversubscribe them and make every request slower.
        """
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f"expected a [n, {len(self.features)}] matrix, got {x.shape}")
        if x.shape[0] == 0:
            return {h: np.empty(0, dtype=np.float64) for h in self.boosters}
        if self.compiled is not None:
            return self.compiled.predict(x)
        return {
            head: np.asarray(b.predict(x, num_threads=1), dtype=np.float64)
            for head, b in self.boosters.items()
        }

    # -- files ---------------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> None:
        out = Path(directory)
        (out / HEADS_DIR).mkdir(parents=True, exist_ok=True)
        for head, booster in self.boosters.items():
            booster.save_model(str(out / HEADS_DIR / f"{head}.txt"))
        manifest = {"format": FORMAT, "heads": list(self.boosters), "features": list(self.features)}
        manifest["params"] = self.params
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> MultiTaskRanker:
        path = Path(directory)
        try:
            manifest = json.loads((path / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise IncompatibleModel(f"{path / MANIFEST}: {exc}") from exc
        if manifest.get("format") != FORMAT:
            raise IncompatibleModel(f"model format {manifest.get('format')!r}, this server reads {FORMAT}")
        boosters = {}
        for head in manifest["heads"]:
            file = path / HEADS_DIR / f"{head}.txt"
            try:
                boosters[head] = lgb.Booster(model_file=str(file))
            except (lgb.basic.LightGBMError, OSError) as exc:
                raise IncompatibleModel(f"{file}: {exc}") from exc
        return cls(boosters, manifest["features"], manifest.get("params"))


def _lgb_name(feature: str) -> str:
    """LightGBM replaces characters it does not allow in names; the same mapping, for comparison."""
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in feature)


def train_heads(
    x_train: npt.NDArray[np.float32],
    labels_train: Mapping[str, npt.NDArray[np.bool_]],
    x_valid: npt.NDArray[np.float32],
    labels_valid: Mapping[str, npt.NDArray[np.bool_]],
    features: Sequence[str],
    params: Mapping[str, Any] | None = None,
    *,
    threads: int = 2,
) -> MultiTaskRanker:
    """Train one booster per head, early-stopped on the validation rows (a later time slice)."""
    p = {**DEFAULT_PARAMS, **(params or {})}
    rounds = int(p.pop("num_boost_round"))
    stop = int(p.pop("early_stopping_rounds"))
    p["num_threads"] = threads
    names = [_lgb_name(f) for f in features]
    boosters = {}
    for head, y in labels_train.items():
        train = lgb.Dataset(x_train, label=y.astype(np.float32), feature_name=names, free_raw_data=False)
        valid = lgb.Dataset(x_valid, label=labels_valid[head].astype(np.float32), reference=train)
        boosters[head] = lgb.train(
            p,
            train,
            num_boost_round=rounds,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(stop, verbose=False)],
        )
    return MultiTaskRanker(boosters, features, {**DEFAULT_PARAMS, **(params or {})})
