"""Whether a value's distribution moved between two arms: PSI and Jensen-Shannon on shared bins.

Rank agreement says whether the pages differ; these say *how the values behind them* differ: a new
model whose scores are shifted up, a feature whose hydration broke (all zeros, all NaN), a source
mix that tilted towards one source. Both measures compare histograms, not means, so they catch a
change of shape that leaves the mean alone.

* Population Stability Index, ``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)`` over bins with expected
  (production) shares ``e`` and actual (other arm) shares ``a``: the symmetrised KL divergence
  used in credit scoring to watch a score's population drift. Siddiqi (2006), "Credit Risk
  Scorecards", Wiley, ch. 8; properties and the thresholds' statistical meaning in Yurdakul (2018),
  "Statistical Properties of Population Stability Index", Western Michigan University. The
  standard reading, kept here as constants: **< 0.1 no significant shift, 0.1-0.25 moderate
  shift (investigate), > 0.25 major shift (act)**. PSI is unbounded and needs an epsilon for empty
  bins (``ln 0``); the epsilon caps the penalty of one empty bin at about ``share * ln(share / eps)``.
* Jensen-Shannon divergence, ``JS = H(M) - (H(P) + H(Q)) / 2`` with ``M = (P + Q) / 2``, in bits
  (base 2), so it lies in [0, 1]: 0 for identical distributions, 1 for disjoint ones. Lin (1991),
  "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory 37(1). Being bounded
  and symmetric, and needing no epsilon, it is the one to compare across metrics and to gate on.

Bins are the production sample's deciles (or ``bins`` quantiles), fixed once and applied to both
samples: equal-mass bins give each bin enough production mass for the ratio in PSI to be stable,
and fixing them on production means the question is always "how does the other arm fall into
production's bins". Ties in production (a score that is often exactly 0) merge quantile edges, so
there can be fewer bins than asked for. Two more bins hold the values below and above everything
production showed; they are empty in production by construction, and they are there so that values
leaving production's range count as a shift instead of merging into an end bin (without them, a
feature that was constantly 0 and is now constantly 1 would have a PSI of 0). Between samples of
one distribution they hold about 1/n of the other sample, which adds well under 0.001 to PSI. NaNs
(a missing feature) get a bin of their own when either sample has them, because a change in the
missing rate is itself a shift worth seeing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

DEFAULT_BINS = 10
#: share given to an empty bin in PSI, so ln(a / e) stays finite
DEFAULT_EPS = 1e-4
#: PSI below this: no significant shift
PSI_MODERATE = 0.1
#: PSI above this: a major shift; between the two, moderate
PSI_MAJOR = 0.25


@dataclass(frozen=True, slots=True)
class Shift:
    """PSI and JS of one sample against a reference, on the same bins; ``bins`` is how many."""

    psi: float
    js: float
    bins: int


def psi_level(value: float) -> str:
    """The conventional reading of a PSI value: "none", "moderate" or "major" (module docstring)."""
    if value < PSI_MODERATE:
        return "none"
    return "moderate" if value <= PSI_MAJOR else "major"


def quantile_edges(reference: Sequence[float] | FloatArray, bins: int = DEFAULT_BINS) -> FloatArray:
    """The edges of ``bins`` equal-mass bins of the reference's finite values, ties merged, plus the
    two outside bins (below its minimum, above its maximum); empty if it has no finite value.

    A value ``v`` falls in bin ``searchsorted(edges, v, side="right")``: bins are closed on the
    left, so a mass of ties at an edge lands in one bin rather than being split.
    """
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    ref = np.asarray(reference, dtype=np.float64)
    ref = ref[np.isfinite(ref)]
    if ref.size == 0:
        return np.empty(0, dtype=np.float64)
    lo, hi = float(ref.min()), float(ref.max())
    # empirical quantiles that are data points (not interpolations between them), and never the
    # minimum: then every inner bin holds at least one reference value
    qs = np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)[1:-1], method="inverted_cdf")
    inner = np.unique(qs)
    inner = inner[inner > lo]
    edges: FloatArray = np.concatenate(([lo], inner, [np.nextafter(hi, np.inf)]))
    return edges


def histogram(values: Sequence[float] | FloatArray, edges: FloatArray, nan_bin: bool) -> FloatArray:
    """Shares of ``values`` in the bins of ``edges`` (plus a last bin for NaN when ``nan_bin``)."""
    v = np.asarray(values, dtype=np.float64)
    nan = np.isnan(v)
    idx = np.searchsorted(edges, v[~nan], side="right")
    counts = np.bincount(idx, minlength=edges.size + 1).astype(np.float64)
    if nan_bin:
        counts = np.append(counts, float(nan.sum()))
    total = counts.sum()
    if total == 0:
        raise ValueError("histogram of an empty sample (or only NaN without a NaN bin)")
    shares: FloatArray = counts / total
    return shares


def psi_of_shares(expected: FloatArray, actual: FloatArray, eps: float = DEFAULT_EPS) -> float:
    """PSI of two share vectors over the same bins; empty bins are floored at ``eps``."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), eps)
    a = np.maximum(np.asarray(actual, dtype=np.float64), eps)
    return float(np.sum((a - e) * np.log(a / e)))


def js_of_shares(p: FloatArray, q: FloatArray) -> float:
    """Jensen-Shannon divergence in bits of two share vectors over the same bins, in [0, 1]."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = (p + q) / 2.0
    js = _entropy_bits(m) - (_entropy_bits(p) + _entropy_bits(q)) / 2.0
    return min(max(js, 0.0), 1.0)


def _entropy_bits(p: FloatArray) -> float:
    nz = p[p > 0]
    return float(-np.sum(nz * np.log2(nz)))


def shift(
    reference: Sequence[float] | FloatArray,
    other: Sequence[float] | FloatArray,
    bins: int = DEFAULT_BINS,
    eps: float = DEFAULT_EPS,
) -> Shift:
    """PSI and JS of ``other`` against ``reference`` (production), on the reference's quantile bins.

    Not symmetric in its arguments, by design: the bins are the reference's. Raises ValueError on an
    empty sample (a shift of nothing is undefined; callers report it as missing).
    """
    ref = np.asarray(reference, dtype=np.float64)
    oth = np.asarray(other, dtype=np.float64)
    if ref.size == 0 or oth.size == 0:
        raise ValueError("shift needs two non-empty samples")
    edges = quantile_edges(ref, bins)
    nan_bin = bool(np.isnan(ref).any() or np.isnan(oth).any())
    e = histogram(ref, edges, nan_bin)
    a = histogram(oth, edges, nan_bin)
    return Shift(psi=psi_of_shares(e, a, eps), js=js_of_shares(e, a), bins=int(e.size))


def psi(
    reference: Sequence[float] | FloatArray,
    other: Sequence[float] | FloatArray,
    bins: int = DEFAULT_BINS,
    eps: float = DEFAULT_EPS,
) -> float:
    """PSI of ``other`` against ``reference`` on the reference's quantile bins (see `shift`)."""
    return shift(reference, other, bins, eps).psi


def js_divergence(
    reference: Sequence[float] | FloatArray, other: Sequence[float] | FloatArray, bins: int = DEFAULT_BINS
) -> float:
    """JS divergence (bits) of the two samples on the reference's quantile bins (see `shift`)."""
    return shift(reference, other, bins).js


def category_shares(values: Iterable[str]) -> dict[str, float]:
    """Share of each category, largest first (ties by name, so the order is deterministic)."""
    counts = Counter(values)
    total = sum(counts.values())
    if total == 0:
        return {}
    return {k: c / total for k, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def categorical_js(a: Iterable[str], b: Iterable[str]) -> float:
    """JS divergence (bits) of the category frequencies of two samples (sources, communities).

    Categories are their own bins, so no binning choice is involved; a category only one side has is
    simply a bin the other side leaves empty, which JS handles without an epsilon.
    """
    pa, pb = category_shares(a), category_shares(b)
    if not pa or not pb:
        raise ValueError("categorical_js needs two non-empty samples")
    keys = sorted(pa.keys() | pb.keys())
    return js_of_shares(
        np.array([pa.get(k, 0.0) for k in keys], dtype=np.float64),
        np.array([pb.get(k, 0.0) for k in keys], dtype=np.float64),
    )
