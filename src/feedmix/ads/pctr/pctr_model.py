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
:data:`feedmix.ads.pctr.ad_log_generator.LOG_COLUMNS`), so the synthetic generator and the future
tracking log feed it alike.

Persistence (``save`` / ``load``) is a small JSON document tagged ``"format": "feedmix.pctr.v1"``.
It holds everything ``bind`` and ``predict_table`` read, including the per-ad-group and per-campaign
smoothed COEC history: without it a reloaded model would score every ad as "average history" and
lose most of what it learned. JSON (not pickle) because the serving process loads files written by
a training job: a tampered or stale file must fail with :class:`PctrModelFileError`, never run
code. Floats are written with ``repr`` precision, so a round trip scores bit-for-bit the same.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from feedmix.ads.decision.targeting_index import TargetingIndex

FloatArray = npt.NDArray[np.float64]
DEFAULT_PRIOR_CTR = 0.01
_KEYWORD_CAP = 3.0
FEATURES = ("log_coec_group", "log_coec_campaign", "community_match", "keyword_overlap")
#: the ``format`` tag of a saved model; bump it when the file's meaning changes
PCTR_FORMAT = "feedmix.pctr.v1"


class PctrModelFileError(ValueError):
    """A saved pCTR model that cannot be used: unreadable, not JSON, another format, or malformed."""


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
    #: the COEC smoothing the history features were computed with (kept for provenance)
    smoothing: float = 20.0

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
            smoothing=float(smoothing),
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

    # -- persistence -----------------------------------------------------------------------------

    def to_json(self, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The JSON document ``save`` writes (``meta``: free-form provenance, ignored by ``load``)."""
        return {
            "format": PCTR_FORMAT,
            "intercept": self.intercept,
            "weights": dict(self.weights),
            "position_weights": list(self.position_weights),
            "position_ctr": list(self.position_ctr),
            "smoothing": self.smoothing,
            "n_train": self.n_train,
            "group_log_coec": dict(self.group_log_coec),
            "campaign_log_coec": dict(self.campaign_log_coec),
            "meta": dict(meta or {}),
        }

    def save(self, path: str | os.PathLike[str], *, meta: Mapping[str, Any] | None = None) -> Path:
        """Write the model to ``path`` atomically (temporary file in the same folder, then rename).

        Atomic because the serving process polls the file: it must see the old model or the new
        one, never half a file. NaN or infinite parameters raise ``ValueError`` before anything is
        written (JSON has no such numbers, and such a model would score garbage).
        """
        target = Path(path)
        text = json.dumps(self.to_json(meta), allow_nan=False, separators=(",", ":"))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def from_json(cls, doc: Any, *, source: str = "<json>") -> PctrModel:
        """Validate and build a model from a parsed document; :class:`PctrModelFileError` if unusable."""
        if not isinstance(doc, dict):
            raise PctrModelFileError(f"{source}: not a pCTR model (expected a JSON object)")
        fmt = doc.get("format")
        if fmt != PCTR_FORMAT:
            raise PctrModelFileError(
                f"{source}: unsupported pCTR model format {fmt!r} (this server reads {PCTR_FORMAT!r}); "
                "retrain with `feedmix ads train-pctr`"
            )
        try:
            weights = {f: _finite(doc["weights"][f], f"weights.{f}") for f in FEATURES}
            position_weights = tuple(_finite(w, "position_weights") for w in doc["position_weights"])
            position_ctr = tuple(_finite(c, "position_ctr") for c in doc["position_ctr"])
            model = cls(
                intercept=_finite(doc["intercept"], "intercept"),
                weights=weights,
                position_weights=position_weights,
                position_ctr=position_ctr,
                group_log_coec=_float_map(doc["group_log_coec"], "group_log_coec"),
                campaign_log_coec=_float_map(doc["campaign_log_coec"], "campaign_log_coec"),
                n_train=int(doc["n_train"]),
                smoothing=_finite(doc.get("smoothing", 20.0), "smoothing"),
            )
        except KeyError as exc:
            raise PctrModelFileError(f"{source}: missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise PctrModelFileError(f"{source}: malformed pCTR model: {exc}") from None
        if not position_weights or position_weights[0] != 0.0:
            raise PctrModelFileError(f"{source}: position_weights must start with the reference 0.0")
        if len(position_ctr) != len(position_weights):
            raise PctrModelFileError(f"{source}: position_weights and position_ctr differ in length")
        return model

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PctrModel:
        """Read a model ``save`` wrote; :class:`PctrModelFileError` names the file and the problem."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PctrModelFileError(f"{path}: cannot read pCTR model: {exc}") from None
        try:
            doc = json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            raise PctrModelFileError(f"{path}: not valid JSON: {exc}") from None
        return cls.from_json(doc, source=str(path))


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name}: not finite")
    return out


def _float_map(value: Any, name: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise TypeError(f"{name}: expected an object")
    return {str(k): _finite(v, f"{name}[{k!r}]") for k, v in value.items()}
