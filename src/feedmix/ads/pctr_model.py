"""Position-aware pCTR: logistic regression over history and context, scored at a reference slot.

Features (one row per logged impression, one per eligible ad group at serving):

* ``log_coec_group``, ``log_coec_campaign``: the ad group's / campaign's historical *clicks over
  expected clicks* (COEC), smoothed: ``(clicks + a) / (expected + a)`` where ``expected`` sums the
  global CTR of the positions its impressions had. Plain historical CTR would reward ad groups that
  happened to be shown at the top; COEC removes the position from the history. ``a`` (default 50
  expected clicks' worth... see ``smoothing``) pulls new ad groups towards 1 (= average). In
  training each row's own click is left out of its COEC (leave-one-out), so the label does not leak
  into the feature.
* ``community_match`` (0/1), ``min(keyword_overlap, 3)``: relevance of the ad to the page.
* position one-hot (position 0 is the baseline): *training only*.

Position-bias trick: the position columns soak up "users look less at lower slots"; at serving,
every ad is scored as if at the reference position 0 (the position terms are zero), so pCTR ranks
ads by their own appeal and the auction's eCPM compares like with like. The price of a lower slot
is the auction's business, not the model's.

Serving is one fused numpy expression over all eligible rows (no sklearn call on the request path:
``predict_proba`` costs tens of microseconds of input validation alone). Without a trained model,
:class:`PriorPctr` returns one prior CTR for every ad.

The trainer reads a plain table (``dict`` of equal-length columns, see
:data:`feedmix.ads.ad_log_generator.LOG_COLUMNS`), so the synthetic generator and the future
tracking log feed it alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from feedmix.ads.targeting_index import TargetingIndex

FloatArray = npt.NDArray[np.float64]
DEFAULT_PRIOR_CTR = 0.01
_KEYWORD_CAP = 3.0
FEATURES = ("log_coec_group", "log_coec_campaign", "community_match", "keyword_overlap")


class PctrScorer(Protocol):
    """A pCTR model bound to one index version: scores index rows for one request."""

    def score(
        self, rows: npt.NDArray[np.int64], community_match: FloatArray, keyword_overlap: FloatArray
    ) -> FloatArray: ...


def _sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


@dataclass(frozen=True)
class PriorPctr:
    """The fallback when no model is trained: the same prior CTR for every ad."""

    prior_ctr: float = DEFAULT_PRIOR_CTR

    def bind(self, index: TargetingIndex) -> PriorPctr:
        return self

    def score(
        self, rows: npt.NDArray[np.int64], community_match: FloatArray, keyword_overlap: FloatArray
    ) -> FloatArray:
        return np.full(rows.shape[0], self.prior_ctr, dtype=np.float64)


@dataclass(frozen=True)
class BoundPctr:
    """:class:`PctrModel` with its history features gathered into index-row order."""

    intercept: float
    w_match: float
    w_keyword: float
    #: per index row: w_group * log_coec_group + w_campaign * log_coec_campaign (precomputed)
    history_term: FloatArray

    def score(
        self, rows: npt.NDArray[np.int64], community_match: FloatArray, keyword_overlap: FloatArray
    ) -> FloatArray:
        z = (
            self.intercept
            + self.history_term[rows]
            + self.w_match * community_match
            + self.w_keyword * np.minimum(keyword_overlap, _KEYWORD_CAP)
        )
        return _sigmoid(z)


def _coec(
    keys: npt.NDArray[np.generic], clicked: FloatArray, expected: FloatArray, smoothing: float
) -> tuple[dict[str, float], FloatArray]:
    """Smoothed log COEC per key, and the leave-one-out value of each row."""
    uniq, inv = np.unique(keys, return_inverse=True)
    clicks = np.bincount(inv, weights=clicked)
    exp = np.bincount(inv, weights=expected)
    per_key = np.log((clicks + smoothing) / (exp + smoothing))
    loo = np.log((clicks[inv] - clicked + smoothing) / (exp[inv] - expected + smoothing))
    return {str(k): float(v) for k, v in zip(uniq, per_key, strict=True)}, loo


@dataclass(frozen=True)
class PctrModel:
    """A trained position-aware logistic regression (see the module docstring)."""

    intercept: float
    weights: dict[str, float]
    position_weights: tuple[float, ...]
    position_ctr: tuple[float, ...]
    group_log_coec: dict[str, float]
    campaign_log_coec: dict[str, float]
    n_train: int

    @classmethod
    def train(
        cls,
        log: Mapping[str, npt.NDArray[np.generic]],
        *,
        smoothing: float = 20.0,
        l2_c: float = 1.0,
        max_positions: int = 10,
    ) -> PctrModel:
        """Fit on a log table with the columns of ``LOG_COLUMNS`` (positions past the last one pool)."""
        clicked = np.asarray(log["clicked"], dtype=np.float64)
        n = clicked.shape[0]
        if n == 0 or clicked.min() == clicked.max():
            raise ValueError("the log needs both clicks and non-clicks to train on")
        position = np.minimum(np.asarray(log["position"], dtype=np.int64), max_positions - 1)
        n_pos = int(position.max()) + 1
        pos_clicks = np.bincount(position, weights=clicked, minlength=n_pos)
        pos_imps = np.bincount(position, minlength=n_pos).astype(np.float64)
        position_ctr = (pos_clicks + 1.0) / (pos_imps + 1.0 / DEFAULT_PRIOR_CTR)
        expected = position_ctr[position]
        group_coec, group_loo = _coec(np.asarray(log["ad_group_id"]), clicked, expected, smoothing)
        campaign_coec, campaign_loo = _coec(np.asarray(log["campaign_id"]), clicked, expected, smoothing)
        match = np.asarray(log["community_match"], dtype=np.float64)
        overlap = np.minimum(np.asarray(log["keyword_overlap"], dtype=np.float64), _KEYWORD_CAP)
        onehot = np.zeros((n, max(n_pos - 1, 0)))
        if n_pos > 1:
            lower = position > 0
            onehot[np.flatnonzero(lower), position[lower] - 1] = 1.0
        X = np.column_stack([group_loo, campaign_loo, match, overlap, onehot])
        lr = LogisticRegression(C=l2_c, max_iter=500)
        lr.fit(X, clicked.astype(np.int8))
        coef = lr.coef_[0]
        return cls(
            intercept=float(lr.intercept_[0]),
            weights={f: float(w) for f, w in zip(FEATURES, coef[: len(FEATURES)], strict=True)},
            position_weights=(0.0, *(float(w) for w in coef[len(FEATURES) :])),
            position_ctr=tuple(float(c) for c in position_ctr),
            group_log_coec=group_coec,
            campaign_log_coec=campaign_coec,
            n_train=n,
        )

    def bind(self, index: TargetingIndex) -> BoundPctr:
        """Gather the history features into ``index``'s row order (run once per index build)."""
        g = np.fromiter((self.group_log_coec.get(i, 0.0) for i in index.ad_group_ids), np.float64, len(index))
        c_per_campaign = np.fromiter(
            (self.campaign_log_coec.get(i, 0.0) for i in index.campaign_ids), np.float64, index.n_campaigns
        )
        c = c_per_campaign[index.campaign_row] if len(index) else np.zeros(0)
        history = self.weights["log_coec_group"] * g + self.weights["log_coec_campaign"] * c
        return BoundPctr(
            intercept=self.intercept,
            w_match=self.weights["community_match"],
            w_keyword=self.weights["keyword_overlap"],
            history_term=history,
        )

    def predict_table(
        self, log: Mapping[str, npt.NDArray[np.generic]], *, at_position: int | None = None
    ) -> FloatArray:
        """pCTR of each row of a log table, at its logged position or at ``at_position`` (offline use)."""
        g = np.array([self.group_log_coec.get(str(k), 0.0) for k in log["ad_group_id"]])
        c = np.array([self.campaign_log_coec.get(str(k), 0.0) for k in log["campaign_id"]])
        pos = (
            np.asarray(log["position"], dtype=np.int64)
            if at_position is None
            else np.full(len(g), at_position)
        )
        pos = np.minimum(pos, len(self.position_weights) - 1)
        z = (
            self.intercept
            + self.weights["log_coec_group"] * g
            + self.weights["log_coec_campaign"] * c
            + self.weights["community_match"] * np.asarray(log["community_match"], dtype=np.float64)
            + self.weights["keyword_overlap"]
            * np.minimum(np.asarray(log["keyword_overlap"], dtype=np.float64), _KEYWORD_CAP)
            + np.asarray(self.position_weights)[pos]
        )
        return _sigmoid(z)
