"""Corpora of any size made from the real one, for measuring how serving cost grows with the corpus.

The real corpus has 428,667 posts; a scaling curve needs points below and above it. Below, a
deterministic random subsample (``seed``) keeps every column's distribution. Above, the real posts
are kept unchanged (so a ranker, a collaborative index or ad campaigns prepared on the real corpus
still find their posts) and copies of them are added:

* new unique ids (above the largest real one, so they never collide) and their base-36 strings;
* ``created`` jittered by up to :data:`JITTER_S` (reflected back inside the corpus span), so the
  copies spread over time like the originals instead of stacking on the same seconds, and the
  time-windowed sources (trending, fresh, exploration) see ``n / 428k`` times as many posts;
* titles with a per-copy suffix token (``"... r3"``): distinct strings, and a token the TF-IDF
  keeps (it occurs in every post of one copy, under ``max_df``), so the text embeddings give each
  copy its own, slightly moved vector instead of one vector shared by all copies (which would make
  ANN results runs of exact duplicates and the IVF cells unrealistically degenerate);
* distinct ``url_key`` values, so the duplicate-content filter does not treat copies as cross-posts
  of their original and drop them.

Scores, comments, communities and flags are copied as they are. URL, permalink and domain strings
are shared with the original (references, not copies: at 5M posts that saves about a gigabyte, and
only ``url_key`` is read on the serving path). Everything is built as numpy columns and handed to the
``RedditCorpus`` constructor directly, so no Arrow table of millions of rows is materialised.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feedmix.corpus.reddit_corpus import RedditCorpus

#: how far (seconds) a copy's creation time may move from its original's
JITTER_S = 3 * 86_400.0

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(value: int) -> str:
    """Lower-case base 36, the reddit id alphabet (``int(base36(v), 36) == v``)."""
    if value < 0:
        raise ValueError("ids are non-negative")
    out = []
    while True:
        value, digit = divmod(value, 36)
        out.append(_DIGITS[digit])
        if value == 0:
            return "".join(reversed(out))


def scaled_corpus(base: RedditCorpus, n: int, seed: int = 0) -> RedditCorpus:
    """A corpus of exactly ``n`` posts from ``base``: itself, a subsample, or ``base`` plus copies."""
    if n < 1:
        raise ValueError(f"a corpus needs at least one post, got {n}")
    if n == len(base):
        return base
    if n < len(base):
        return subsample(base, n, seed)
    return replicate(base, n, seed)


def subsample(base: RedditCorpus, n: int, seed: int = 0) -> RedditCorpus:
    """``n`` posts drawn without replacement (same ``seed``, same posts), in the base's order."""
    if not 1 <= n <= len(base):
        raise ValueError(f"cannot draw {n} of {len(base)} posts")
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(base), size=n, replace=False))
    return _take(base, rows, base.ids[rows], base.created[rows], base.url_key[rows], None, None)


def replicate(base: RedditCorpus, n: int, seed: int = 0) -> RedditCorpus:
    """``base`` unchanged followed by ``n - len(base)`` copies (see the module docstring).

    Copy ``j`` (1, 2, ...) is a full pass over the base posts in a random order, the last one cut
    short, so at 1M posts every real post has one copy and a third of them a second.
    """
    size = len(base)
    if n < size:
        raise ValueError(f"replicate grows a corpus: {n} < {size}")
    extra = n - size
    rng = np.random.default_rng(seed)
    passes = -(-extra // size)
    src = np.concatenate([rng.permutation(size) for _ in range(passes)])[:extra].astype(np.int64)
    copy = (np.arange(extra, dtype=np.int64) // size + 1).astype(np.int64)
    rows = np.concatenate([np.arange(size, dtype=np.int64), src])

    new_ids = int(base.ids.max()) + 1 + np.arange(extra, dtype=np.int64)
    ids = np.concatenate([base.ids, new_ids])

    lo, hi = float(base.created.min()), float(base.created.max())
    shift = rng.uniform(-JITTER_S, JITTER_S, size=extra)
    moved = base.created[src] + shift
    moved = np.where(moved > hi, base.created[src] - np.abs(shift), moved)  # reflect, no pile-up at the end
    created = np.concatenate([base.created, np.clip(moved, lo, hi)])

    # cross-post keys of copy j live in their own range; self posts keep unique negative keys
    url_base = base.url_key[src]
    stride = int(max(base.url_key.max(), 0)) + 1
    copy_keys = np.where(
        url_base >= 0, url_base + copy * stride, -(size + np.arange(extra, dtype=np.int64) + 1)
    )
    url_key = np.concatenate([base.url_key, copy_keys])

    titles = base.titles + [
        f"{base.titles[r]} r{c}" for r, c in zip(src.tolist(), copy.tolist(), strict=True)
    ]
    id_str = base.id_str + [base36(v) for v in new_ids.tolist()]
    return _take(base, rows, ids, created, url_key, titles, id_str)


def _take(
    base: RedditCorpus,
    rows: npt.NDArray[np.int64],
    ids: npt.NDArray[np.int64],
    created: npt.NDArray[np.float64],
    url_key: npt.NDArray[np.int64],
    titles: list[str] | None,
    id_str: list[str] | None,
) -> RedditCorpus:
    """A new corpus of ``base``'s rows ``rows`` with the given identity columns (the clock is kept)."""
    idx = rows.tolist()
    return RedditCorpus(
        ids=np.ascontiguousarray(ids, dtype=np.int64),
        community=base.community[rows],
        created=np.ascontiguousarray(created, dtype=np.float64),
        score=base.score[rows],
        ups=base.ups[rows],
        downs=base.downs[rows],
        num_comments=base.num_comments[rows],
        over_18=base.over_18[rows],
        is_self=base.is_self[rows],
        url_key=np.ascontiguousarray(url_key, dtype=np.int64),
        id_str=id_str if id_str is not None else [base.id_str[i] for i in idx],
        titles=titles if titles is not None else [base.titles[i] for i in idx],
        urls=[base.urls[i] for i in idx],
        permalinks=[base.permalinks[i] for i in idx],
        domains=[base.domains[i] for i in idx],
        communities=list(base.communities),
        subscribers=base.subscribers.copy(),
        now=base.now,
        source_path=f"{base.source_path}#scaled:{len(rows)}",
    )
