"""``feedmix train``: from the event log to a registered multi-task ranker.

1. Training rows: ``build_training_set`` (one row per impression, labels from the same user's
   later events on the post within the label window, every online feature as of strictly before
   the impression: the point-in-time join over the offline history), plus the values serving
   logged for sampled requests, which replace the point-in-time ones where present (they are
   exactly what the model saw).
2. Context features (post percentiles, age, NSFW, log score and comments, the user's community
   affinity) by ``ranker_features.context_features`` and ``UserProfiles.profile``: the
   code serving runs, so training and serving cannot disagree.
3. A time split: the oldest ``1 - valid - test`` share trains, the next ``valid`` share early-stops
   the boosting, and the newest ``test`` share is the *later time slice* every reported metric is
   measured on (AUC and log loss per head, next to the heuristic score's AUC on the same rows).
4. Refusals, before anything is registered: too few impressions, or a head with too few positives
   in the training or the test slice (its AUC would be noise), each with a message saying how many
   there were and how many are needed.
5. The model goes into the registry with its data window, features, parameters, metrics and code
   version. It is not promoted unless asked (``--promote``): a person reads the metrics first.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.metrics import log_loss, roc_auc_score

from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.events.post_ids import post_ids_to_int
from feedmix.features.offline.training_set import SERVED_PREFIX, build_training_set
from feedmix.features.post_features import PostFeatures
from feedmix.jobs.executor import Executor
from feedmix.ranking.heuristic_formula import heuristic_parts, heuristic_total
from feedmix.ranking.model_registry import DataWindow, ModelMeta, ModelRegistry, ModelVersion
from feedmix.ranking.multitask_ranker import HEAD_LABELS, MultiTaskRanker, train_heads
from feedmix.ranking.ranker_features import (
    context_features,
    feature_matrix,
    online_feature_names,
    signal_features,
)
from feedmix.ranking.ranker_features import ranker_feature_names as default_feature_names
from feedmix.signals.post_signal_table import PostSignalTable
from feedmix.users.directory import UserDirectory
from feedmix.users.user_profiles import UserProfiles

MODEL_NAME = "ranker"
#: the user-profile params serving uses by default (``user_profile.*``)
COLD_START_COMMUNITIES = 20
RELATED_AFFINITY = 0.4


class NotEnoughData(ValueError):
    """The window holds too little to train or to evaluate a model worth registering."""


@dataclass(frozen=True)
class TrainingConfig:
    label_window_s: float = 3600.0
    valid_fraction: float = 0.1
    test_fraction: float = 0.2
    min_rows: int = 2_000
    #: per head, in the training slice and in the test slice
    min_positives: int = 20
    threads: int = 2
    params: Mapping[str, Any] | None = None
    #: drop impressions whose label window is still open at the newest event (a late click would
    #: turn their negative positive); off only where reactions are logged with the impression,
    #: as the simulator does
    complete_only: bool = True


@dataclass(frozen=True)
class TrainingRows:
    """Feature matrix, labels and what the heuristic scored, in time order."""

    x: npt.NDArray[np.float32]
    labels: dict[str, npt.NDArray[np.bool_]]
    ts: npt.NDArray[np.float64]
    heuristic: npt.NDArray[np.float64]
    features: tuple[str, ...]
    #: the posts' own score (votes): the popularity baseline, ranking by what the crowd liked
    popularity: npt.NDArray[np.float64]
    logged_share: float


def rows_from_table(
    table: pa.Table,
    corpus: RedditCorpus,
    graph: CommunityGraph,
    users: UserDirectory,
    features: tuple[str, ...] | None = None,
    signals: PostSignalTable | None = None,
) -> TrainingRows:
    """Turn training-set rows into the ranker's matrix (rows of unknown posts are dropped); ``signals``:
    the corpus' content signals (None: those columns are NaN, as at serving before they are ready)."""
    features = features or default_feature_names()
    post_rows = corpus.rows_of(post_ids_to_int(table.column("post_id").to_pylist()))
    known = post_rows >= 0
    t = table.filter(pa.array(known))
    rows = post_rows[known]
    order = np.argsort(np.asarray(t.column("ts"), dtype=np.float64), kind="stable")
    t, rows = t.take(pa.array(order)), rows[order]
    n = t.num_rows

    profiles = UserProfiles(corpus, graph, users)
    user_ids = t.column("user_id").to_pylist()
    affinity = np.empty(n, dtype=np.float32)
    by_user: dict[str, npt.NDArray[np.float32]] = {}
    communities = corpus.community[rows].astype(np.int64)
    for i, (user, community) in enumerate(zip(user_ids, communities.tolist(), strict=True)):
        vec = by_user.get(user)
        if vec is None:
            vec = by_user[user] = profiles.profile(user, COLD_START_COMMUNITIES, RELATED_AFFINITY)[
                "user.affinity"
            ]
        affinity[i] = vec[community]

    logged = _bool_column(t, f"{SERVED_PREFIX}logged", n)
    now = np.full(n, corpus.now, dtype=np.float64)
    served_now = f"{SERVED_PREFIX}query_now"
    if served_now in t.column_names:
        logged_now = np.asarray(t.column(served_now).fill_null(corpus.now), dtype=np.float64)
        now = np.where(logged, logged_now, now)
    post_features = PostFeatures(corpus)  # serving's percentiles
    quality = np.asarray(post_features.quality, dtype=np.float64)[rows]
    engagement = np.asarray(post_features.engagement, dtype=np.float64)[rows]
    columns: dict[str, npt.NDArray[Any]] = dict(
        context_features(
            quality=quality,
            engagement=engagement,
            created=corpus.created[rows],
            now=now,
            over_18=corpus.over_18[rows],
            post_score=corpus.score[rows],
            num_comments=corpus.num_comments[rows],
            community=communities,
            affinity_by_community=None,
            user_community_affinity=affinity,
        )
    )
    columns.update(signal_features(signals, rows))
    for name in online_feature_names():
        if name not in t.column_names:
            continue
        pit = np.asarray(t.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)
        served = f"{SERVED_PREFIX}{name}"
        if served in t.column_names:
            values = t.column(served).to_numpy(zero_copy_only=False).astype(np.float64)
            pit = np.where(logged & ~np.isnan(values), values, pit)
        columns[name] = pit
    x = feature_matrix(columns, features, n)
    labels = {head: _bool_column(t, label, n) for head, label in HEAD_LABELS.items()}
    heuristic = np.asarray(
        context_features_heuristic(quality, engagement, affinity, corpus.created[rows], now), dtype=np.float64
    )
    return TrainingRows(
        x=x,
        labels=labels,
        ts=np.asarray(t.column("ts"), dtype=np.float64),
        heuristic=heuristic,
        features=features,
        popularity=corpus.score[rows].astype(np.float64),
        logged_share=float(logged.mean()) if n else 0.0,
    )


def context_features_heuristic(
    quality: npt.ArrayLike,
    engagement: npt.ArrayLike,
    affinity: npt.ArrayLike,
    created: npt.ArrayLike,
    now: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """The heuristic scorer's default formula on training rows: the baseline every head must beat."""
    age_h = np.maximum(np.asarray(now, dtype=np.float64) - np.asarray(created, dtype=np.float64), 0) / 3600
    parts = heuristic_parts(
        np.asarray(quality, dtype=np.float64),
        np.asarray(engagement, dtype=np.float64),
        np.asarray(affinity, dtype=np.float64),
        age_h,
    )
    return heuristic_total(parts, len(age_h))


def _bool_column(table: pa.Table, name: str, n: int) -> npt.NDArray[np.bool_]:
    if name not in table.column_names:
        return np.zeros(n, dtype=bool)
    return np.asarray(table.column(name).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def time_split(n: int, valid_fraction: float, test_fraction: float) -> tuple[slice, slice, slice]:
    """Train / valid / test slices of time-ordered rows: the test slice is the latest."""
    if not (0 < valid_fraction < 1 and 0 < test_fraction < 1 and valid_fraction + test_fraction < 1):
        raise ValueError("valid_fraction and test_fraction must be in (0, 1) and sum below 1")
    test_start = math.floor(n * (1 - test_fraction))
    valid_start = math.floor(n * (1 - test_fraction - valid_fraction))
    return slice(0, valid_start), slice(valid_start, test_start), slice(test_start, n)


def check_enough(rows: TrainingRows, cfg: TrainingConfig, train: slice, test: slice) -> None:
    n = len(rows.ts)
    if n < cfg.min_rows:
        raise NotEnoughData(
            f"the window holds {n} impressions with complete labels; training needs at least"
            f" {cfg.min_rows} (run the simulator longer, or widen the window)"
        )
    for head, y in rows.labels.items():
        for part, sl in (("training", train), ("test", test)):
            positives = int(y[sl].sum())
            if positives < cfg.min_positives:
                raise NotEnoughData(
                    f"head {head!r} has {positives} positives in the {part} slice; at least"
                    f" {cfg.min_positives} are needed for a model and an AUC worth registering"
                )


def evaluate(model: MultiTaskRanker, rows: TrainingRows, test: slice) -> dict[str, float]:
    """Per head on the later slice: AUC, log loss, base rate, and the heuristic's and popularity's AUC."""
    x = rows.x[test]
    preds = model.predict(x)
    metrics: dict[str, float] = {"test_rows": float(x.shape[0])}
    for head, p in preds.items():
        y = rows.labels[head][test]
        metrics[f"{head}.auc"] = float(roc_auc_score(y, p))
        metrics[f"{head}.logloss"] = float(log_loss(y, np.clip(p, 1e-7, 1 - 1e-7), labels=[False, True]))
        metrics[f"{head}.base_rate"] = float(y.mean())
        # the heuristic ranks by "good", so it predicts hides in reverse
        sign = -1.0 if head == "hide" else 1.0
        metrics[f"{head}.heuristic_auc"] = float(roc_auc_score(y, sign * rows.heuristic[test]))
        metrics[f"{head}.popularity_auc"] = float(roc_auc_score(y, sign * rows.popularity[test]))
    return metrics


def train_ranker(
    events_url: str,
    offline_dir: str | Path,
    registry: ModelRegistry,
    corpus: RedditCorpus,
    graph: CommunityGraph,
    users: UserDirectory,
    *,
    served_log_dir: str | Path | None = None,
    config: TrainingConfig | None = None,
    promote: bool = False,
    progress: bool = True,
    signals: PostSignalTable | None = None,
    features: tuple[str, ...] | None = None,
    executor: Executor | None = None,
    partitions: int | None = None,
) -> dict[str, Any]:
    """Build, train, evaluate, register (and optionally promote); returns a JSON-able summary.
    ``features``: the model's input columns (default ``ranker_feature_names()``); ``executor`` and
    ``partitions``: where the training-set build runs (``build_training_set``)."""
    cfg = config or TrainingConfig()
    say = _reporter(progress)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="feedmix-train-") as tmp:
        out = Path(tmp) / "training_set.parquet"
        served = served_log_dir if served_log_dir is not None and Path(served_log_dir).exists() else None
        summary = build_training_set(
            events_url,
            offline_dir,
            out,
            cfg.label_window_s,
            served_log_dir=served,
            post_communities={
                p: corpus.communities[c] for p, c in zip(corpus.id_str, corpus.community, strict=True)
            },
            complete_only=cfg.complete_only,
            progress=progress,
            executor=executor,
            partitions=partitions,
        )
        table = pq.read_table(out)
    say(f"training set: {table.num_rows} impressions ({time.perf_counter() - t0:.1f} s)")
    rows = rows_from_table(table, corpus, graph, users, features, signals)
    train, valid, test = time_split(len(rows.ts), cfg.valid_fraction, cfg.test_fraction)
    check_enough(rows, cfg, train, test)
    say(f"training {len(HEAD_LABELS)} heads on {train.stop} rows, {len(rows.features)} features")
    t1 = time.perf_counter()
    model = train_heads(
        rows.x[train],
        {h: y[train] for h, y in rows.labels.items()},
        rows.x[valid],
        {h: y[valid] for h, y in rows.labels.items()},
        rows.features,
        cfg.params,
        threads=cfg.threads,
    )
    train_s = time.perf_counter() - t1
    metrics = evaluate(model, rows, test)
    metrics["train_rows"] = float(train.stop)
    metrics["logged_share"] = rows.logged_share
    meta = ModelMeta(
        data_window=DataWindow(float(rows.ts[0]), float(rows.ts[-1]) + 1e-3, len(rows.ts)),
        features=rows.features,
        params={
            **model.params,
            "label_window_s": cfg.label_window_s,
            "split": {"valid": cfg.valid_fraction, "test": cfg.test_fraction},
            "trees": {h: b.num_trees() for h, b in model.boosters.items()},
        },
        metrics=metrics,
        description=f"multi-task LightGBM ranker, heads {', '.join(model.heads)}",
    )
    version: ModelVersion = registry.register(MODEL_NAME, model.save, meta)
    if promote:
        version = registry.promote(MODEL_NAME, version.version)
    say(f"registered {MODEL_NAME} {version.version}{' (promoted)' if promote else ''}")
    return {
        "version": version.version,
        "promoted": promote,
        "path": str(version.path),
        "rows": len(rows.ts),
        "positives": summary.get("positives", {}),
        "metrics": metrics,
        "train_s": round(train_s, 2),
        "total_s": round(time.perf_counter() - t0, 2),
    }


def _reporter(enabled: bool) -> Any:
    def say(message: str) -> None:
        if enabled:
            print(f"feedmix train: {message}", file=sys.stderr)

    return say
