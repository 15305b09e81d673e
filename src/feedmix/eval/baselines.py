"""Non-learned retrieval sources for the offline comparison, as dense per-user score matrices.

They mirror what feedmix already serves (popular, trending) plus a content source, so the table
shows what learned embeddings add over them. Each returns scores where ``-inf`` means "this source
has no reason to propose the item"; ``top_k`` turns scores into lists.

* popularity: positives per item in the snapshot's training data, the same list for everyone;
* recent popularity (the trending analogue): positives per item in the ``window_s`` seconds before
  each user's own request time, from everything known by then; ties (small windows have many) go to
  overall popularity through a tie-break term smaller than one count;
* genre affinity (the content source): cosine between the user's genre profile (genre counts of the
  items they liked) and each item's genre indicator vector, plus a small popularity tie-break,
  because a profile scores every item with the same genre set identically.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

FloatMatrix = npt.NDArray[np.float32]


def _tie_break(popularity: npt.NDArray[np.float64], scale: float) -> npt.NDArray[np.float64]:
    """Popularity squeezed into [0, scale): orders ties without outweighing the main score."""
    return scale * popularity / (float(popularity.max(initial=0.0)) + 1.0)


def popularity_scores(positive_items: npt.NDArray[np.int64], n_items: int) -> npt.NDArray[np.float64]:
    """Positive count per item; items with none score -inf."""
    counts = np.bincount(positive_items, minlength=n_items).astype(np.float64)
    return np.where(counts > 0, counts, -np.inf)


def recent_popularity_scores(
    positive_items: npt.NDArray[np.int64],
    positive_ts: npt.NDArray[np.float64],
    at_ts: npt.NDArray[np.float64],
    window_s: float,
    popularity: npt.NDArray[np.float64],
) -> FloatMatrix:
    """One row per entry of ``at_ts``: positives per item in ``[at_ts - window_s, at_ts)``.

    ``positive_*`` is everything the source may know (callers pass only what precedes each
    ``at_ts``; the window's open right end keeps the request's own second out).
    """
    n_items = popularity.shape[0]
    order = np.argsort(positive_ts, kind="stable")
    items, ts = positive_items[order], positive_ts[order]
    lo = np.searchsorted(ts, at_ts - window_s, side="left")
    hi = np.searchsorted(ts, at_ts, side="left")
    out = np.empty((at_ts.shape[0], n_items), dtype=np.float32)
    base = _tie_break(np.where(np.isfinite(popularity), popularity, 0.0), 0.5)
    for u, (a, b) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)):
        counts = np.bincount(items[a:b], minlength=n_items) + base
        out[u] = np.where(counts > 0, counts, -np.inf)
    return out


def genre_affinity_scores(
    liked: sp.csr_matrix, item_genres: sp.csr_matrix, popularity: npt.NDArray[np.float64]
) -> FloatMatrix:
    """Cosine(user genre profile, item genres) + a popularity tie-break below 1e-3."""
    profile = np.asarray((liked.astype(np.float64) @ item_genres).todense())
    profile /= np.maximum(np.linalg.norm(profile, axis=1, keepdims=True), 1e-12)
    g = np.asarray(item_genres.astype(np.float64).todense())
    g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    tie_break = _tie_break(np.where(np.isfinite(popularity), popularity, 0.0), 1e-3)
    scores: FloatMatrix = (profile @ g.T + tie_break).astype(np.float32)
    return scores
