"""Off-policy estimators of a policy's value (expected reward) from logged bandit feedback.

Each logged row i has the reward r_i of the action the logging policy took, that policy's
propensity pi_b(a_i|x_i), and the evaluation policy's probability pi_e(a_i|x_i) of the same action;
the importance weight w_i = pi_e/pi_b re-weights the log as if pi_e had chosen.

* IPS, mean(w r): unbiased when the propensities are right, but its variance grows with the weights.
* SNIPS, sum(w r) / sum(w): divides by the weights' own mean, which is 1 in expectation; a small
  bias for much less variance when a few large weights dominate, and immune to pi_e being off by a
  constant factor.
* DR, mean(E_{pi_e}[q] + w (r - q)): a reward model q is the baseline and the weights only correct
  its residuals, so the estimate is unbiased if either the propensities or the model are right, and
  its variance shrinks as the model improves (zero for a perfect model of deterministic rewards).
* DM, mean(E_{pi_e}[q]): the reward model alone, shown beside DR to tell what the model contributes.

Weights can be clipped at ``max_weight``: a cap bounds the variance a rare action can add, at the
price of a downward bias, so the default is no cap (``DEFAULT_MAX_WEIGHT``): an evaluation should
not be biased unless someone asked for it.

Confidence intervals are percentile bootstrap over logged rows. Every estimate is a ratio of sums
(``sum(num) / sum(den)``, ``den`` = 1 except for SNIPS), so one resampling routine serves all of them;
the same ``seed`` draws the same resamples for every estimator, which makes their intervals paired.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: no clipping: clipping buys variance with bias, which an evaluation should only pay when asked
DEFAULT_MAX_WEIGHT: float | None = None
DEFAULT_N_BOOT = 1000
DEFAULT_LEVEL = 0.95
#: resampled indices drawn at once (8 MiB of int64): bounds memory whatever ``n_boot * n`` is
BOOT_CHUNK_ENTRIES = 1 << 20


@dataclass(frozen=True)
class OPEResult:
    """One estimator's value with its percentile-bootstrap interval."""

    estimator: str
    estimate: float
    ci_low: float
    ci_high: float
    #: logged rows the estimate used
    n: int
    #: effective sample size of the importance weights, (sum w)^2 / sum w^2: how many rows the
    #: estimate is really worth (n when every weight is equal, 1 when one weight dominates)
    ess: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _column(name: str, values: npt.ArrayLike, n: int | None = None) -> FloatArray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if n is not None and a.size != n:
        raise ValueError(f"{name} has {a.size} values, expected {n} (one per logged row)")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} has NaN or infinite values")
    return a


def importance_weights(
    pscore: npt.ArrayLike, pi_e: npt.ArrayLike, max_weight: float | None = DEFAULT_MAX_WEIGHT
) -> FloatArray:
    """pi_e / pi_b per row, capped at ``max_weight`` (None: uncapped)."""
    p = _column("pscore", pscore)
    e = _column("pi_e", pi_e, p.size)
    if np.any((p <= 0) | (p > 1)):
        raise ValueError("pscore must be in (0, 1]: a logged action had a probability of being logged")
    if np.any((e < 0) | (e > 1)):
        raise ValueError("pi_e must be in [0, 1]")
    w = e / p
    if max_weight is None:
        return w
    if not max_weight > 0:
        raise ValueError(f"max_weight must be positive (or None for no clipping), got {max_weight}")
    return np.minimum(w, max_weight)


def effective_sample_size(weights: FloatArray) -> float:
    """(sum w)^2 / sum w^2; 0 when every weight is 0."""
    sq = float(np.dot(weights, weights))
    return float(weights.sum()) ** 2 / sq if sq > 0 else 0.0


def bootstrap_ratio_ci(
    num: FloatArray,
    den: FloatArray,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    level: float = DEFAULT_LEVEL,
) -> tuple[float, float]:
    """Percentile interval of ``sum(num) / sum(den)`` over ``n_boot`` resamples of the rows.

    Resamples whose ``den`` sums to 0 (SNIPS drawing only zero weights) have no value and are left
    out of the percentiles.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    n = num.size
    rng = np.random.default_rng(seed)
    per_chunk = max(1, BOOT_CHUNK_ENTRIES // n)
    stats = np.empty(n_boot)
    for start in range(0, n_boot, per_chunk):
        stop = min(n_boot, start + per_chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        top, bottom = num[idx].sum(axis=1), den[idx].sum(axis=1)
        stats[start:stop] = np.divide(top, bottom, out=np.full(top.size, np.nan), where=bottom != 0)
    if np.all(np.isnan(stats)):
        return float("nan"), float("nan")
    lo, hi = np.nanquantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _result(
    name: str, num: FloatArray, den: FloatArray, weights: FloatArray, n_boot: int, seed: int, level: float
) -> OPEResult:
    lo, hi = bootstrap_ratio_ci(num, den, n_boot=n_boot, seed=seed, level=level)
    return OPEResult(
        estimator=name,
        estimate=float(num.sum() / den.sum()),
        ci_low=lo,
        ci_high=hi,
        n=int(num.size),
        ess=effective_sample_size(weights),
    )


def ips(
    reward: npt.ArrayLike,
    pscore: npt.ArrayLike,
    pi_e: npt.ArrayLike,
    *,
    max_weight: float | None = DEFAULT_MAX_WEIGHT,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    level: float = DEFAULT_LEVEL,
) -> OPEResult:
    """Inverse propensity scoring: mean(w r)."""
    w = importance_weights(pscore, pi_e, max_weight)
    r = _column("reward", reward, w.size)
    return _result("ips", w * r, np.ones_like(w), w, n_boot, seed, level)


def snips(
    reward: npt.ArrayLike,
    pscore: npt.ArrayLike,
    pi_e: npt.ArrayLike,
    *,
    max_weight: float | None = DEFAULT_MAX_WEIGHT,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    level: float = DEFAULT_LEVEL,
) -> OPEResult:
    """Self-normalised IPS: sum(w r) / sum(w)."""
    w = importance_weights(pscore, pi_e, max_weight)
    r = _column("reward", reward, w.size)
    if not w.sum() > 0:
        raise ValueError("pi_e is 0 on every logged action: SNIPS has nothing to normalise by")
    return _result("snips", w * r, w, w, n_boot, seed, level)


def dr(
    reward: npt.ArrayLike,
    pscore: npt.ArrayLike,
    pi_e: npt.ArrayLike,
    q_logged: npt.ArrayLike,
    q_expected: npt.ArrayLike,
    *,
    max_weight: float | None = DEFAULT_MAX_WEIGHT,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    level: float = DEFAULT_LEVEL,
) -> OPEResult:
    """Doubly robust: mean(q_expected + w (r - q_logged)).

    ``q_logged`` is the reward model's prediction for the logged action, ``q_expected`` its
    expectation under pi_e, sum_a pi_e(a|x_i) q(x_i, a).
    """
    w = importance_weights(pscore, pi_e, max_weight)
    r = _column("reward", reward, w.size)
    q = _column("q_logged", q_logged, w.size)
    dm_part = _column("q_expected", q_expected, w.size)
    return _result("dr", dm_part + w * (r - q), np.ones_like(w), w, n_boot, seed, level)


def dm(
    q_expected: npt.ArrayLike,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    level: float = DEFAULT_LEVEL,
) -> OPEResult:
    """Direct method: mean(q_expected), the reward model's own estimate (no weights: ESS is n).

    The interval resamples rows, not the model's fit, so it leaves out the model's own error.
    """
    v = _column("q_expected", q_expected)
    ones = np.ones_like(v)
    return _result("dm", v, ones, ones, n_boot, seed, level)
