"""Offline quality of the full stack on MovieLens: a wide retrieval stage, then a LightGBM ranker.

The split and the protocols are those of ``feedmix eval retrieval`` (``feedmix.eval.movielens``): per
user, the latest 20% of ratings are held out and their 4-5 star ratings are the relevant items;
*time-consistent* serves each of 32 groups of users (grouped by split time) with models trained only
on ratings before the group's earliest split, *leave-latest-out* serves everyone from one model
trained on every training rating.

The stack, per user:

1. **Retrieval**: each of the five sources (ALS, item-kNN, genre affinity, recent popularity,
   popularity) proposes its top ``per_source`` (150) items that the user has not rated and that
   exist at the request; their union, deduplicated in the 8:1:1:4:1 round-robin order, is the
   candidate pool (about 430 items a user time-consistent, 470 leave-latest-out).
2. **Ranking**: a LightGBM model scores every pool item from the features of
   ``feedmix.eval.ranking_features`` (each source's score and rank, the union position, the ALS
   item norm, item-kNN from the user's 10 latest likes, item popularity all-time and over 30 and
   365 days, item mean rating, age and last rating, the user's activity, mean rating and recency);
   the top 50 are the feed.

The table puts it beside popularity, ALS and the retrieval union alone (the 8:1:1:4:1 union of
top-50s in its own order), which are the retrieval benchmark's rows, recomputed here from the same
models (the numbers match ``feedmix eval retrieval``).

Why the ranker cannot see the test:

* *Features* of a test user are computed as of their split time under the protocol's snapshot
  (``ranking_features`` explains; a test plants ratings at and after the split and checks that no
  feature moves).
* *Training labels* come from the training side only. ``validation_data`` drops every user's test
  ratings and splits the rest the same way: the latest 20% of each user's training ratings are a
  pseudo-test whose 4-5 stars label that user's pool, and pools and features are built by the same
  protocol as of those earlier split times (level 1). Repeating it on level 1 gives level 2, one
  split earlier again. The ranker trains on the rows of levels 1 and 2 (``training_levels``: on
  validation, adding a second level raised time-consistent NDCG@10 from 0.119-0.120 to
  0.123-0.125 and Recall@50 in every comparison, and left leave-latest-out NDCG@10 within noise),
  so it learns on exactly the kind of rows it is applied to, only earlier.
* *Hyperparameters* were chosen on level 1 with rankers trained on levels 2 and 3 (``--tune``), so
  the test was not used to pick anything.

What that leaves: a ranker trained once on the whole training side has, for the earliest test
users, labels later than their split (other users' training-side ratings). That is the reach that
choosing hyperparameters on the whole training side also has. The ranker reads no item or user
identity, only the features above, so what it can carry back in time is how to weigh signals (how
much to trust ALS against recent popularity), not which films became popular. To measure what this
is worth, the time-consistent column also has a fully time-consistent stack
(``strict_retrains``): rankers retrained 8 times along the test timeline, each from training users
whose labels all lie before the snapshots it serves; users served before a ranker has 50 such
training users (the first eighth, which has 1) keep the retrieval order. It scores lower than
the ranker trained once (0.099 against 0.110 NDCG@10 on the test, and lower in 5 of the 7 eighths
that have a ranker), which mixes two causes this design cannot separate: each strict ranker has
fewer and older training rows (more rows helped on validation too), and the once-trained one
reaches later labels.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from feedmix.eval.metrics import hits
from feedmix.eval.movielens import PROTOCOLS, MovieLensEvalConfig, relevant_items, snapshot_scores
from feedmix.eval.movielens_data import MovieLensData, load_movielens, validation_data
from feedmix.eval.protocols import Snapshot, leave_latest_snapshots, time_consistent_snapshots
from feedmix.eval.ranking_features import (
    RECENT_LIKES,
    RECENT_WINDOWS_DAYS,
    RequestTimelines,
    candidate_features,
    feature_names,
)
from feedmix.eval.retrieval_eval import SourceRow, evaluate_lists
from feedmix.eval.splits import TemporalSplit, split_latest_per_user
from feedmix.eval.union import round_robin_union
from feedmix.retrieval.embeddings.interactions import MOVIELENS_DIR, build_matrix
from feedmix.retrieval.embeddings.topk import NO_ITEM, top_k

FloatMatrix = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]
RowArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: the retrieval stage's sources, in the union's round-robin order
UNION_SOURCES = ("als", "item_knn", "genre", "recent_popular", "popular")

LABELS = {
    "popular": "popularity (global)",
    "als": "implicit ALS (exact dot product)",
    "union_quota": "retrieval alone: union of top-50s, quotas {quotas}, in its order",
    "pool": "retrieval pool: every source's top {per_source}, all of it (recall at its size, union order)",
    "ranker_als_only": "ranker over ALS's top {per_source} only",
    "full_stack": "full stack: retrieval pool + LightGBM ranker",
    "full_stack_strict": "full stack, ranker time-consistent too ({retrains} retrains on earlier labels)",
}


@dataclass(frozen=True)
class RankerParams:
    """LightGBM settings, chosen with ``--tune``: ``TUNING_GRID`` × ``TUNING_ROUNDS``, rankers trained
    on levels 2-3 and scored on level 1 (the training side's latest 20%), never on the test.

    These were best by validation NDCG@10 averaged over both protocols: 0.127 time-consistent and
    0.138 leave-latest-out, against 0.096 and 0.116 for the retrieval union alone. The ten best of
    the 48 settings lay within 0.005 of one another (about the noise of 650 users), binary and
    lambdarank alike; past 200 rounds at this rate validation NDCG fell (each level has only about
    4k relevant rows to learn from). The learning rate, feature and bagging fractions and L2 were
    not searched.
    """

    objective: str = "lambdarank"
    num_leaves: int = 15
    learning_rate: float = 0.05
    rounds: int = 200
    min_data_in_leaf: int = 100
    feature_fraction: float = 0.8
    lambda_l2: float = 1.0
    #: lambdarank: the pairs it weighs have one side in the current top this many
    truncation_level: int = 20
    #: training keeps every relevant row and at most this many others per user, drawn at random
    #: (None: all). A pool of ~470 holds ~7 relevant items, and the rest are mostly easy
    #: negatives: 100 ranked as well on validation as all of them, at a fifth of the rows
    negatives_per_user: int | None = 100
    seed: int = 0
    train_threads: int = 2
    predict_threads: int = 1

    def lgb_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": self.objective,
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": self.lambda_l2,
            "num_threads": self.train_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "verbose": -1,
        }
        if self.objective == "lambdarank":
            params["lambdarank_truncation_level"] = self.truncation_level
        return params


@dataclass(frozen=True)
class RankingEvalConfig:
    """Everything that shapes a run, recorded in its JSON."""

    retrieval: MovieLensEvalConfig = field(default_factory=lambda: MovieLensEvalConfig(sources=UNION_SOURCES))
    #: each source's top this many enter the pool. Validation (level 1, rankers from levels 2-3),
    #: time-consistent: pool recall 0.55 / 0.62 / 0.67 / 0.73 and full-stack NDCG@10 0.118 / 0.127 /
    #: 0.122 / 0.123 for 100 / 150 / 200 / 300; leave-latest-out NDCG@10 0.136-0.138 for all four
    per_source: int = 150
    ranker: RankerParams = field(default_factory=RankerParams)
    #: inner splits whose rows train the ranker (1: the training side's own split only)
    training_levels: int = 2
    #: time-consistent protocol: retrains of the fully time-consistent ranker (0: no such row)
    strict_retrains: int = 8
    protocols: tuple[str, ...] = PROTOCOLS
    windows_days: tuple[float, ...] = RECENT_WINDOWS_DAYS
    recent_likes: int = RECENT_LIKES


@dataclass(frozen=True)
class CandidateStage:
    """One protocol's retrieval output on one split: pools, their features and labels.

    ``pool[u]`` holds user ``users[u]``'s candidates in retrieval order (-1 padded); ``features`` and
    ``labels`` have one row per valid pool cell, row-major (user by user, in pool order).
    """

    users: RowArray
    pool: RowArray
    features: FloatMatrix
    labels: BoolArray
    relevant: sp.csr_matrix
    #: per user: the batch models' training cutoff (+inf in leave-latest-out)
    model_cutoff: FloatArray
    #: per user: the time of their last held-out rating; every label is at or before it
    label_until: FloatArray
    #: the single-stage rows: popularity, ALS and the 8:1:1:4:1 union, each cut to ``k_recall``
    lists: dict[str, RowArray]
    snapshots: int
    seconds: float

    @property
    def sizes(self) -> RowArray:
        out: RowArray = (self.pool != NO_ITEM).sum(axis=1).astype(np.int64)
        return out

    def row_users(self) -> RowArray:
        """Per feature row: the position of its user in ``users``."""
        return np.repeat(np.arange(self.users.size, dtype=np.int64), self.sizes)

    def select(self, keep_user: BoolArray) -> CandidateStage:
        """The stage restricted to the users under ``keep_user`` (positions in ``users``)."""
        keep_row = keep_user[self.row_users()]
        return replace(
            self,
            users=self.users[keep_user],
            pool=self.pool[keep_user],
            features=self.features[keep_row],
            labels=self.labels[keep_row],
            relevant=self.relevant[np.flatnonzero(keep_user)],
            model_cutoff=self.model_cutoff[keep_user],
            label_until=self.label_until[keep_user],
            lists={name: lst[keep_user] for name, lst in self.lists.items()},
        )


def concat_stages(stages: Sequence[CandidateStage]) -> CandidateStage:
    """Several stages' users as one (the same user in two levels is two queries)."""
    if len(stages) == 1:
        return stages[0]
    width = max(s.pool.shape[1] for s in stages)
    pad = [np.pad(s.pool, ((0, 0), (0, width - s.pool.shape[1])), constant_values=NO_ITEM) for s in stages]
    return CandidateStage(
        users=np.concatenate([s.users for s in stages]),
        pool=np.concatenate(pad),
        features=np.concatenate([s.features for s in stages]),
        labels=np.concatenate([s.labels for s in stages]),
        relevant=sp.vstack([s.relevant for s in stages]).tocsr(),
        model_cutoff=np.concatenate([s.model_cutoff for s in stages]),
        label_until=np.concatenate([s.label_until for s in stages]),
        lists={n: np.concatenate([s.lists[n] for s in stages]) for n in stages[0].lists},
        snapshots=sum(s.snapshots for s in stages),
        seconds=sum(s.seconds for s in stages),
    )


def protocol_snapshots(
    data: MovieLensData, protocol: str, config: MovieLensEvalConfig
) -> tuple[list[Snapshot], sp.csr_matrix, sp.csr_matrix, TemporalSplit]:
    """The protocol's snapshots over ``data``'s split (users with a training history and a relevant
    held-out item, as in ``feedmix eval retrieval``), every user's training history (liked and
    seen matrices) and the split."""
    n_users = len(data.users)
    split = split_latest_per_user(data.user_rows, data.ts, n_users, test_fraction=config.test_fraction)
    has_train = split.train_users(data.user_rows, n_users)
    has_target = np.bincount(data.user_rows[split.test & data.positive], minlength=n_users) > 0
    users = np.flatnonzero(has_train & has_target)
    if protocol == "time-consistent":
        snaps = time_consistent_snapshots(data.ts, split, users, config.snapshots)
    elif protocol == "leave-latest-out":
        snaps = leave_latest_snapshots(split, users)
    else:
        raise ValueError(f"unknown protocol {protocol!r} (use {', '.join(PROTOCOLS)})")
    history = build_matrix(data.interactions.select(~split.test), users=data.users, items=data.items)
    return snaps, history.confidence, history.seen, split


@dataclass(frozen=True)
class SnapshotCandidates:
    """One snapshot's retrieval output: ``pool`` rows align with ``snap.users``."""

    pool: RowArray
    #: one row per valid ``pool`` cell, row-major
    features: FloatMatrix
    #: the single-stage rows, cut to ``k_recall``
    lists: dict[str, RowArray]


def snapshot_candidates(
    data: MovieLensData,
    snap: Snapshot,
    liked: sp.csr_matrix,
    seen: sp.csr_matrix,
    config: RankingEvalConfig,
    timelines: RequestTimelines | None = None,
) -> SnapshotCandidates:
    """Retrieve the pool of each of ``snap.users`` and compute its features, as of their request.

    ``liked`` / ``seen`` are every user's training history (rows = user rows); only the rows of
    ``snap.users`` are read.
    """
    rc = config.retrieval
    scored = snapshot_scores(data, snap, liked, seen, rc, set(UNION_SOURCES))
    wide = {s: top_k(scored.scores[s], config.per_source, scored.exclude) for s in UNION_SOURCES}
    # the single-stage rows exactly as ``feedmix eval retrieval`` computes them (a top 50 can order
    # tied scores differently from the first 50 of a top 150)
    short = {s: top_k(scored.scores[s], rc.k_recall, scored.exclude) for s in UNION_SOURCES}
    lists = {
        "popular": short["popular"],
        "als": short["als"],
        "union_quota": round_robin_union([short[s] for s in UNION_SOURCES], rc.k_recall, rc.union_quotas),
    }
    pool = round_robin_union(
        [wide[s] for s in UNION_SOURCES], config.per_source * len(UNION_SOURCES), rc.union_quotas
    )
    pool = pool[:, : max(int((pool != NO_ITEM).sum(axis=1).max(initial=0)), 1)]
    features = candidate_features(
        data,
        snap,
        scored,
        wide,
        pool,
        timelines=timelines,
        windows_days=config.windows_days,
        recent_likes=config.recent_likes,
    )
    return SnapshotCandidates(pool, features, lists)


def build_stage(
    data: MovieLensData,
    protocol: str,
    config: RankingEvalConfig,
    *,
    desc: str = "",
    progress: bool = False,
) -> CandidateStage:
    """Retrieve, featurise and label every evaluated user of ``data``'s split under ``protocol``.

    Labels read the split's held-out side: on ``validation_data`` that is the training side's
    latest 20%, which is how the ranker's training rows are made (``ranker_training_stage``).
    """
    started = time.perf_counter()
    snaps, liked, seen, split = protocol_snapshots(data, protocol, config.retrieval)
    parts: list[SnapshotCandidates] = []
    timelines: RequestTimelines | None = None
    for snap in tqdm(snaps, desc=desc or protocol, disable=not progress, leave=False):
        # time-consistent snapshots share one ``realtime`` mask (every rating; each query cuts it at
        # the user's request time), so its sorted timelines are built once
        if timelines is None or timelines.realtime is not snap.realtime:
            timelines = RequestTimelines.of(data, snap.realtime)
        parts.append(snapshot_candidates(data, snap, liked, seen, config, timelines))
    users = np.concatenate([s.users for s in snaps])
    width = max(p.pool.shape[1] for p in parts)
    pool = np.full((users.size, width), NO_ITEM, dtype=np.int64)
    at = 0
    for p in parts:
        pool[at : at + p.pool.shape[0], : p.pool.shape[1]] = p.pool
        at += p.pool.shape[0]
    relevant = relevant_items(data, split, users)
    label_until = np.full(len(data.users), -np.inf)
    np.maximum.at(label_until, data.user_rows[split.test], data.ts[split.test])
    return CandidateStage(
        users=users,
        pool=pool,
        features=np.concatenate([p.features for p in parts]),
        labels=hits(pool, relevant)[pool != NO_ITEM],
        relevant=relevant,
        model_cutoff=np.concatenate([np.full(s.users.size, s.model_cutoff) for s in snaps]),
        label_until=label_until[users],
        lists={name: np.concatenate([p.lists[name] for p in parts]) for name in parts[0].lists},
        snapshots=len(snaps),
        seconds=round(time.perf_counter() - started, 2),
    )


def split_levels(data: MovieLensData, levels: int, test_fraction: float = 0.2) -> list[MovieLensData]:
    """``[data, validation_data(data), validation_data(validation_data(data)), ...]``, ``levels + 1``
    in all: level ``i + 1`` is level ``i``'s training side, so its held-out part is older still."""
    out = [data]
    for _ in range(levels):
        out.append(validation_data(out[-1], test_fraction))
    return out


def ranker_training_stage(
    data: MovieLensData, protocol: str, config: RankingEvalConfig, *, progress: bool = False
) -> CandidateStage:
    """The ranker's training rows: ``build_stage`` on levels 1 to ``training_levels`` of ``data``
    (``split_levels``), every one of them a part of ``data``'s training side."""
    levels = split_levels(data, config.training_levels, config.retrieval.test_fraction)[1:]
    return concat_stages(
        [
            build_stage(d, protocol, config, desc=f"{protocol}: ranker rows, level {i}", progress=progress)
            for i, d in enumerate(levels, start=1)
        ]
    )


def training_rows(stage: CandidateStage, params: RankerParams) -> RowArray:
    """Indices of the feature rows the ranker trains on, still grouped by user in pool order.

    For lambdarank, users with no relevant item in their pool are dropped: every pair in them is a
    tie, so they carry no gradient and only cost time.
    """
    user_of_row = stage.row_users()
    keep = np.ones(user_of_row.size, dtype=np.bool_)
    if params.objective == "lambdarank":
        positives = np.bincount(user_of_row, weights=stage.labels, minlength=stage.users.size)
        keep &= positives[user_of_row] > 0
    if params.negatives_per_user is not None:
        rng = np.random.default_rng(params.seed)
        # each user's negatives in a random order (label 0 sorts first); keep the first ones
        order = np.lexsort((rng.random(user_of_row.size), stage.labels, user_of_row))
        first = np.searchsorted(user_of_row[order], user_of_row[order], side="left")
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size) - first
        keep &= stage.labels | (rank < params.negatives_per_user)
    out: RowArray = np.flatnonzero(keep)
    return out


def train_ranker(stage: CandidateStage, params: RankerParams, names: Sequence[str]) -> lgb.Booster:
    """Fit on ``stage``'s labelled pools (``training_rows``), one lambdarank query per user."""
    rows = training_rows(stage, params)
    if not stage.labels[rows].any():
        raise ValueError("no relevant item in any training pool: nothing to learn from")
    user_of_row = stage.row_users()[rows]
    train = lgb.Dataset(
        stage.features[rows],
        label=stage.labels[rows].astype(np.float32),
        group=np.bincount(user_of_row)[np.unique(user_of_row)] if params.objective == "lambdarank" else None,
        feature_name=list(names),
        free_raw_data=True,
    )
    with threadpool_limits(1, "blas"):
        return lgb.train(params.lgb_params(), train, num_boost_round=params.rounds)


def predict(
    booster: lgb.Booster, features: FloatMatrix, params: RankerParams, rounds: int | None = None
) -> FloatArray:
    """Ranker scores of feature rows, on ``predict_threads`` (a serving request gets one core)."""
    out: FloatArray = np.asarray(
        booster.predict(features, num_iteration=rounds, num_threads=params.predict_threads),
        dtype=np.float64,
    )
    return out


def ranked_lists(
    stage: CandidateStage, scores: FloatArray, k: int, keep: BoolArray | None = None
) -> RowArray:
    """Each user's top ``k`` pool items by ``scores`` (one per feature row); ``keep`` limits the rows."""
    valid = stage.pool != NO_ITEM
    dense = np.full(stage.pool.shape, -np.inf, dtype=np.float32)
    dense[valid] = np.where(keep, scores, -np.inf) if keep is not None else scores
    cols = top_k(dense, k)
    picked = np.take_along_axis(stage.pool, np.maximum(cols, 0), axis=1)
    out: RowArray = np.where(cols >= 0, picked, NO_ITEM)
    return out


def strict_scores(
    test: CandidateStage,
    train: CandidateStage,
    params: RankerParams,
    names: Sequence[str],
    retrains: int,
    *,
    min_users: int = 50,
) -> tuple[FloatArray, list[dict[str, Any]]]:
    """Scores of a ranker that is itself time-consistent: retrained at ``retrains`` points of the
    test snapshots' cutoffs, each from the ``train`` users whose labels all precede that point.

    Test users served before the first ranker with ``min_users`` such users keep the retrieval
    order (score = minus the pool position). Returns the scores and what each retrain used.
    """
    union_position = test.features[:, list(names).index("union_position")].astype(np.float64)
    scores = -union_position
    cutoffs = np.unique(test.model_cutoff)
    points = cutoffs[np.linspace(0, cutoffs.size, retrains, endpoint=False).astype(np.int64)]
    bounds = np.append(points[1:], np.inf)
    test_rows = test.row_users()
    log: list[dict[str, Any]] = []
    for start, end in zip(points.tolist(), bounds.tolist(), strict=True):
        served = (test.model_cutoff >= start) & (test.model_cutoff < end)
        eligible = train.label_until < start
        positives = np.bincount(train.row_users(), weights=train.labels, minlength=train.users.size)
        n_users = int((eligible & (positives > 0)).sum())
        log.append({"from": start, "test_users": int(served.sum()), "training_users": n_users})
        if n_users < min_users:
            continue
        booster = train_ranker(train.select(eligible), params, names)
        rows = served[test_rows]
        scores[rows] = predict(booster, test.features[rows], params)
    return scores, log


def evaluate_stage(
    stage: CandidateStage,
    scores: FloatArray,
    config: RankingEvalConfig,
    names: Sequence[str],
    *,
    strict: FloatArray | None = None,
) -> list[SourceRow]:
    """Every row of the table for one protocol, from the ranker's ``scores`` of ``stage``'s rows."""
    rc = config.retrieval
    als_rank = stage.features[:, list(names).index("als_rank")]
    lists = {
        **stage.lists,
        "pool": stage.pool,
        "ranker_als_only": ranked_lists(stage, scores, rc.k_recall, keep=als_rank < config.per_source),
        "full_stack": ranked_lists(stage, scores, rc.k_recall),
    }
    if strict is not None:
        lists["full_stack_strict"] = ranked_lists(stage, strict, rc.k_recall)
    labels = {
        name: label.format(
            quotas=":".join(map(str, rc.union_quotas)),
            per_source=config.per_source,
            retrains=config.strict_retrains,
        )
        for name, label in LABELS.items()
    }
    return evaluate_lists(
        {name: lists[name] for name in LABELS if name in lists},
        stage.relevant,
        k_recall=rc.k_recall,
        k_ndcg=rc.k_ndcg,
        labels=labels,
        budgets={"pool": stage.sizes},
    )


def _stage_summary(stage: CandidateStage) -> dict[str, Any]:
    positives = np.bincount(stage.row_users(), weights=stage.labels, minlength=stage.users.size)
    return {
        "users": int(stage.users.size),
        "snapshots": stage.snapshots,
        "rows": int(stage.labels.size),
        "relevant_rows": int(stage.labels.sum()),
        "users_with_a_relevant_item_in_pool": int((positives > 0).sum()),
        "mean_pool_size": round(float(stage.sizes.mean()), 1),
        "seconds": round(stage.seconds, 2),
    }


#: ``--tune``: every combination, each scored at every round count of ``TUNING_ROUNDS``
TUNING_GRID: dict[str, Sequence[Any]] = {
    "objective": ("lambdarank", "binary"),
    "num_leaves": (7, 15, 31),
    "min_data_in_leaf": (20, 100),
}
TUNING_ROUNDS = (50, 100, 200, 300)


def _grid(base: RankerParams, grid: Mapping[str, Sequence[Any]]) -> Iterable[RankerParams]:
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        yield replace(base, **dict(zip(keys, values, strict=True)))


def tune_ranker(
    train: CandidateStage,
    valid: CandidateStage,
    config: RankingEvalConfig,
    names: Sequence[str],
    *,
    grid: Mapping[str, Sequence[Any]] = TUNING_GRID,
    rounds: Sequence[int] = TUNING_ROUNDS,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Validation NDCG@10 and Recall@50 of the full stack for every setting of ``grid``, rankers
    trained on ``train`` (levels 2 and on) and scored on ``valid`` (level 1)."""
    results: list[dict[str, Any]] = []
    settings = list(_grid(replace(config.ranker, rounds=max(rounds)), grid))
    for params in tqdm(settings, desc="tuning grid", disable=not progress, leave=False):
        booster = train_ranker(train, params, names)
        for r in rounds:
            scores = predict(booster, valid.features, params, r)
            by = {row.source: row for row in evaluate_stage(valid, scores, config, names)}
            results.append(
                {
                    **{k: getattr(params, k) for k in grid},
                    "rounds": r,
                    "ndcg": by["full_stack"].ndcg,
                    "recall": by["full_stack"].recall,
                    "union_ndcg": by["union_quota"].ndcg,
                    "union_recall": by["union_quota"].recall,
                }
            )
    return results


def evaluate_ranking(
    data: MovieLensData, config: RankingEvalConfig, *, tune: bool = False, progress: bool = False
) -> dict[str, Any]:
    """Per protocol: build the test stage and the ranker's training stages, train, score the table.

    With ``tune``, one level more is built and the grid runs on it (training on levels 2 and on,
    validating on level 1); the rankers of the table keep ``config.ranker``.
    """
    rc = config.retrieval
    names = feature_names(UNION_SOURCES, config.windows_days)
    n_levels = config.training_levels + (1 if tune else 0)
    levels = split_levels(data, n_levels, rc.test_fraction)
    protocols: list[dict[str, Any]] = []
    tuning: dict[str, Any] = {}
    with threadpool_limits(rc.als.num_threads):
        for protocol in config.protocols:
            stages = [
                build_stage(d, protocol, config, desc=f"{protocol}: level {i}", progress=progress)
                for i, d in enumerate(levels)
            ]
            test, train = stages[0], concat_stages(stages[1 : 1 + config.training_levels])
            started = time.perf_counter()
            booster = train_ranker(train, config.ranker, names)
            fit_s = time.perf_counter() - started
            started = time.perf_counter()
            scores = predict(booster, test.features, config.ranker)
            predict_s = time.perf_counter() - started
            strict, strict_log = None, None
            if protocol == "time-consistent" and config.strict_retrains > 0:
                strict, strict_log = strict_scores(test, train, config.ranker, names, config.strict_retrains)
            rows = evaluate_stage(test, scores, config, names, strict=strict)
            gain = booster.feature_importance(importance_type="gain")
            out: dict[str, Any] = {
                "name": protocol,
                "users": int(test.users.size),
                "rows": [r.to_json() for r in rows],
                "test_stage": _stage_summary(test),
                "training_stages": [_stage_summary(s) for s in stages[1 : 1 + config.training_levels]],
                "seconds": {
                    "stages": [s.seconds for s in stages],
                    "ranker_fit": round(fit_s, 2),
                    "ranker_inference": round(predict_s, 3),
                    "ranker_inference_us_per_candidate": round(1e6 * predict_s / max(test.labels.size, 1), 3),
                },
                "feature_gain_share": {
                    n: round(float(g) / max(float(gain.sum()), 1e-12), 4)
                    for n, g in sorted(zip(names, gain.tolist(), strict=True), key=lambda x: -x[1])
                },
            }
            if strict_log is not None:
                out["strict_retrains"] = strict_log
            protocols.append(out)
            if tune:
                tune_train = concat_stages(stages[2 : 2 + config.training_levels])
                tuning[protocol] = tune_ranker(tune_train, stages[1], config, names, progress=progress)
    result: dict[str, Any] = {
        "dataset": "movielens-latest-small",
        "k_recall": rc.k_recall,
        "k_ndcg": rc.k_ndcg,
        "config": asdict(config),
        "features": names,
        "protocols": protocols,
    }
    if tune:
        result["tuning"] = {"grid": {k: list(v) for k, v in TUNING_GRID.items()}, "results": tuning}
    return result


def ranking_table(result: Mapping[str, Any]) -> str:
    """The README table: a row per stage, Recall and NDCG per protocol, and the users evaluated."""
    protocols: Sequence[Mapping[str, Any]] = result["protocols"]
    k_recall, k_ndcg = result["k_recall"], result["k_ndcg"]
    head = ["stage"]
    for p in protocols:
        head += [f"Recall@{k_recall} ({p['name']})", f"NDCG@{k_ndcg} ({p['name']})"]
    head += ["users"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by_protocol = [{row["source"]: row for row in p["rows"]} for p in protocols]
    for row in protocols[0]["rows"]:
        cells = [row["label"]]
        for rows in by_protocol:
            other = rows.get(row["source"])
            cells += [f"{other['recall']:.4f}", f"{other['ndcg']:.4f}"] if other else ["", ""]
        cells.append(str(row["users"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tuning_table(tuning: Mapping[str, Any], top: int = 10) -> str:
    """The ``top`` settings by validation NDCG@10 averaged over the protocols, each protocol's
    figures beside it (a setting must do well on both)."""
    per_protocol = tuning["results"]
    names = list(per_protocol)
    keys = [*tuning["grid"], "rounds"]
    merged: dict[tuple[Any, ...], dict[str, float]] = {}
    for protocol, results in per_protocol.items():
        for r in results:
            merged.setdefault(tuple(r[k] for k in keys), {})[protocol] = r["ndcg"]
            merged[tuple(r[k] for k in keys)][protocol + " recall"] = r["recall"]
    ranked = sorted(merged.items(), key=lambda kv: -float(np.mean([kv[1][p] for p in names])))
    head = [*keys] + [f"{m} ({p})" for p in names for m in ("NDCG@10", "Recall@50")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for setting, m in ranked[:top]:
        cells = [str(v) for v in setting]
        cells += [f"{m[p]:.4f} | {m[p + ' recall']:.4f}" for p in names]
        lines.append("| " + " | ".join(cells) + " |")
    base = ", ".join(
        f"{p}: union alone {per_protocol[p][0]['union_ndcg']:.4f} / {per_protocol[p][0]['union_recall']:.4f}"
        for p in names
    )
    return f"validation (level 1), NDCG@10 / Recall@50; {base}\n" + "\n".join(lines)


def run_ranking_eval(
    data_dir: str | Path | None = None,
    config: RankingEvalConfig | None = None,
    *,
    tune: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Load MovieLens and run ``evaluate_ranking``; the JSON-ready result feeds ``ranking_table``.

    ``data_dir`` is the shared data root or the MovieLens folder (default: ``default_data_dir()``).
    """
    from feedmix.corpus.reddit_corpus import default_data_dir

    started = time.perf_counter()
    data = load_movielens(data_dir if data_dir is not None else default_data_dir() / MOVIELENS_DIR)
    result = evaluate_ranking(data, config or RankingEvalConfig(), tune=tune, progress=progress)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """``feedmix eval ranking``: the README's full-stack MovieLens table, and the JSON behind it."""
    import argparse
    import json

    p = argparse.ArgumentParser(prog="feedmix eval ranking", description=__doc__.split("\n")[0])
    p.add_argument("--data", default=None, help="shared data root or the MovieLens folder")
    p.add_argument("--out", default=None, help="also write the JSON here")
    p.add_argument("--json", action="store_true", help="print the JSON instead of the table")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--snapshots", type=int, default=None, help="time-consistent retrains (default 32)")
    p.add_argument(
        "--per-source", type=int, default=None, help="each source's top this many in the pool (150)"
    )
    p.add_argument("--threads", type=int, default=None, help="ALS, kNN and ranker training threads (2)")
    p.add_argument("--tune", action="store_true", help="also run the validation grid that chose the ranker")
    a = p.parse_args(argv)
    config = RankingEvalConfig()
    rc = config.retrieval
    if a.snapshots is not None:
        rc = replace(rc, snapshots=a.snapshots)
    if a.threads is not None:
        rc = replace(rc, als=replace(rc.als, num_threads=a.threads))
        config = replace(config, ranker=replace(config.ranker, train_threads=a.threads))
    config = replace(config, retrieval=rc)
    if a.per_source is not None:
        config = replace(config, per_source=a.per_source)
    result = run_ranking_eval(a.data, config, tune=a.tune, progress=not a.no_progress)
    text = json.dumps(result, indent=2)
    if a.out:
        Path(a.out).write_text(text + "\n")
    if a.json:
        print(text)
        return 0
    print(ranking_table(result))
    if a.tune:
        print()
        print(tuning_table(result["tuning"]))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
