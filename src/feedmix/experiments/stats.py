"""The statistics of online experiments (A/B tests), as pure functions over per-unit arrays.

The comparisons take one value per randomisation unit (a user), so that the variance they report is
the variance across the units that were actually randomised: events of one user are correlated, and
treating them as independent makes every interval too narrow. All work is vectorised over units.

Each comparison returns an `Estimate`, so the analysis layer renders any metric the same way.

Methods, and where they come from:

* difference of means with the Welch (unpooled) standard error and a normal reference distribution;
  relative difference by the delta method;
* ratio metrics whose unit of analysis is not the unit of randomisation (CTR = clicks / impressions
  with users randomised) by the delta method: Deng, Knoblich, Lu (2018), "Applying the Delta Method
  in Metric Analytics: A Practical Guide with Novel Ideas", KDD;
* CUPED variance reduction with a pre-experiment covariate: Deng, Xu, Kohavi, Walker (2013),
  "Improving the Sensitivity of Online Controlled Experiments by Utilizing Pre-Experiment Data", WSDM;
* sample ratio mismatch as a chi-square goodness-of-fit test: Fabijan et al. (2019), "Diagnosing
  Sample Ratio Mismatch in Online Controlled Experiments", KDD;
* always-valid inference for continuous monitoring, the normal-mixture mSPRT confidence sequence:
  Johari, Koomen, Pekelis, Walsh (2017), "Peeking at A/B Tests", KDD; Johari, Pekelis, Walsh (2022),
  "Always Valid Inference: Continuous Monitoring of A/B Tests", Operations Research; Howard, Ramdas,
  McAuliffe, Sekhon (2021), "Time-uniform, nonparametric, nonasymptotic confidence sequences",
  Annals of Statistics;
* false discovery rate over many metrics: Benjamini, Hochberg (1995), "Controlling the False
  Discovery Rate", JRSS B;
* quantiles (p99 latency guardrails) by the percentile bootstrap: Efron, Tibshirani (1993), "An
  Introduction to the Bootstrap".

The fixed-horizon intervals use the normal distribution rather than Student's t: experiments have
thousands of units per arm, where the two differ by far less than the noise in the variance estimate,
and the normal needs no Welch-Satterthwaite degrees of freedom, which have no standard form for
delta-method variances; one reference distribution then serves every metric.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import overload

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: bootstrap indices drawn at once (32 MiB of int64): bounds memory whatever n and n_boot are
_BOOT_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True, slots=True)
class Estimate:
    """A treatment-versus-control comparison of one metric, in the one shape every report renders.

    ``diff`` is treatment minus control, in the metric's units. The relative fields are
    treatment / control - 1 and are None where the control level is 0: a relative change of nothing
    is undefined. ``alpha`` travels with the interval so a report can label it ("95% CI").
    """

    diff: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    alpha: float
    n_treatment: int
    n_control: int
    relative_diff: float | None = None
    relative_ci_low: float | None = None
    relative_ci_high: float | None = None

    def as_dict(self) -> dict[str, float | int | None]:
        """Plain fields, for JSON responses and stored reports."""
        return asdict(self)


@dataclass(frozen=True, slots=True, eq=False)
class CupedResult:
    """CUPED-adjusted values per arm, kept so other analyses (quantiles, segments) can reuse them."""

    treatment: FloatArray
    control: FloatArray
    theta: float
    #: 1 - var(adjusted) / var(raw), within arms: the fraction of variance (and of sample size) saved
    variance_reduction: float
    estimate: Estimate


@dataclass(frozen=True, slots=True)
class SrmResult:
    """Chi-square goodness of fit of the observed arm sizes to the configured split."""

    statistic: float
    p_value: float
    alarm: bool


def _units(values: npt.ArrayLike, name: str) -> FloatArray:
    """Per-unit values as float64; a variance needs two units and NaN would poison every sum."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"{name}: need a 1-D array of at least 2 units, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: values must be finite")
    return arr


def _check_alpha(alpha: float) -> None:
    """Fail before any work: alpha outside (0, 1) would give infinite or NaN intervals."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


@lru_cache(maxsize=32)
def _z(alpha: float) -> float:
    """Two-sided normal critical value; cached because A/A simulations ask for it thousands of times."""
    _check_alpha(alpha)
    return float(stats.norm.ppf(1.0 - alpha / 2.0))


def _two_sided_p(diff: float, se: float) -> float:
    """Normal two-sided p-value; a zero standard error (constant arms) makes any difference certain."""
    if se > 0.0:
        return float(2.0 * stats.norm.sf(abs(diff) / se))
    return 1.0 if diff == 0.0 else 0.0


def _relative(
    level_t: float, var_t: float, level_c: float, var_c: float, z: float
) -> tuple[float | None, float | None, float | None]:
    """Relative change and its CI by the delta method, Var(a/b) ~ Var(a)/b^2 + a^2 Var(b)/b^4.

    Relative changes are what product teams compare across metrics of different units; the arms are
    independent, so the covariance term of the general delta method vanishes.
    """
    if level_c == 0.0:
        return None, None, None
    ratio = level_t / level_c
    # the same formula, arranged so no power of a small control level underflows to 0
    se = math.sqrt(var_t + ratio * ratio * var_c) / abs(level_c)
    rel = ratio - 1.0
    return rel, rel - z * se, rel + z * se


def _compare(
    level_t: float, var_t: float, n_t: int, level_c: float, var_c: float, n_c: int, alpha: float
) -> Estimate:
    """Normal-theory comparison of two independent arm-level estimates with their sampling variances.

    Every metric type reduces to this once it has a level and a variance per arm, which is why they
    all render the same way.
    """
    z = _z(alpha)
    diff = level_t - level_c
    se = math.sqrt(var_t + var_c)
    rel, rel_low, rel_high = _relative(level_t, var_t, level_c, var_c, z)
    return Estimate(
        diff=diff,
        se=se,
        ci_low=diff - z * se,
        ci_high=diff + z * se,
        p_value=_two_sided_p(diff, se),
        alpha=alpha,
        n_treatment=n_t,
        n_control=n_c,
        relative_diff=rel,
        relative_ci_low=rel_low,
        relative_ci_high=rel_high,
    )


def mean_difference(treatment: npt.ArrayLike, control: npt.ArrayLike, alpha: float = 0.05) -> Estimate:
    """Difference of per-unit means with the Welch standard error.

    Welch (unpooled) because a treatment can change the spread as well as the mean, and arms need not
    be the same size; pooling would then misstate the variance.
    """
    t = _units(treatment, "treatment")
    c = _units(control, "control")
    return _compare(
        float(t.mean()),
        float(t.var(ddof=1)) / t.size,
        t.size,
        float(c.mean()),
        float(c.var(ddof=1)) / c.size,
        c.size,
        alpha,
    )


def _ratio(num: FloatArray, den: FloatArray) -> tuple[float, float]:
    """Ratio of sums and its delta-method variance (Deng et al. 2018), from per-unit sums.

    The ratio sum(num) / sum(den) = mean(num) / mean(den) is a smooth function of two per-unit means,
    so its variance is that of the linearised per-unit residual (num - R den) / mean(den) over n:
    the same as Var(num)/mu_d^2 - 2 R Cov(num, den)/mu_d^2 + R^2 Var(den)/mu_d^2, with the covariance
    that a per-event (binomial) variance would ignore. Units with a zero denominator count as units.
    """
    mean_den = float(den.mean())
    if mean_den == 0.0:
        raise ValueError("ratio metric: the denominators of an arm sum to 0")
    ratio = float(num.sum() / den.sum())
    residual = (num - ratio * den) / mean_den
    return ratio, float(residual.var(ddof=1)) / num.size


def ratio_difference(
    num_t: npt.ArrayLike,
    den_t: npt.ArrayLike,
    num_c: npt.ArrayLike,
    den_c: npt.ArrayLike,
    alpha: float = 0.05,
) -> Estimate:
    """Difference of ratio metrics (sum num / sum den per arm) whose numerator and denominator are
    summed per randomisation unit, e.g. a user's clicks and impressions for CTR.

    Impressions of one user are correlated, so the unit of variance must be the user, not the
    impression; a user with no impressions contributes 0 to both sums and still counts in n.
    """
    nt, dt = _units(num_t, "num_t"), _units(den_t, "den_t")
    nc, dc = _units(num_c, "num_c"), _units(den_c, "den_c")
    if nt.shape != dt.shape or nc.shape != dc.shape:
        raise ValueError("ratio metric: numerator and denominator need one value per unit each")
    ratio_t, var_t = _ratio(nt, dt)
    ratio_c, var_c = _ratio(nc, dc)
    return _compare(ratio_t, var_t, nt.size, ratio_c, var_c, nc.size, alpha)


def cuped(
    y_t: npt.ArrayLike,
    x_t: npt.ArrayLike,
    y_c: npt.ArrayLike,
    x_c: npt.ArrayLike,
    alpha: float = 0.05,
) -> CupedResult:
    """CUPED: subtract from each unit's metric the part its pre-experiment covariate predicts.

    The covariate (usually the same metric in the weeks before the experiment) cannot be affected by
    the treatment, so y - theta (x - mean_x) has the same expected difference between arms and a
    variance smaller by the factor 1 - corr(y, x)^2: the same power with that much less traffic.

    theta = cov(y, x) / var(x) is estimated once from both arms together, so both arms get the same
    adjustment, with moments taken within arms: a treatment effect shifts the mean of y in one arm,
    and centring on the pooled mean would leak it into cov(y, x) through any chance imbalance of x.
    The centring constant mean_x is the pooled mean of x, the same for both arms, so the adjustment
    has expectation zero in each arm. A covariate without variation within the arms predicts
    nothing: theta is 0 and the values are returned unchanged.
    """
    yt, xt = _units(y_t, "y_t"), _units(x_t, "x_t")
    yc, xc = _units(y_c, "y_c"), _units(x_c, "x_c")
    if yt.shape != xt.shape or yc.shape != xc.shape:
        raise ValueError("cuped: the metric and the covariate need one value per unit each")
    dxt, dxc = xt - xt.mean(), xc - xc.mean()
    dyt, dyc = yt - yt.mean(), yc - yc.mean()
    # ptp, not a small s_xx: a constant column's deviations can be rounding noise, not exact zeros
    degenerate = np.ptp(xt) == 0.0 and np.ptp(xc) == 0.0
    theta = 0.0 if degenerate else float((dxt @ dyt + dxc @ dyc) / (dxt @ dxt + dxc @ dxc))
    x_mean = float(np.concatenate([xt, xc]).mean())
    adj_t = yt - theta * (xt - x_mean)
    adj_c = yc - theta * (xc - x_mean)
    ss_y = float(dyt @ dyt + dyc @ dyc)
    # summed exactly as ss_y is (dot products), so theta = 0 gives a reduction of exactly 0 whatever
    # the machine's SIMD summation order (a CI machine with other vector units saw 1e-16)
    at, ac = adj_t - adj_t.mean(), adj_c - adj_c.mean()
    ss_adj = float(at @ at + ac @ ac)
    reduction = 1.0 - ss_adj / ss_y if ss_y > 0.0 else 0.0
    return CupedResult(
        treatment=adj_t,
        control=adj_c,
        theta=theta,
        variance_reduction=reduction,
        estimate=mean_difference(adj_t, adj_c, alpha),
    )


def srm(
    observed_counts: npt.ArrayLike, expected_weights: npt.ArrayLike, threshold: float = 0.001
) -> SrmResult:
    """Sample ratio mismatch: are the arm sizes consistent with the configured traffic split?

    A mismatch means assignment or logging is broken (a redirect losing users, a bot filter that
    reacts to the treatment), and then every metric of the experiment is suspect. The threshold is
    strict (0.001) because the check runs on every experiment every day, so false alarms would pile
    up, while real mismatches at experiment sizes give p-values many orders of magnitude smaller.
    """
    counts = np.asarray(observed_counts, dtype=np.float64)
    weights = np.asarray(expected_weights, dtype=np.float64)
    if counts.ndim != 1 or counts.size < 2 or counts.shape != weights.shape:
        raise ValueError("srm: need one observed count and one expected weight per arm, at least 2 arms")
    if (counts < 0).any() or counts.sum() <= 0 or not (weights > 0).all():
        raise ValueError("srm: counts must be non-negative with a positive total; weights positive")
    expected = counts.sum() * weights / weights.sum()
    statistic = float(np.sum((counts - expected) ** 2 / expected))
    p_value = float(stats.chi2.sf(statistic, df=counts.size - 1))
    return SrmResult(statistic=statistic, p_value=p_value, alarm=p_value < threshold)


def _mixture_variances(se: FloatArray, tau: float) -> FloatArray:
    """V = se^2, after the checks the mixture formulas need (they divide by V and by tau)."""
    if not tau > 0.0:
        raise ValueError(f"tau must be positive, got {tau}")
    if not (se > 0.0).all():
        raise ValueError("always-valid inference needs positive standard errors")
    return se**2


@overload
def always_valid_interval(
    estimate: float, se: float, alpha: float = ..., *, tau: float
) -> tuple[float, float]: ...
@overload
def always_valid_interval(
    estimate: FloatArray, se: FloatArray | float, alpha: float = ..., *, tau: float
) -> tuple[FloatArray, FloatArray]: ...
def always_valid_interval(
    estimate: float | FloatArray, se: float | FloatArray, alpha: float = 0.05, *, tau: float
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """Confidence sequence: an interval that may be looked at after every day and still covers.

    A fixed-horizon 95% interval checked on 14 days excludes a true null far more than 5% of the
    time, because each look is another chance. This is the normal-mixture mSPRT: the set of effects
    whose mixture likelihood ratio (over effects ~ N(0, tau^2)) stays below 1/alpha, valid at any
    data-dependent stopping time; its half-width is

        sqrt( V (V + tau^2) / tau^2 * ( 2 ln(1/alpha) + ln((V + tau^2) / V) ) ),  V = se^2,

    always wider than the fixed-horizon z se. It is exact for Gaussian estimates with known variance
    and holds asymptotically for means of thousands of units with estimated variance.

    ``tau`` is fixed before the experiment, in the metric's units, on the scale of the effect you
    expect or care to detect (the planned minimum detectable effect): the interval is narrowest near
    the look whose se is on that order, wider before (small tau) or after (large tau). Any fixed tau
    gives valid coverage; choosing it from the experiment's own data does not.

    Vectorised over looks (arrays of estimates and se): the intersection of the intervals up to now,
    ``np.maximum.accumulate(low)`` and ``np.minimum.accumulate(high)``, is valid too and never widens.
    """
    _check_alpha(alpha)
    est = np.asarray(estimate, dtype=np.float64)
    v = _mixture_variances(np.asarray(se, dtype=np.float64), tau)
    tau2 = tau * tau
    half = np.sqrt(v * (1.0 + v / tau2) * (2.0 * math.log(1.0 / alpha) + np.log1p(tau2 / v)))
    low, high = est - half, est + half
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


@overload
def always_valid_p_value(estimate: float, se: float, *, tau: float) -> float: ...
@overload
def always_valid_p_value(estimate: FloatArray, se: FloatArray | float, *, tau: float) -> FloatArray: ...
def always_valid_p_value(
    estimate: float | FloatArray, se: float | FloatArray, *, tau: float
) -> float | FloatArray:
    """Always-valid p-value min(1, 1 / Lambda), Lambda the normal-mixture likelihood ratio against 0:

        Lambda = sqrt(V / (V + tau^2)) exp( tau^2 est^2 / (2 V (V + tau^2)) ).

    By Ville's inequality P(sup over looks of Lambda >= 1/alpha) <= alpha under the null, so
    stopping whenever p < alpha keeps the false-positive rate at alpha, and p < alpha exactly when 0
    is outside `always_valid_interval` at the same look. Over a sequence of looks report the running
    minimum, ``np.minimum.accumulate(p)``; tau is chosen as for the interval.
    """
    est = np.asarray(estimate, dtype=np.float64)
    v = _mixture_variances(np.asarray(se, dtype=np.float64), tau)
    tau2 = tau * tau
    log_lambda = -0.5 * np.log1p(tau2 / v) + tau2 * est**2 / (2.0 * v * (v + tau2))
    # exp of a non-positive number: 1/Lambda above 1 is capped anyway, and it cannot overflow
    p = np.exp(np.minimum(-log_lambda, 0.0))
    if p.ndim == 0:
        return float(p)
    return p


def benjamini_hochberg(p_values: npt.ArrayLike, q: float = 0.05) -> tuple[FloatArray, BoolArray]:
    """BH-adjusted p-values and the rejections at false discovery rate q, in the input order.

    An experiment reads dozens of metrics; at 5% each, some move by chance in every experiment. BH
    bounds the expected share of false discoveries among the metrics declared moved, which costs far
    less power than Bonferroni's bound on any false discovery. The adjusted p-value of the i-th
    smallest of m is min over j >= i of p_(j) m / j (the step-up), capped at 1; a metric is rejected
    when its adjusted p-value is at most q.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("benjamini_hochberg: need a 1-D array of p-values")
    if not ((p >= 0.0) & (p <= 1.0)).all():
        raise ValueError("benjamini_hochberg: p-values must be in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    # m / rank first: it is exactly 1 at rank m and above 1 before, so rounding never takes p below p
    scaled = p[order] * (m / np.arange(1, m + 1))
    adjusted_sorted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    adjusted = np.empty_like(p)
    adjusted[order] = adjusted_sorted
    return adjusted, adjusted <= q


def _bootstrap_quantiles(values: FloatArray, q: float, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """The q-quantile of n_boot resamples, drawn in chunks so memory stays bounded for any n."""
    rows = max(1, _BOOT_CHUNK_ELEMENTS // values.size)
    out = np.empty(n_boot, dtype=np.float64)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        idx = rng.integers(0, values.size, size=(stop - start, values.size))
        out[start:stop] = np.quantile(values[idx], q, axis=1)
    return out


def quantile_difference(
    treatment: npt.ArrayLike,
    control: npt.ArrayLike,
    q: float = 0.99,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int | None = 0,
) -> Estimate:
    """Difference of the q-quantile (p99 latency guardrail) with a percentile-bootstrap CI.

    A quantile has no simple variance formula that holds in the tail, so the arms are resampled
    independently. The CI is the alpha/2 and 1 - alpha/2 percentiles of the bootstrap differences;
    the p-value is the matching two-sided bootstrap one (twice the smaller share of differences on
    either side of 0, with the +1 correction so it is never 0), so p < alpha about when the CI
    excludes 0; se is the bootstrap standard deviation. The fixed default seed makes a report
    reproducible from its data.

    Values are resampled one by one, so they should be independent: one per unit (a user's own
    p99), or per-request values only where a user contributes few requests; otherwise the interval is
    too narrow. A tail of a handful of points makes any bootstrap unreliable: at q = 0.99 each arm
    wants a few thousand values.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q}")
    if n_boot < 2:
        raise ValueError("quantile_difference: need at least 2 bootstrap resamples")
    _check_alpha(alpha)
    t = _units(treatment, "treatment")
    c = _units(control, "control")
    rng = np.random.default_rng(seed)
    q_t, q_c = float(np.quantile(t, q)), float(np.quantile(c, q))
    boot_t = _bootstrap_quantiles(t, q, n_boot, rng)
    boot_c = _bootstrap_quantiles(c, q, n_boot, rng)
    return _bootstrap_estimate(q_t, q_c, boot_t, boot_c, alpha, t.size, c.size)


def _bootstrap_estimate(
    q_t: float, q_c: float, boot_t: FloatArray, boot_c: FloatArray, alpha: float, n_t: int, n_c: int
) -> Estimate:
    """The comparison from two arms' bootstrap replicates: percentile CI of the differences, the
    matching two-sided bootstrap p-value (+1 corrected, never 0), and the relative change's CI."""
    diffs = boot_t - boot_c
    levels = [alpha / 2.0, 1.0 - alpha / 2.0]
    ci_low, ci_high = np.quantile(diffs, levels)
    tail = min(int(np.count_nonzero(diffs <= 0.0)), int(np.count_nonzero(diffs >= 0.0)))
    rel: float | None = None
    rel_low: float | None = None
    rel_high: float | None = None
    if q_c != 0.0 and (boot_c != 0.0).all():
        rel = q_t / q_c - 1.0
        rel_low, rel_high = (float(v) for v in np.quantile(boot_t / boot_c - 1.0, levels))
    return Estimate(
        diff=q_t - q_c,
        se=float(diffs.std(ddof=1)),
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        p_value=min(1.0, 2.0 * (tail + 1) / (len(diffs) + 1)),
        alpha=alpha,
        n_treatment=n_t,
        n_control=n_c,
        relative_diff=rel,
        relative_ci_low=rel_low,
        relative_ci_high=rel_high,
    )


def proportion_difference(
    events_t: int, trials_t: int, events_c: int, trials_c: int, alpha: float = 0.05
) -> Estimate:
    """Difference of two rates (the error rate of requests per arm) with the normal interval.

    Guardrails on requests count in the serving process, where keeping every request is too much and a
    count per arm is all there is; each arm's rate then has the binomial variance p (1 - p) / n.
    """
    if trials_t < 1 or trials_c < 1:
        raise ValueError("proportion_difference: each arm needs at least one trial")
    if not (0 <= events_t <= trials_t and 0 <= events_c <= trials_c):
        raise ValueError("proportion_difference: events must be between 0 and the trials")
    p_t, p_c = events_t / trials_t, events_c / trials_c
    return _compare(
        p_t, p_t * (1 - p_t) / trials_t, trials_t, p_c, p_c * (1 - p_c) / trials_c, trials_c, alpha
    )


def histogram_quantile(counts: npt.ArrayLike, values: npt.ArrayLike, q: float) -> FloatArray:
    """The q-quantile of samples given as counts per bucket (last axis), each bucket standing for one
    value: the value of the first bucket whose cumulative count reaches q of the total."""
    c = np.asarray(counts, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    cum = np.cumsum(c, axis=-1)
    target = q * cum[..., -1:]
    idx = np.minimum((cum < target).sum(axis=-1), v.size - 1)
    return np.asarray(v[idx], dtype=np.float64)


def histogram_quantile_difference(
    counts_t: npt.ArrayLike,
    counts_c: npt.ArrayLike,
    values: npt.ArrayLike,
    q: float = 0.99,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int | None = 0,
) -> Estimate:
    """Difference of the q-quantile of two arms kept as latency histograms, with a bootstrap CI.

    A serving process cannot keep every request's latency for every variant, but a histogram with
    buckets a few percent wide is cheap to keep and to add across processes; resampling an arm is then
    a multinomial draw over its buckets, which is the same bootstrap as resampling the requests (and
    has the same caveat as ``quantile_difference``: requests of one user are not independent, so the
    interval is somewhat too narrow). Resolution is the bucket width.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q}")
    _check_alpha(alpha)
    ct, cc = np.asarray(counts_t, dtype=np.int64), np.asarray(counts_c, dtype=np.int64)
    n_t, n_c = int(ct.sum()), int(cc.sum())
    if n_t < 1 or n_c < 1:
        raise ValueError("histogram_quantile_difference: each arm needs at least one sample")
    rng = np.random.default_rng(seed)
    boot_t = histogram_quantile(rng.multinomial(n_t, ct / n_t, size=n_boot), values, q)
    boot_c = histogram_quantile(rng.multinomial(n_c, cc / n_c, size=n_boot), values, q)
    q_t, q_c = float(histogram_quantile(ct, values, q)), float(histogram_quantile(cc, values, q))
    return _bootstrap_estimate(q_t, q_c, boot_t, boot_c, alpha, n_t, n_c)
