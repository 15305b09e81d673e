"""Experiment statistics: agreement with scipy where scipy has the test, seeded A/A simulations for
the false-positive rates (fixed horizon and with daily peeking), and hypothesis for the invariants."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats as sps

from feedmix.experiments.stats import (
    Estimate,
    always_valid_interval,
    always_valid_p_value,
    benjamini_hochberg,
    cuped,
    mean_difference,
    quantile_difference,
    ratio_difference,
    srm,
)

FloatArray = npt.NDArray[np.float64]
N_AA = 2000
#: a fair rejection rate of 0.05 over 2,000 A/A runs lands here with probability about 0.998
AA_BAND = (0.035, 0.065)
#: derandomized: the same examples on every run, so a failure reproduces and CI never flakes
PROPERTIES = settings(deadline=None, max_examples=100, derandomize=True)

values = hnp.arrays(
    np.float64,
    st.integers(2, 60),
    elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
)
counts = hnp.arrays(np.int64, st.integers(2, 60), elements=st.integers(0, 20))


def _covers(est: Estimate, value: float) -> bool:
    return bool(est.ci_low <= value <= est.ci_high)


# -- mean difference --------------------------------------------------------------------------------


def test_mean_difference_matches_welch_t_test_at_experiment_sizes() -> None:
    rng = np.random.default_rng(1)
    t = rng.lognormal(0.05, 1.0, 5000)
    c = rng.lognormal(0.0, 1.2, 4000)
    est = mean_difference(t, c)
    welch = sps.ttest_ind(t, c, equal_var=False)
    assert est.p_value == pytest.approx(float(welch.pvalue), abs=2e-3)
    assert est.diff == pytest.approx(t.mean() - c.mean())
    assert (est.n_treatment, est.n_control) == (5000, 4000)
    assert est.relative_diff == pytest.approx(t.mean() / c.mean() - 1.0)
    assert est.relative_ci_low is not None and est.relative_ci_high is not None
    assert est.relative_ci_low < est.relative_diff < est.relative_ci_high


def test_relative_difference_is_undefined_against_a_zero_control_mean() -> None:
    est = mean_difference([1.0, 2.0, 3.0], [-1.0, 0.0, 1.0])
    assert est.relative_diff is None and est.relative_ci_low is None and est.relative_ci_high is None
    assert est.as_dict()["relative_diff"] is None
    assert est.as_dict()["diff"] == pytest.approx(2.0)


@PROPERTIES
@given(values, values)
def test_mean_difference_ci_covers_diff_and_swapping_arms_negates_it(t: FloatArray, c: FloatArray) -> None:
    est = mean_difference(t, c)
    swapped = mean_difference(c, t)
    assert _covers(est, est.diff)
    assert swapped.diff == -est.diff
    assert swapped.se == est.se
    assert swapped.p_value == est.p_value
    assert (swapped.ci_low, swapped.ci_high) == (-est.ci_high, -est.ci_low)


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        mean_difference([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        mean_difference([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError):
        mean_difference([1.0, 2.0], [1.0, 2.0], alpha=1.5)
    with pytest.raises(ValueError):
        ratio_difference([1.0, 2.0], [0.0, 0.0], [1.0, 2.0], [1.0, 1.0])


# -- ratio metrics ----------------------------------------------------------------------------------


@PROPERTIES
@given(counts, counts)
def test_ratio_with_unit_denominators_is_the_mean_difference(t: FloatArray, c: FloatArray) -> None:
    ratio = ratio_difference(t, np.ones(t.size), c, np.ones(c.size))
    mean = mean_difference(t, c)
    for field in ("diff", "se", "ci_low", "ci_high", "p_value"):
        assert getattr(ratio, field) == pytest.approx(getattr(mean, field), rel=1e-9, abs=1e-12)


def _users(rng: np.random.Generator, n: int, ctr: float = 0.05) -> tuple[FloatArray, FloatArray]:
    """Clicks and impressions per user: users differ in activity and in propensity to click, so a
    user's impressions are correlated (the reason the user is the unit of variance), and some
    users see no impression at all."""
    impressions = rng.poisson(rng.gamma(2.0, 3.0, n))
    propensity = rng.beta(2.0, 2.0 / ctr - 2.0, n)
    clicks = rng.binomial(impressions, propensity)
    return clicks.astype(np.float64), impressions.astype(np.float64)


def test_delta_method_variance_matches_the_user_bootstrap() -> None:
    rng = np.random.default_rng(7)
    num_t, den_t = _users(rng, 3000, ctr=0.06)
    num_c, den_c = _users(rng, 3000)
    assert (den_t == 0).any()
    est = ratio_difference(num_t, den_t, num_c, den_c)
    assert est.diff == pytest.approx(num_t.sum() / den_t.sum() - num_c.sum() / den_c.sum())
    boots = []
    for _ in range(4):  # 4 x 500 resamples of users, in chunks to keep memory small
        it = rng.integers(0, 3000, (500, 3000))
        ic = rng.integers(0, 3000, (500, 3000))
        boots.append(num_t[it].sum(1) / den_t[it].sum(1) - num_c[ic].sum(1) / den_c[ic].sum(1))
    boot_se = np.concatenate(boots).std(ddof=1)
    assert est.se == pytest.approx(boot_se, rel=0.08)


# -- A/A false-positive rates -----------------------------------------------------------------------


def test_aa_false_positive_rate_of_mean_difference_on_skewed_data() -> None:
    rng = np.random.default_rng(11)
    t = rng.lognormal(0.0, 1.0, (N_AA, 1000))
    c = rng.lognormal(0.0, 1.0, (N_AA, 1000))
    rate = np.mean([mean_difference(t[i], c[i]).p_value < 0.05 for i in range(N_AA)])
    assert AA_BAND[0] <= rate <= AA_BAND[1]


def test_aa_false_positive_rate_of_ratio_difference() -> None:
    rng = np.random.default_rng(12)
    rejections = 0
    for _ in range(N_AA):
        num_t, den_t = _users(rng, 500)
        num_c, den_c = _users(rng, 500)
        rejections += int(ratio_difference(num_t, den_t, num_c, den_c).p_value < 0.05)
    assert AA_BAND[0] <= rejections / N_AA <= AA_BAND[1]


def _daily_looks(y_t: FloatArray, y_c: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Welch diff and se at the end of each day (runs x days) from cumulative sums over the days of
    per-unit values shaped runs x days x units per day: a daily dashboard over a growing sample."""
    levels, variances = [], []
    for y in (y_t, y_c):
        n = y.shape[2] * np.arange(1, y.shape[1] + 1)
        mean = y.sum(axis=2).cumsum(axis=1) / n
        ss = (y**2).sum(axis=2).cumsum(axis=1)
        levels.append(mean)
        variances.append((ss - n * mean**2) / (n - 1) / n)
    return levels[0] - levels[1], np.sqrt(variances[0] + variances[1])


def test_always_valid_interval_survives_daily_peeking_where_the_fixed_one_does_not() -> None:
    rng = np.random.default_rng(13)
    y_t, y_c = rng.poisson(1.0, (2, N_AA, 14, 100)).astype(np.float64)  # engagement counts, A/A
    diff, se = _daily_looks(y_t, y_c)
    for day in (0, 6, 13):  # the vectorised looks are mean_difference on the data seen so far
        look = mean_difference(y_t[0, : day + 1].ravel(), y_c[0, : day + 1].ravel())
        assert (diff[0, day], se[0, day]) == pytest.approx((look.diff, look.se), rel=1e-9)

    z = sps.norm.ppf(0.975)
    naive_fpr = np.mean((np.abs(diff) > z * se).any(axis=1))
    low, high = always_valid_interval(diff, se, 0.05, tau=0.1)
    assert ((high - low) / 2 > z * se).all()
    av_fpr = np.mean(((low > 0) | (high < 0)).any(axis=1))
    p_fpr = np.mean((always_valid_p_value(diff, se, tau=0.1) < 0.05).any(axis=1))
    assert naive_fpr > 0.10  # 14 looks at 5% each: the reason for the always-valid interval
    assert av_fpr < 0.05
    assert p_fpr == pytest.approx(av_fpr, abs=1 / N_AA)  # the p-value and the interval agree


@PROPERTIES
@given(
    st.floats(-10.0, 10.0),
    st.floats(1e-3, 10.0),
    st.floats(1e-3, 10.0),
    st.floats(1e-3, 0.2),
)
def test_always_valid_interval_is_wider_than_fixed_and_dual_to_its_p_value(
    estimate: float, se: float, tau: float, alpha: float
) -> None:
    low, high = always_valid_interval(estimate, se, alpha, tau=tau)
    half = (high - low) / 2
    assert half > sps.norm.ppf(1 - alpha / 2) * se
    p = always_valid_p_value(estimate, se, tau=tau)
    assert 0.0 <= p <= 1.0
    if abs(abs(estimate) - half) > 1e-6 * half:
        assert (p < alpha) == (not low <= 0.0 <= high)


def test_always_valid_p_value_is_alpha_on_the_interval_boundary() -> None:
    low, high = always_valid_interval(0.0, 0.02, 0.05, tau=0.05)
    assert low == pytest.approx(-high)
    assert always_valid_p_value(high, 0.02, tau=0.05) == pytest.approx(0.05)
    assert always_valid_p_value(0.0, 0.02, tau=0.05) == 1.0
    with pytest.raises(ValueError):
        always_valid_interval(0.0, 0.0, tau=0.05)


# -- CUPED ------------------------------------------------------------------------------------------


def test_cuped_reduces_variance_by_the_squared_correlation() -> None:
    rng = np.random.default_rng(21)
    x_t, x_c = rng.normal(0, 1, 5000), rng.normal(0, 1, 5000)
    y_t = x_t + rng.normal(0, 0.5, 5000) + 0.05
    y_c = x_c + rng.normal(0, 0.5, 5000)
    res = cuped(y_t, x_t, y_c, x_c)
    assert res.variance_reduction == pytest.approx(1 / 1.25, abs=0.02)  # corr^2 = var x / var y
    assert res.theta == pytest.approx(1.0, abs=0.03)
    raw = mean_difference(y_t, y_c)
    assert res.estimate.se < 0.5 * raw.se
    assert _covers(res.estimate, 0.05)


def test_cuped_with_an_unrelated_covariate_changes_nothing_on_average() -> None:
    reductions, effects = [], []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        x_t, x_c = rng.normal(0, 1, 1000), rng.normal(0, 1, 1000)
        y_t, y_c = rng.exponential(1.0, 1000) + 0.1, rng.exponential(1.0, 1000)
        res = cuped(y_t, x_t, y_c, x_c)
        reductions.append(res.variance_reduction)
        effects.append(res.estimate.diff)
    assert -1e-12 <= np.mean(reductions) < 0.005
    assert np.mean(effects) == pytest.approx(0.1, abs=3 * np.sqrt(2 / 1000 / 200))


def test_cuped_is_unbiased_with_a_correlated_covariate() -> None:
    effects = []
    for seed in range(200):
        rng = np.random.default_rng(1000 + seed)
        x_t, x_c = rng.gamma(2.0, 1.0, 1000), rng.gamma(2.0, 1.0, 1000)
        y_t = 0.8 * x_t + rng.exponential(1.0, 1000) + 0.1
        y_c = 0.8 * x_c + rng.exponential(1.0, 1000)
        effects.append(cuped(y_t, x_t, y_c, x_c).estimate.diff)
    assert np.mean(effects) == pytest.approx(0.1, abs=3 * np.sqrt(2 / 1000 / 200))


def test_cuped_with_a_constant_covariate_is_a_no_op() -> None:
    rng = np.random.default_rng(3)
    y_t, y_c = rng.normal(1, 1, 100), rng.normal(0, 1, 100)
    res = cuped(y_t, np.full(100, 0.1), y_c, np.full(100, 0.1))
    assert res.theta == 0.0
    assert res.variance_reduction == 0.0
    np.testing.assert_array_equal(res.treatment, y_t)
    np.testing.assert_array_equal(res.control, y_c)
    assert res.estimate == mean_difference(y_t, y_c)


# -- sample ratio mismatch --------------------------------------------------------------------------


def test_srm_alarms_on_a_mismatch_only() -> None:
    fine = srm([50_000, 50_000], [0.5, 0.5])
    assert fine.statistic == 0.0 and fine.p_value == 1.0 and not fine.alarm
    broken = srm([50_000, 48_500], [0.5, 0.5])
    assert broken.alarm
    expected = sps.chisquare([50_000, 48_500]).pvalue
    assert broken.p_value == pytest.approx(float(expected), rel=1e-9)


def test_srm_matches_scipy_with_an_uneven_split() -> None:
    observed = np.array([10_100, 19_850, 70_050])
    weights = np.array([1.0, 2.0, 7.0])
    res = srm(observed, weights)
    ref = sps.chisquare(observed, observed.sum() * weights / weights.sum())
    assert res.statistic == pytest.approx(float(ref.statistic))
    assert res.p_value == pytest.approx(float(ref.pvalue))
    assert res.alarm == (res.p_value < 0.001)
    assert srm(observed, weights, threshold=0.9).alarm == (res.p_value < 0.9)


# -- Benjamini-Hochberg -----------------------------------------------------------------------------


def test_benjamini_hochberg_by_hand() -> None:
    p = np.array([0.039, 0.001, 0.205, 0.041, 0.008, 0.06, 0.042, 0.074])
    adjusted, reject = benjamini_hochberg(p, q=0.05)
    # sorted: .001 .008 .039 .041 .042 .06 .074 .205; times 8/rank: .008 .032 .104 .082 .0672 .08
    # .08457 .205; running minimum from the end: .008 .032 .0672 .0672 .0672 .08 .08457 .205
    by_hand = [0.0672, 0.008, 0.205, 0.0672, 0.032, 0.08, 0.0672, 0.074 * 8 / 7]
    np.testing.assert_allclose(adjusted, by_hand)
    np.testing.assert_array_equal(reject, [False, True, False, False, True, False, False, False])
    np.testing.assert_allclose(adjusted, sps.false_discovery_control(p))
    np.testing.assert_array_equal(benjamini_hochberg(p, q=0.07)[1], adjusted <= 0.07)


@PROPERTIES
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40), st.floats(0.001, 0.5))
def test_benjamini_hochberg_properties(raw: list[float], q: float) -> None:
    p = np.array(raw)
    adjusted, reject = benjamini_hochberg(p, q)
    assert (adjusted >= p).all() and (adjusted <= 1.0).all()
    order = np.argsort(p, kind="stable")
    assert (np.diff(adjusted[order]) >= 0).all()
    in_order = reject[order]
    assert not (~in_order[:-1] & in_order[1:]).any()  # no rejection after an acceptance
    # the textbook step-up: reject the k smallest, k the largest rank with p_(k) m / k <= q
    passing = (p[order] * (p.size / np.arange(1, p.size + 1)) <= q).nonzero()[0]
    assert reject.sum() == passing.max(initial=-1) + 1


# -- quantiles --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quantile_difference_ci_contains_the_estimate(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = rng.lognormal(3.0, 0.6, 3000) * 1.1
    c = rng.lognormal(3.0, 0.6, 3000)
    est = quantile_difference(t, c, q=0.99, n_boot=1000, seed=seed)
    assert est.diff == pytest.approx(np.quantile(t, 0.99) - np.quantile(c, 0.99))
    assert _covers(est, est.diff)
    rel, rel_low, rel_high = est.relative_diff, est.relative_ci_low, est.relative_ci_high
    assert rel is not None and rel_low is not None and rel_high is not None
    assert rel_low <= rel <= rel_high


def test_quantile_difference_of_identical_arms_covers_zero_and_is_reproducible() -> None:
    rng = np.random.default_rng(5)
    latency = rng.lognormal(3.0, 0.8, 4000)
    est = quantile_difference(latency, latency.copy(), n_boot=800, seed=9)
    assert est.diff == 0.0
    assert _covers(est, 0.0)
    assert est.p_value > 0.5
    assert quantile_difference(latency, latency.copy(), n_boot=800, seed=9) == est


def test_quantile_difference_sees_a_slower_tail() -> None:
    rng = np.random.default_rng(6)
    t = rng.lognormal(3.0, 0.6, 5000) * 1.3
    c = rng.lognormal(3.0, 0.6, 5000)
    est = quantile_difference(t, c, n_boot=1000)
    assert est.ci_low > 0 and est.p_value < 0.05


def test_proportion_difference_matches_the_bernoulli_means() -> None:
    from feedmix.experiments.stats import proportion_difference

    got = proportion_difference(30, 1000, 20, 1000)
    t = np.r_[np.ones(30), np.zeros(970)]
    c = np.r_[np.ones(20), np.zeros(980)]
    ref = mean_difference(t, c)
    assert got.diff == pytest.approx(0.01)
    assert got.se == pytest.approx(ref.se, rel=1e-3)
    with pytest.raises(ValueError):
        proportion_difference(5, 0, 1, 10)


def test_histogram_quantile_difference_finds_a_slower_arm() -> None:
    from feedmix.experiments.request_stats import EDGES_MS, VALUES_MS, bucket_of
    from feedmix.experiments.stats import histogram_quantile_difference

    rng = np.random.default_rng(3)

    def hist(scale: float) -> npt.NDArray[np.int64]:
        xs = rng.lognormal(np.log(scale), 0.5, 5000)
        return np.bincount([bucket_of(x) for x in xs], minlength=len(EDGES_MS))

    slower = histogram_quantile_difference(hist(12.0), hist(10.0), VALUES_MS)
    assert slower.diff > 0 and slower.ci_low > 0 and slower.p_value < 0.05
    same = histogram_quantile_difference(hist(10.0), hist(10.0), VALUES_MS)
    assert same.ci_low <= 0 <= same.ci_high
