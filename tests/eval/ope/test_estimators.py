"""The estimators' defining properties, on synthetic logs where the right answer is known."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedmix.eval.ope import estimators
from feedmix.eval.ope.estimators import (
    dm,
    dr,
    effective_sample_size,
    importance_weights,
    ips,
    snips,
)

FloatArray = npt.NDArray[np.float64]

unit = st.floats(min_value=0.0, max_value=1.0)
propensity = st.floats(min_value=0.01, max_value=1.0)


@st.composite
def logs(draw: st.DrawFn, min_size: int = 1, max_size: int = 40) -> tuple[FloatArray, ...]:
    """reward, pscore, pi_e, q_logged, q_expected: one value per logged row."""
    n = draw(st.integers(min_size, max_size))
    cols = [unit, propensity, unit, unit, unit]
    return tuple(np.array(draw(st.lists(c, min_size=n, max_size=n))) for c in cols)


class Problem:
    """3 context types, 4 actions, Bernoulli rewards: logging and evaluation policies that disagree."""

    mu = np.array([[0.1, 0.5, 0.2, 0.7], [0.6, 0.1, 0.3, 0.2], [0.3, 0.3, 0.9, 0.1]])
    pi_b = np.array([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]])
    pi_e = np.array([[0.05, 0.15, 0.1, 0.7], [0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.7, 0.1]])
    #: contexts are uniform
    truth = float((pi_e * mu).sum(axis=1).mean())

    @classmethod
    def draw(cls, rng: np.random.Generator, x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """One action per context from pi_b, by inverse CDF (vectorised)."""
        cdf = np.cumsum(cls.pi_b[x], axis=1)
        return np.minimum((rng.random(x.size)[:, None] > cdf).sum(axis=1), cls.pi_b.shape[1] - 1)


def test_ips_is_unbiased_on_a_problem_with_known_value() -> None:
    seeds, n = 300, 400
    found, naive = np.empty(seeds), np.empty(seeds)
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        x = rng.integers(0, 3, size=n)
        a = Problem.draw(rng, x)
        r = (rng.random(n) < Problem.mu[x, a]).astype(np.float64)
        found[seed] = ips(r, Problem.pi_b[x, a], Problem.pi_e[x, a], n_boot=1).estimate
        naive[seed] = r.mean()
    tolerance = 4 * found.std() / np.sqrt(seeds)
    assert abs(found.mean() - Problem.truth) < tolerance
    # the logging policy's own click rate is far off, so the tolerance is tight enough to see bias
    assert abs(naive.mean() - Problem.truth) > 10 * tolerance


def test_dr_with_a_perfect_reward_model_does_not_vary_with_the_logged_actions() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=300)
    q_expected = (Problem.pi_e * Problem.mu).sum(axis=1)[x]
    by_dr, by_ips = [], []
    for seed in range(30):
        a = Problem.draw(np.random.default_rng(seed), x)
        # deterministic rewards that the model knows exactly
        r = Problem.mu[x, a]
        args = (r, Problem.pi_b[x, a], Problem.pi_e[x, a])
        by_dr.append(dr(*args, r, q_expected, n_boot=1).estimate)
        by_ips.append(ips(*args, n_boot=1).estimate)
    assert np.std(by_dr) < 1e-12
    assert np.std(by_ips) > 1e-3


@given(logs())
def test_on_policy_evaluation_is_the_sample_mean(log: tuple[FloatArray, ...]) -> None:
    r, p = log[0], log[1]
    for estimator in (ips, snips):
        res = estimator(r, p, p, n_boot=20)
        assert res.estimate == pytest.approx(r.mean(), abs=1e-12)
        assert res.ess == pytest.approx(r.size)


@given(logs(), st.lists(st.floats(min_value=0.1, max_value=10.0), min_size=40, max_size=40))
def test_snips_equals_ips_when_the_weights_average_one(log: tuple[FloatArray, ...], raw: list[float]) -> None:
    r, c = log[0], log[1]
    w = np.array(raw[: r.size])
    w /= w.mean()
    # pscore scaled so that pi_e = pscore * w stays a probability
    p = c / w.max()
    kw = {"n_boot": 20, "seed": 3}
    assert snips(r, p, p * w, **kw).estimate == pytest.approx(ips(r, p, p * w, **kw).estimate, rel=1e-9)


@given(logs())
def test_dr_is_the_direct_estimate_when_rewards_equal_the_predictions(log: tuple[FloatArray, ...]) -> None:
    _, p, e, q, qe = log
    assert dr(q, p, e, q, qe, n_boot=20).estimate == pytest.approx(dm(qe, n_boot=20).estimate, abs=1e-12)


@given(logs(), st.floats(min_value=0.01, max_value=200.0))
def test_clipping_never_increases_a_weight(log: tuple[FloatArray, ...], cap: float) -> None:
    _, p, e, _, _ = log
    clipped, free = importance_weights(p, e, cap), importance_weights(p, e)
    assert np.all(clipped <= free)
    assert np.all(clipped <= cap)
    assert np.array_equal(clipped[free <= cap], free[free <= cap])


@settings(deadline=None)
@given(logs(), st.sampled_from(["ips", "snips", "dr", "dm"]), st.integers(0, 2**32 - 1))
def test_the_interval_contains_the_estimate(log: tuple[FloatArray, ...], name: str, seed: int) -> None:
    r, p, e, q, qe = log
    kw = {"n_boot": 200, "seed": seed}
    if name == "snips":
        e = np.maximum(e, 0.01)
    res = {
        "ips": lambda: ips(r, p, e, **kw),
        "snips": lambda: snips(r, p, e, **kw),
        "dr": lambda: dr(r, p, e, q, qe, **kw),
        "dm": lambda: dm(qe, **kw),
    }[name]()
    slack = 1e-9 * max(1.0, abs(res.estimate))
    assert res.ci_low - slack <= res.estimate <= res.ci_high + slack


def test_the_same_seed_gives_the_same_interval_however_the_draws_are_chunked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(1)
    r, p, e = rng.random(500), rng.uniform(0.1, 1, 500), rng.random(500)
    whole = ips(r, p, e, n_boot=300, seed=7)
    monkeypatch.setattr(estimators, "BOOT_CHUNK_ENTRIES", 1_700)
    assert ips(r, p, e, n_boot=300, seed=7) == whole
    assert ips(r, p, e, n_boot=300, seed=8) != whole


def test_effective_sample_size_counts_equal_weights_fully_and_one_weight_once() -> None:
    assert effective_sample_size(np.full(50, 3.0)) == pytest.approx(50)
    assert effective_sample_size(np.r_[np.zeros(49), 2.0]) == pytest.approx(1)
    assert effective_sample_size(np.zeros(5)) == 0


def test_a_huge_weight_is_capped_at_max_weight() -> None:
    r, p, e = np.array([1.0, 0.0]), np.array([0.001, 0.5]), np.array([1.0, 0.5])
    assert ips(r, p, e, n_boot=1).estimate == pytest.approx(500)
    assert ips(r, p, e, max_weight=10, n_boot=1).estimate == pytest.approx(5)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"pscore": [0.5, 0.0]}, "pscore"),
        ({"pscore": [0.5, 1.5]}, "pscore"),
        ({"pscore": [0.5, np.nan]}, "pscore"),
        ({"pi_e": [0.5, 1.2]}, "pi_e"),
        ({"pi_e": [0.5]}, "pi_e"),
        ({"reward": [1.0, np.nan]}, "reward"),
        ({"reward": [1.0, 0.0, 1.0]}, "reward"),
        ({"q_logged": [0.1]}, "q_logged"),
        ({"q_expected": [0.1, np.inf]}, "q_expected"),
        ({"max_weight": 0.0}, "max_weight"),
        ({"n_boot": 0}, "n_boot"),
        ({"level": 1.0}, "level"),
    ],
)
def test_bad_input_is_refused_naming_the_argument(kwargs: dict[str, object], named: str) -> None:
    args: dict[str, object] = {
        "reward": [1.0, 0.0],
        "pscore": [0.5, 0.5],
        "pi_e": [0.5, 0.5],
        "q_logged": [0.1, 0.1],
        "q_expected": [0.1, 0.1],
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=named):
        dr(**args)  # type: ignore[arg-type]


def test_snips_refuses_a_policy_that_never_takes_a_logged_action() -> None:
    with pytest.raises(ValueError, match="pi_e"):
        snips([1.0, 0.0], [0.5, 0.5], [0.0, 0.0])
