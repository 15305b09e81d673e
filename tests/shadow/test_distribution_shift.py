from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedmix.shadow.distribution_shift import (
    DEFAULT_EPS,
    categorical_js,
    category_shares,
    histogram,
    js_divergence,
    js_of_shares,
    psi,
    psi_level,
    psi_of_shares,
    quantile_edges,
    shift,
)


def normal(mean: float, n: int = 20_000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, 1.0, n)


def test_identical_samples_do_not_shift() -> None:
    x = normal(0.0)
    s = shift(x, x)
    assert s.psi == 0.0 and s.js == 0.0
    # 10 quantile bins plus the two outside production's range
    assert s.bins == 12


def test_two_draws_of_one_distribution_barely_shift() -> None:
    s = shift(normal(0.0, seed=1), normal(0.0, seed=2))
    assert s.psi < 0.01
    assert s.js < 0.005
    assert psi_level(s.psi) == "none"


def test_psi_and_js_grow_with_the_shift_of_a_normal() -> None:
    ref = normal(0.0, seed=1)
    shifts = [shift(ref, normal(m, seed=2)) for m in (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)]
    psis, jss = [s.psi for s in shifts], [s.js for s in shifts]
    assert psis == sorted(psis) and len(set(psis)) == len(psis)
    assert jss == sorted(jss) and len(set(jss)) == len(jss)
    # the conventional readings: 0.1 sd is no shift, 0.5 sd about the moderate/major line, 1 sd major
    assert psi_level(psis[1]) == "none"
    assert 0.15 < psis[3] < 0.35
    assert psi_level(psis[4]) == "major"
    assert all(0.0 <= j <= 1.0 for j in jss)


def test_psi_by_hand_on_two_bins() -> None:
    # shares (0.5, 0.5) -> (0.8, 0.2): 0.3 ln(1.6) + (-0.3) ln(0.4)
    expected = 0.3 * math.log(1.6) - 0.3 * math.log(0.4)
    assert psi_of_shares(np.array([0.5, 0.5]), np.array([0.8, 0.2])) == pytest.approx(expected)
    # an empty bin is floored at eps rather than producing infinity
    assert psi_of_shares(np.array([0.5, 0.5]), np.array([1.0, 0.0])) == pytest.approx(
        0.5 * math.log(1 / 0.5) + (DEFAULT_EPS - 0.5) * math.log(DEFAULT_EPS / 0.5)
    )


def test_js_by_hand() -> None:
    assert js_of_shares(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)
    assert js_of_shares(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0
    # P = (1, 0), Q = (1/2, 1/2): M = (3/4, 1/4); JS = H(M) - H(Q)/2
    h_m = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    assert js_of_shares(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(h_m - 0.5)


def test_values_outside_productions_range_are_a_shift() -> None:
    # a feature that was constantly 0 and is now constantly 1: one merged bin would say "no shift"
    s = shift(np.zeros(100), np.ones(100))
    assert psi_level(s.psi) == "major"
    assert s.js == pytest.approx(1.0)
    s = shift(np.zeros(100), -np.ones(100))
    assert s.js == pytest.approx(1.0)


def test_ties_merge_bins_and_every_production_bin_has_mass() -> None:
    ref = np.array([0.0] * 70 + [1.0] * 20 + [2.0] * 10)
    edges = quantile_edges(ref, 10)
    # the deciles are 0 (x7), 1, 1: below 0 | [0, 1) | [1, 2] | above 2
    assert edges.tolist() == [0.0, 1.0, np.nextafter(2.0, 3.0)]
    shares = histogram(ref, edges, nan_bin=False)
    assert shares.tolist() == pytest.approx([0.0, 0.7, 0.3, 0.0])
    # small samples: quantiles are data points, so no inner bin is empty in production
    small = np.array([0.0, 10.0, 20.0])
    inner = histogram(small, quantile_edges(small), nan_bin=False)[1:-1]
    assert (inner > 0).all()


def test_missing_values_get_their_own_bin() -> None:
    ref = normal(0.0, n=1000)
    other = ref.copy()
    other[:300] = np.nan
    s = shift(ref, other)
    assert s.bins == 13
    assert psi_level(s.psi) == "major"
    assert shift(other, other).psi == 0.0


def test_empty_samples_are_refused() -> None:
    with pytest.raises(ValueError):
        shift([], [1.0])
    with pytest.raises(ValueError):
        shift([1.0], [])
    with pytest.raises(ValueError):
        quantile_edges([1.0], bins=1)
    with pytest.raises(ValueError):
        categorical_js([], ["a"])


def test_wrappers_agree_with_shift() -> None:
    a, b = normal(0.0, n=2000, seed=3), normal(0.3, n=2000, seed=4)
    s = shift(a, b)
    assert psi(a, b) == s.psi
    assert js_divergence(a, b) == s.js


def test_category_shares_and_js() -> None:
    assert category_shares(["b", "a", "b", "c"]) == {"b": 0.5, "a": 0.25, "c": 0.25}
    assert list(category_shares(["b", "a", "b", "c"])) == ["b", "a", "c"]
    assert category_shares([]) == {}
    assert categorical_js(["a", "b"], ["b", "a"]) == 0.0
    assert categorical_js(["a", "a"], ["b", "b"]) == pytest.approx(1.0)
    mixed = categorical_js(["joined"] * 8 + ["trending"] * 2, ["joined"] * 5 + ["trending"] * 5)
    assert 0.0 < mixed < 0.2


FLOATS = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=60
)
SHARES = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=8)
CATEGORIES = st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(FLOATS, FLOATS)
def test_psi_is_non_negative_and_js_bounded(a: list[float], b: list[float]) -> None:
    s = shift(a, b)
    assert s.psi >= 0.0
    assert 0.0 <= s.js <= 1.0
    assert shift(a, a).psi == 0.0 and shift(a, a).js == 0.0


@settings(max_examples=150, deadline=None, derandomize=True)
@given(SHARES, SHARES)
def test_js_is_symmetric_and_bounded(p: list[float], q: list[float]) -> None:
    n = min(len(p), len(q))
    pa, qa = np.array(p[:n]), np.array(q[:n])
    if pa.sum() == 0 or qa.sum() == 0:
        return
    pa, qa = pa / pa.sum(), qa / qa.sum()
    js = js_of_shares(pa, qa)
    assert js == pytest.approx(js_of_shares(qa, pa), abs=1e-12)
    assert 0.0 <= js <= 1.0
    # PSI is symmetric in its share vectors too (it is a symmetrised KL); the binning is what is not
    assert psi_of_shares(pa, qa) == pytest.approx(psi_of_shares(qa, pa), abs=1e-9)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(CATEGORIES, CATEGORIES)
def test_categorical_js_is_symmetric_and_bounded(a: list[str], b: list[str]) -> None:
    js = categorical_js(a, b)
    assert js == pytest.approx(categorical_js(b, a), abs=1e-12)
    assert 0.0 <= js <= 1.0
    assert categorical_js(a, list(reversed(a))) == 0.0
