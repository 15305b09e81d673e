"""How far apart two rankings of one request are: rank-biased overlap, Jaccard@k, Kendall tau.

A feed page is the top of a ranking that goes on much further (the candidate set has thousands of
posts), so the measure of choice is rank-biased overlap (RBO): Webber, Moffat, Zobel (2010), "A
similarity measure for indefinite rankings", ACM TOIS 28(4). It handles rankings that are not
conjoint (the candidate may surface posts production never retrieved), weights the top heavily
(a swap at position 1 matters more than one at position 40), and is defined for prefixes of
different lengths. Kendall tau, by contrast, needs both rankings over the same items, so it is only
computed on the items both pages share, and Jaccard@k ignores order within the top k; both are
here because they are easy to read beside RBO.

Equation numbers below are the paper's. With ``p = 0.9`` the first 10 ranks carry about 86% of
RBO's weight (section 4.2, eq. 21), which matches a feed page of 10-25 posts.

Items are identified by id; an id that repeats within one ranking counts at its first position
only (RBO and Kendall tau are defined for rankings without repeats, and a page that repeats a post
has a bug that the record's own checks should catch, not this measure).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: persistence of the RBO user model: the chance of going on to the next rank
DEFAULT_P = 0.9


@dataclass(frozen=True, slots=True)
class RBO:
    """RBO of two finite prefixes of indefinite rankings.

    ``ext`` is the point estimate (RBO_ext, eq. 32), which assumes the agreement seen at the
    deepest evaluated rank goes on forever. ``min`` and ``max`` bound the RBO of the full,
    unseen rankings (eq. 11 and section 4.1, generalised to uneven lengths), and
    ``residual = max - min`` (eq. 30) is how much of the score is still undecided by the ranks not
    seen. The residual of two finite prefixes is never 0, even for identical pages: the tails may
    still disagree. It is what tells a short page's 0.9 from a long page's 0.9.
    """

    ext: float
    min: float
    residual: float

    @property
    def max(self) -> float:
        return self.min + self.residual


def _unique(ranking: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ranking))


def _overlaps(short: list[str], long: list[str]) -> np.ndarray:
    """X_d for d = 1..len(long): the number of items in both prefixes at depth d.

    An item at rank i in one list and rank j in the other is shared from depth max(i, j) on, so X is
    a cumulative count of those depths: linear in the lengths rather than quadratic. For d beyond
    the short list's length, the short list's prefix is the whole list (section 4.1).
    """
    pos = {item: j for j, item in enumerate(long, start=1)}
    depths = [max(i, pos[item]) for i, item in enumerate(short, start=1) if item in pos]
    counts = np.bincount(np.asarray(depths, dtype=np.int64), minlength=len(long) + 1)
    return np.cumsum(counts)[1:].astype(np.float64)


def _tail_sum(p: float, k: int) -> float:
    """sum_{d > k} p^d / d = ln(1 / (1 - p)) - sum_{d <= k} p^d / d."""
    if k <= 0:
        return -math.log1p(-p)
    d = np.arange(1, k + 1, dtype=np.float64)
    return max(-math.log1p(-p) - float(np.sum(p**d / d)), 0.0)


def rbo(a: Sequence[str], b: Sequence[str], p: float = DEFAULT_P) -> RBO | None:
    """Rank-biased overlap of two rankings, best first; symmetric in ``a`` and ``b``.

    None when both are empty: there is nothing to compare, and a made-up 1.0 or 0.0 would move a
    mean over requests. One empty ranking against a non-empty one has nothing in common: ext and
    min are 0 and the residual is 1 (any continuation of the empty one is possible).
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    short, long = sorted((_unique(a), _unique(b)), key=len)
    s, n_long = len(short), len(long)
    if n_long == 0:
        return None
    if s == 0:
        return RBO(ext=0.0, min=0.0, residual=1.0)
    x = _overlaps(short, long)
    d = np.arange(1, n_long + 1, dtype=np.float64)
    pd = p**d
    x_s, x_l = float(x[s - 1]), float(x[n_long - 1])
    shared = int(x[n_long - 1])
    scale = (1.0 - p) / p

    # eq. 32: within the long list's extra ranks, the short list's unseen items are assumed to agree
    # at the short list's rate X_s / s; beyond both, the agreement at depth l is assumed to persist.
    beyond_s = d[s:]
    ext_sum = float(np.sum(x / d * pd)) + float(np.sum(x_s * (beyond_s - s) / (s * beyond_s) * pd[s:]))
    ext = scale * ext_sum + ((x_l - x_s) / n_long + x_s / s) * p**n_long

    # eq. 11 with k = l: no item not yet seen ever matches, so X_d stays X_l beyond depth l.
    rbo_min = scale * (float(np.sum((x - x_l) * pd / d)) + x_l * -math.log1p(-p))

    # eq. 30: every unseen item matches as early as it can; f is the depth from which the two
    # rankings could agree completely.
    f = s + n_long - shared
    res = (
        p**s
        + p**n_long
        - p**f
        - scale * (s * _tail_sum(p, s) + n_long * _tail_sum(p, n_long) - f * _tail_sum(p, f))
    )
    # clipped only against float rounding (terms like ln(1 / (1 - p)) minus a partial sum cancel)
    rbo_min = min(max(rbo_min, 0.0), 1.0)
    res = min(max(res, 0.0), 1.0 - rbo_min)
    return RBO(ext=min(max(ext, 0.0), 1.0), min=rbo_min, residual=res)


def jaccard_at(a: Sequence[str], b: Sequence[str], k: int) -> float | None:
    """|top-k(a) ∩ top-k(b)| / |top-k(a) ∪ top-k(b)|; None when both are empty.

    Order-blind within the top k: it answers "did the page show the same posts", which a reader
    checks faster than an RBO value.
    """
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")
    top_a, top_b = set(a[:k]), set(b[:k])
    union = top_a | top_b
    if not union:
        return None
    return len(top_a & top_b) / len(union)


def kendall_tau_shared(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Kendall tau-b between the two orders of the items both rankings contain.

    Restricted to shared items because tau is undefined over items that one ranking lacks; it
    answers "where the arms show the same posts, do they order them alike". None when fewer than two
    items are shared (no pair to compare). Positions within one ranking never tie, so tau-b equals
    tau-a, (concordant - discordant) / (n (n - 1) / 2), computed here over all pairs at once: a page
    has tens of items, and ``scipy.stats.kendalltau`` (which the tests check this against) costs
    about half a millisecond of overhead per call, which is most of a report over many requests.
    """
    ua, ub = _unique(a), _unique(b)
    pos_b = {item: j for j, item in enumerate(ub)}
    rb = np.array([pos_b[item] for item in ua if item in pos_b], dtype=np.int64)
    n = rb.size
    if n < 2:
        return None
    # the shared items are listed in a's order, so a pair (i < j) is concordant when b agrees
    upper = np.triu(np.sign(rb[None, :] - rb[:, None]), k=1)
    return float(upper.sum()) / (n * (n - 1) / 2)


def top_kept(baseline: Sequence[str], other: Sequence[str], k: int = 10) -> float | None:
    """Share of the baseline's top k that appears anywhere on the other page; None if the baseline
    page is empty. The question a product owner asks first: "are my best posts still there?"."""
    top = _unique(baseline[:k])
    if not top:
        return None
    present = set(other)
    return sum(item in present for item in top) / len(top)
