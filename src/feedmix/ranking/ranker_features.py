"""The ranker's inputs: one list of named features, computed by one function at serving and training.

Training/serving skew is the classic way a ranker that looked good offline fails online, so the
model never sees a feature that the two sides compute separately. A feature is either

* an online feature from the registry (``f.*``: engagement counts and rates of the post, its
  community, the user and user×community), which serving hydrates and the offline history gives
  point in time, with the registry defaults in both places; or
* a *context* feature computed here, by :func:`context_features`, from corpus columns (the
  post's in-community score and comment percentiles, age, NSFW flag, log score and comments) and
  the user's community affinity. Serving calls it with the candidate batch's columns; training
  calls it with the same columns gathered from the corpus for the impression's post, and the
  affinity the user profile hydrator computes, so both produce identical numbers.

Missing inputs become NaN, which LightGBM routes down its learned "missing" branch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.features.definitions import default_registry
from feedmix.features.feature_columns import feature_column
from feedmix.signals.post_signal_table import PostSignalTable

FloatMatrix = npt.NDArray[np.float32]

#: computed by :func:`context_features`; the order is the model's column order
CONTEXT_FEATURES: tuple[str, ...] = (
    "quality",
    "engagement",
    "age_hours",
    "over_18",
    "log_post_score",
    "log_num_comments",
    "affinity",
)


#: the content signals of the post (``feedmix.signals``), by corpus row: class codes in the codebook's
#: order (NaN: not labelled, so LightGBM takes its missing branch), commercial as 0/1, product mentions
SIGNAL_FEATURES: tuple[str, ...] = (
    "sig.intent",
    "sig.sentiment",
    "sig.commercial",
    "sig.category",
    "sig.brand_safety",
    "sig.products",
)


def signal_features(
    table: PostSignalTable | None, rows: npt.NDArray[np.int64]
) -> dict[str, npt.NDArray[np.float32]]:
    """The signal columns of corpus ``rows``; all NaN without a table (the signals are not ready)."""
    n = len(rows)
    if table is None:
        return {name: np.full(n, np.nan, dtype=np.float32) for name in SIGNAL_FEATURES}

    def code(col: npt.NDArray[np.int8]) -> npt.NDArray[np.float32]:
        v = col[rows].astype(np.float32)
        v[v < 0] = np.nan
        return v

    labelled = table.intent[rows] >= 0
    products = np.fromiter((len(table.products[int(r)]) for r in rows), dtype=np.float32, count=n)
    return {
        "sig.intent": code(table.intent),
        "sig.sentiment": code(table.sentiment),
        "sig.commercial": np.where(labelled, (table.category[rows] >= 0).astype(np.float32), np.nan).astype(
            np.float32
        ),
        "sig.category": code(table.category),
        "sig.brand_safety": code(table.safety),
        "sig.products": np.where(labelled, products, np.nan).astype(np.float32),
    }


@lru_cache(maxsize=1)
def online_feature_names() -> tuple[str, ...]:
    """Every registry feature, as the candidate column it is hydrated into (``f.ctr_24h``, ...)."""
    registry = default_registry()
    return tuple(feature_column(e, d.name) for e in registry.entities() for d in registry.by_entity(e))


def ranker_feature_names() -> tuple[str, ...]:
    """The default feature list of a newly trained ranker: context, content signals, online features."""
    return CONTEXT_FEATURES + SIGNAL_FEATURES + online_feature_names()


def context_features(
    *,
    quality: npt.ArrayLike,
    engagement: npt.ArrayLike,
    created: npt.ArrayLike,
    now: float | npt.ArrayLike,
    over_18: npt.ArrayLike,
    post_score: npt.ArrayLike,
    num_comments: npt.ArrayLike,
    community: npt.ArrayLike,
    affinity_by_community: npt.NDArray[Any] | None,
    user_community_affinity: npt.ArrayLike | None = None,
) -> dict[str, npt.NDArray[np.float32]]:
    """The context features of ``n`` (user, post) pairs, as float32 columns.

    ``affinity_by_community`` is one user's affinity vector (serving: the ``user.affinity`` query
    feature); training passes ``user_community_affinity`` instead, already gathered per row,
    because its rows belong to many users. Neither given: affinity is NaN (unknown).
    """
    created_a = np.asarray(created, dtype=np.float64)
    age_h = np.maximum(np.asarray(now, dtype=np.float64) - created_a, 0.0) / 3600.0
    if user_community_affinity is not None:
        affinity = np.asarray(user_community_affinity, dtype=np.float32)
    elif affinity_by_community is not None:
        affinity = np.asarray(affinity_by_community, dtype=np.float32)[np.asarray(community, dtype=np.int64)]
    else:
        affinity = np.full(created_a.shape, np.nan, dtype=np.float32)
    return {
        "quality": np.asarray(quality, dtype=np.float32),
        "engagement": np.asarray(engagement, dtype=np.float32),
        "age_hours": age_h.astype(np.float32),
        "over_18": np.asarray(over_18, dtype=np.float32),
        "log_post_score": np.log1p(np.maximum(np.asarray(post_score, dtype=np.float64), 0.0)).astype(
            np.float32
        ),
        "log_num_comments": np.log1p(np.maximum(np.asarray(num_comments, dtype=np.float64), 0.0)).astype(
            np.float32
        ),
        "affinity": affinity,
    }


def feature_matrix(columns: Mapping[str, npt.ArrayLike], names: Sequence[str], n: int) -> FloatMatrix:
    """A C-contiguous float32 ``[n, len(names)]`` matrix; a column that is absent is all NaN.

    Returns the matrix and nothing else: which names were missing is the caller's to count (the
    scorer does, per request), because only it knows whether a missing column is an outage.
    """
    out = np.empty((n, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        col = columns.get(name)
        if col is None:
            out[:, j] = np.nan
        else:
            out[:, j] = np.asarray(col, dtype=np.float32)
    return out


def missing_columns(available: Sequence[str] | Mapping[str, Any], names: Sequence[str]) -> list[str]:
    """Which of ``names`` the batch does not carry."""
    return [name for name in names if name not in available]
