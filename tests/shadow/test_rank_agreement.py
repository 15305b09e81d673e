from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from feedmix.shadow.rank_agreement import jaccard_at, kendall_tau_shared, rbo, top_kept

P = 0.9
#: deep enough that the truncated tail weighs p^DEPTH < 1e-18
DEPTH = 400


def _rbo_truncated(agreement: list[float], p: float = P) -> float:
    """The definition, eq. 7: (1 - p) * sum_d p^(d-1) * A_d, summed to DEPTH."""
    return (1 - p) * sum(p ** (d - 1) * a for d, a in enumerate(agreement, start=1))


def _overlap(a: list[str], b: list[str], d: int) -> int:
    return len(set(a[:d]) & set(b[:d]))


def _brute_min(s: list[str], t: list[str]) -> float:
    """RBO of the prefixes continued by items that never match (the lower bound)."""
    s2 = s + [f"s-fresh{i}" for i in range(DEPTH)]
    t2 = t + [f"t-fresh{i}" for i in range(DEPTH)]
    return _rbo_truncated([_overlap(s2, t2, d) / d for d in range(1, DEPTH + 1)])


def _brute_max(s: list[str], t: list[str]) -> float:
    """RBO of the prefixes continued so that every unseen item matches as early as it can: each list
    continues with the other's items it lacks, in the other's order, then both with the same items."""
    common = [f"both{i}" for i in range(DEPTH)]
    s2 = s + [x for x in t if x not in s] + common
    t2 = t + [x for x in s if x not in t] + common
    return _rbo_truncated([_overlap(s2, t2, d) / d for d in range(1, DEPTH + 1)])


def _brute_ext(s: list[str], t: list[str]) -> float:
    """The extrapolation behind eq. 32, summed directly: the short list's unseen items agree at its
    own rate X_s / s, and beyond the long list the agreement at depth l persists."""
    short, long = sorted((s, t), key=len)
    n_s, n_l = len(short), len(long)
    x_s = _overlap(short, long, n_s)
    agreement = []
    for d in range(1, DEPTH + 1):
        if d <= n_s:
            agreement.append(_overlap(short, long, d) / d)
        elif d <= n_l:
            agreement.append((_overlap(short, long, d) + x_s * (d - n_s) / n_s) / d)
        else:
            agreement.append(agreement[n_l - 1])
    return _rbo_truncated(agreement)


# ---------------------------------------------------------------------------------------------------
# hand-computed cases


def test_swapping_the_top_two_of_three_loses_exactly_the_first_rank_weight() -> None:
    # A_1 = 0, then full agreement: RBO_ext = 1 - (1 - p) = 0.9
    r = rbo(list("abc"), list("bac"))
    assert r is not None
    assert r.ext == pytest.approx(0.9, abs=1e-12)


def test_one_item_against_two() -> None:
    # S = [a], L = [b, a]: X_1 = 0, X_2 = 1, X_s = 0.
    # eq. 32: (1-p)/p * (X_2/2 * p^2) + ((X_l - X_s)/l + X_s/s) * p^2 = 0.045 + 0.405
    r = rbo(["a"], ["b", "a"])
    assert r is not None
    assert r.ext == pytest.approx(0.45, abs=1e-12)
    # S = [a], L = [a, b]: the short list agrees fully, and the extrapolation keeps it at 1
    r = rbo(["a"], ["a", "b"])
    assert r is not None
    assert r.ext == pytest.approx(1.0, abs=1e-12)


def test_identical_single_items_bound_by_the_log_term() -> None:
    # eq. 11 with k = 1, X_1 = 1: RBO_min = (1-p)/p * ln(1/(1-p)); max is 1
    r = rbo(["a"], ["a"])
    assert r is not None
    expected_min = (1 - P) / P * math.log(1 / (1 - P))
    assert r.min == pytest.approx(expected_min, abs=1e-12)
    assert r.residual == pytest.approx(1 - expected_min, abs=1e-12)
    assert r.ext == pytest.approx(1.0)


def test_identical_pages_have_ext_1_and_a_residual_that_shrinks_with_depth() -> None:
    # the residual of a finite prefix is never 0: the unseen tails may still differ
    seven = rbo(list("abcdefg"), list("abcdefg"))
    assert seven is not None
    assert seven.ext == pytest.approx(1.0)
    assert seven.min == pytest.approx(0.7671, abs=1e-4)
    assert seven.residual == pytest.approx(0.2329, abs=1e-4)
    residuals = []
    for n in (1, 5, 10, 25, 50):
        r = rbo([str(i) for i in range(n)], [str(i) for i in range(n)])
        assert r is not None
        assert r.ext == pytest.approx(1.0)
        assert r.max == pytest.approx(1.0)
        residuals.append(r.residual)
    assert residuals == sorted(residuals, reverse=True)
    assert residuals[-1] < 1e-2


def test_disjoint_pages_score_0() -> None:
    r = rbo(list("abcde"), list("vwxyz"))
    assert r is not None
    assert r.ext == 0.0 and r.min == 0.0
    assert r.residual == pytest.approx(_brute_max(list("abcde"), list("vwxyz")), abs=1e-12)


def test_a_prefix_of_the_other_ranking_is_extrapolated_to_full_agreement() -> None:
    r = rbo(list("abc"), list("abcdefghij"))
    assert r is not None
    assert r.ext == pytest.approx(1.0)
    # eq. 30 worked through for s = 3, l = 10, X_l = 3: both bounds agree with the brute force
    assert r.min == pytest.approx(_brute_min(list("abc"), list("abcdefghij")), abs=1e-12)
    assert r.max == pytest.approx(1.0, abs=1e-12)


def test_empty_rankings() -> None:
    assert rbo([], []) is None
    r = rbo([], ["a", "b"])
    assert r is not None
    assert (r.ext, r.min, r.residual) == (0.0, 0.0, 1.0)


def test_repeated_ids_count_at_their_first_position() -> None:
    assert rbo(["a", "b", "a"], ["a", "b"]) == rbo(["a", "b"], ["a", "b"])


def test_p_must_be_a_probability() -> None:
    for p in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="p must be"):
            rbo(["a"], ["a"], p=p)


# ---------------------------------------------------------------------------------------------------
# properties

ITEMS = st.sampled_from([f"i{k}" for k in range(15)])
RANKING = st.lists(ITEMS, unique=True, max_size=12)
NONEMPTY = st.lists(ITEMS, unique=True, min_size=1, max_size=7)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(RANKING, RANKING)
def test_rbo_matches_its_definitions_summed_directly(s: list[str], t: list[str]) -> None:
    r = rbo(s, t)
    if not s and not t:
        assert r is None
        return
    assert r is not None
    if s and t:
        assert r.ext == pytest.approx(_brute_ext(s, t), abs=1e-9)
    assert r.min == pytest.approx(_brute_min(s, t), abs=1e-9)
    assert r.max == pytest.approx(_brute_max(s, t), abs=1e-9)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(RANKING, RANKING)
def test_rbo_is_symmetric_bounded_and_ordered(s: list[str], t: list[str]) -> None:
    r, r2 = rbo(s, t), rbo(t, s)
    if r is None:
        assert r2 is None
        return
    assert r2 is not None
    assert r.ext == pytest.approx(r2.ext, abs=1e-12)
    assert r.min == pytest.approx(r2.min, abs=1e-12)
    assert r.residual == pytest.approx(r2.residual, abs=1e-12)
    assert 0.0 <= r.min <= r.ext + 1e-12
    assert r.ext <= r.max + 1e-12
    assert r.max <= 1.0 + 1e-12
    assert r.residual > 0.0


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(ITEMS, unique=True, min_size=1, max_size=12))
def test_a_ranking_agrees_fully_with_itself(s: list[str]) -> None:
    r = rbo(s, s)
    assert r is not None
    assert r.ext == pytest.approx(1.0, abs=1e-12)
    assert r.max == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(NONEMPTY, NONEMPTY)
def test_rbo_of_disjoint_rankings_is_0(s: list[str], t: list[str]) -> None:
    t = [f"other-{x}" for x in t]
    r = rbo(s, t)
    assert r is not None
    assert r.ext == 0.0 and r.min == 0.0


# ---------------------------------------------------------------------------------------------------
# Jaccard, Kendall tau, top-k kept


def test_jaccard_at_k() -> None:
    assert jaccard_at(list("abcd"), list("abcd"), 10) == 1.0
    assert jaccard_at(list("abcd"), list("dcba"), 10) == 1.0  # order-blind
    assert jaccard_at(list("abcd"), list("abxy"), 10) == pytest.approx(2 / 6)
    # only the top k of each
    assert jaccard_at(list("abcd"), list("abxy"), 2) == 1.0
    assert jaccard_at([], list("ab"), 10) == 0.0
    assert jaccard_at([], [], 10) is None
    with pytest.raises(ValueError):
        jaccard_at(["a"], ["a"], 0)


def test_kendall_tau_on_shared_items() -> None:
    assert kendall_tau_shared(list("abcd"), list("abcd")) == pytest.approx(1.0)
    assert kendall_tau_shared(list("abcd"), list("dcba")) == pytest.approx(-1.0)
    # x and y are not shared and do not count: the shared a, b, c are in the same order
    assert kendall_tau_shared(list("axbyc"), list("abc")) == pytest.approx(1.0)
    assert kendall_tau_shared(list("ab"), list("ba")) == pytest.approx(-1.0)
    assert kendall_tau_shared(list("ab"), list("ax")) is None
    assert kendall_tau_shared([], []) is None


@settings(max_examples=150, deadline=None, derandomize=True)
@given(RANKING, RANKING)
def test_kendall_tau_is_scipys_tau_b_on_the_shared_items(s: list[str], t: list[str]) -> None:
    shared = [x for x in s if x in t]
    tau = kendall_tau_shared(s, t)
    if len(shared) < 2:
        assert tau is None
        return
    expected = stats.kendalltau([s.index(x) for x in shared], [t.index(x) for x in shared]).statistic
    assert tau is not None
    assert tau == pytest.approx(expected, abs=1e-12)
    assert tau == pytest.approx(kendall_tau_shared(t, s), abs=1e-12)


def test_top_kept() -> None:
    base = [f"i{k}" for k in range(20)]
    assert top_kept(base, base) == 1.0
    assert top_kept(base, base[5:]) == 0.5  # i0..i4 dropped from the top 10
    assert top_kept(base, list(reversed(base))) == 1.0  # anywhere on the page counts
    assert top_kept(base, base[:3], k=3) == 1.0
    assert top_kept([], base) is None
