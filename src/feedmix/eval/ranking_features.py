"""Features of (user, candidate) pairs for the MovieLens ranker, each as of the user's request time.

Every feature is computed from what one snapshot (``feedmix.eval.protocols.Snapshot``) may know, so
the no-leak argument is the protocol's: batch-model features (each source's score and rank, the ALS
dot product and item norm, item-kNN scores) come from ``snapshot_scores``, whose models are fitted on
``snap.knowledge``; request-time features (item and user counts, mean ratings, ages, the user's latest
likes) come from ``Timeline`` queries over ``snap.realtime`` restricted to ratings *strictly before*
each user's own ``request_ts``. A rating at or after a user's request time cannot reach that user's
row; ``tests/eval/test_movielens_ranking.py`` plants such ratings and checks.

``Timeline`` answers "how many ratings of group g (an item, a user) before time t, and what do their
values sum to" for many (g, t) pairs at once: the ratings sorted by (group, time) plus prefix sums,
queried with one ``searchsorted`` over an integer (group, time rank) key, so a snapshot's ~100k
candidate pairs cost a few milliseconds and no per-pair Python.

Missing values: a source that has no score for a candidate (``-inf``) gives NaN, which LightGBM
treats as missing and routes down a learned branch; a candidate outside a source's top list gets
rank ``width`` (one past the last), the sentinel the trees split on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from feedmix.eval.movielens import DAY_S, SnapshotScores
from feedmix.eval.movielens_data import MovieLensData
from feedmix.eval.protocols import Snapshot

FloatArray = npt.NDArray[np.float64]
FloatMatrix = npt.NDArray[np.float32]
RowArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Timeline:
    """Ratings grouped by a key (item or user row), each group sorted by time, with prefix sums."""

    #: per sorted rating: its index in the arrays ``build`` was given, its group and its time
    order: RowArray
    group: RowArray
    ts: FloatArray
    #: ``start[g]``: index of group g's first rating; ``start[n_groups]`` = number of ratings
    start: RowArray
    #: per value name: prefix sums, ``cum[name][i]`` = sum over sorted ratings before index i
    cum: Mapping[str, FloatArray]
    #: distinct rating times, sorted; ``_key`` orders ratings by (group, rank of time)
    times: FloatArray
    _key: RowArray

    @classmethod
    def build(
        cls, group: RowArray, ts: FloatArray, n_groups: int, values: Mapping[str, FloatArray]
    ) -> Timeline:
        order = np.lexsort((ts, group))
        g, t = group[order], ts[order]
        times = np.unique(t)
        key = g * (times.size + 1) + np.searchsorted(times, t)
        start = np.searchsorted(g, np.arange(n_groups + 1))
        cum = {
            name: np.concatenate([[0.0], np.cumsum(np.asarray(v, dtype=np.float64)[order])])
            for name, v in values.items()
        }
        return cls(order.astype(np.int64), g, t, start.astype(np.int64), cum, times, key.astype(np.int64))

    def before(self, group: RowArray, t: FloatArray) -> RowArray:
        """End of ``group``'s ratings strictly before ``t``: they are ``[start[group], end)``."""
        q = np.searchsorted(self.times, t, side="left")  # distinct times < t
        end: RowArray = np.searchsorted(self._key, group * (self.times.size + 1) + q, side="left")
        return end

    def count(self, group: RowArray, t: FloatArray) -> FloatArray:
        counts: FloatArray = (self.before(group, t) - self.start[group]).astype(np.float64)
        return counts

    def total(self, name: str, group: RowArray, t: FloatArray) -> FloatArray:
        """Sum of value ``name`` over ``group``'s ratings before ``t``."""
        c = self.cum[name]
        out: FloatArray = c[self.before(group, t)] - c[self.start[group]]
        return out

    def first_ts(self, group: RowArray, t: FloatArray) -> FloatArray:
        """Time of ``group``'s first rating, NaN where it has none before ``t``."""
        has = self.count(group, t) > 0
        first = self.ts[np.minimum(self.start[group], max(self.ts.size - 1, 0))] if self.ts.size else 0.0
        return np.where(has, first, np.nan)

    def last_ts(self, group: RowArray, t: FloatArray) -> FloatArray:
        """Time of ``group``'s latest rating before ``t``, NaN where it has none."""
        end = self.before(group, t)
        has = end > self.start[group]
        last = self.ts[np.maximum(end - 1, 0)] if self.ts.size else 0.0
        return np.where(has, last, np.nan)

    def latest(self, group: RowArray, t: FloatArray, n: int) -> RowArray:
        """Per query, the ``build`` indices of ``group``'s last ``n`` ratings before ``t``, -1 padded."""
        end = self.before(group, t)
        begin = np.maximum(end - n, self.start[group])
        idx = begin[:, None] + np.arange(n)[None, :]
        out: RowArray = np.where(
            idx < end[:, None], self.order[np.minimum(idx, max(self.order.size - 1, 0))], -1
        )
        return out


#: request-time popularity windows, days before the request
RECENT_WINDOWS_DAYS = (30.0, 365.0)
#: the user's latest likes that the "recent item-kNN" feature starts from
RECENT_LIKES = 10


def feature_names(sources: Sequence[str], windows_days: Sequence[float] = RECENT_WINDOWS_DAYS) -> list[str]:
    """Column names of ``candidate_features`` in order."""
    names: list[str] = []
    for s in sources:
        names += [f"{s}_score", f"{s}_rank"]
    names += ["union_position", "n_sources", "als_item_norm", "item_knn_recent"]
    names += ["item_positives", "item_ratings", "item_mean_rating"]
    names += [f"item_positives_{d:g}d" for d in windows_days]
    names += ["item_age_days", "item_days_since_last_rating"]
    names += ["user_ratings", "user_positives", "user_mean_rating"]
    names += ["user_days_since_first", "user_days_since_last"]
    return names


@dataclass(frozen=True)
class RequestTimelines:
    """What request-time features read, from the ratings under one ``realtime`` mask."""

    realtime: BoolArray
    #: every rating, by item: counts, positives and star sums
    by_item: Timeline
    #: every rating, by user
    by_user: Timeline
    #: positive ratings by user, and their items in ``build`` order (the latest likes)
    likes_by_user: Timeline
    liked_items: RowArray

    @classmethod
    def of(cls, data: MovieLensData, realtime: BoolArray) -> RequestTimelines:
        values = {"positive": data.positive[realtime].astype(np.float64), "rating": data.rating[realtime]}
        likes = realtime & data.positive
        return cls(
            realtime,
            Timeline.build(data.item_rows[realtime], data.ts[realtime], len(data.items), values),
            Timeline.build(data.user_rows[realtime], data.ts[realtime], len(data.users), values),
            Timeline.build(data.user_rows[likes], data.ts[likes], len(data.users), {}),
            data.item_rows[likes],
        )


def _nan_if_inf(x: npt.NDArray[np.floating]) -> FloatArray:
    out = np.asarray(x, dtype=np.float64)
    return np.where(np.isfinite(out), out, np.nan)


def _ranks(lists: RowArray, n_items: int, rows: RowArray, items: RowArray) -> FloatArray:
    """Position of ``items[i]`` in ``lists[rows[i]]``; ``lists.shape[1]`` (the sentinel) if absent."""
    width = lists.shape[1]
    dense = np.full((lists.shape[0], n_items + 1), width, dtype=np.int32)
    r = np.repeat(np.arange(lists.shape[0]), width)
    # -1 padding lands in the spare last column, which no query reads
    dense[r, np.where(lists >= 0, lists, n_items).ravel()] = np.tile(
        np.arange(width, dtype=np.int32), lists.shape[0]
    )
    return dense[rows, items].astype(np.float64)


def candidate_features(
    data: MovieLensData,
    snap: Snapshot,
    scored: SnapshotScores,
    source_lists: Mapping[str, RowArray],
    pool: RowArray,
    *,
    timelines: RequestTimelines | None = None,
    windows_days: Sequence[float] = RECENT_WINDOWS_DAYS,
    recent_likes: int = RECENT_LIKES,
) -> FloatMatrix:
    """One row per valid cell of ``pool`` (row-major: user by user, in pool order), with the
    ``feature_names`` columns.

    ``pool[u]`` are the candidates of ``snap.users[u]``, ``source_lists[s]`` each source's top list
    for the same users (the rank features), ``scored`` their dense scores; ``timelines`` must have
    been built from ``snap.realtime`` (it is when omitted).
    """
    if timelines is None:
        timelines = RequestTimelines.of(data, snap.realtime)
    elif timelines.realtime is not snap.realtime and not np.array_equal(timelines.realtime, snap.realtime):
        raise ValueError("timelines were built from another realtime mask than the snapshot's")
    n_items = len(data.items)
    rows, cols = np.nonzero(pool >= 0)
    items = pool[rows, cols]
    out: list[FloatArray] = []
    # batch models, fitted on ``snap.knowledge`` by ``snapshot_scores``
    in_lists = np.zeros(rows.size, dtype=np.float64)
    for s, lst in source_lists.items():
        out.append(_nan_if_inf(scored.scores[s][rows, items]))
        rank = _ranks(lst, n_items, rows, items)
        in_lists += rank < lst.shape[1]
        out.append(rank)
    out += [cols.astype(np.float64), in_lists]
    if scored.als_item_vectors is not None:
        norms = np.linalg.norm(scored.als_item_vectors, axis=1).astype(np.float64)[items]
        out.append(np.where(norms > 0, norms, np.nan))
    else:
        out.append(np.full(rows.size, np.nan))
    # request-time reads: ratings under ``snap.realtime`` strictly before each user's request
    user_t, t = snap.request_ts, snap.request_ts[rows]
    if scored.item_knn is not None:
        # item-kNN from the user's latest likes only: what they watch now, not their all-time taste
        latest = timelines.likes_by_user.latest(snap.users, user_t, recent_likes)
        valid = latest >= 0
        recent = sp.csr_matrix(
            (
                np.ones(int(valid.sum()), dtype=np.float32),
                (np.nonzero(valid)[0], timelines.liked_items[latest[valid]]),
            ),
            shape=(snap.users.size, n_items),
        )
        out.append(scored.item_knn.scores(recent)[rows, items].astype(np.float64))
    else:
        out.append(np.full(rows.size, np.nan))
    by_item = timelines.by_item
    n_ratings = by_item.count(items, t)
    positives = by_item.total("positive", items, t)
    with np.errstate(invalid="ignore", divide="ignore"):
        out += [
            positives,
            n_ratings,
            np.where(n_ratings > 0, by_item.total("rating", items, t) / n_ratings, np.nan),
        ]
    out += [positives - by_item.total("positive", items, t - d * DAY_S) for d in windows_days]
    out += [(t - by_item.first_ts(items, t)) / DAY_S, (t - by_item.last_ts(items, t)) / DAY_S]
    by_user, users = timelines.by_user, snap.users
    n_user = by_user.count(users, user_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_user = [
            n_user,
            by_user.total("positive", users, user_t),
            np.where(n_user > 0, by_user.total("rating", users, user_t) / n_user, np.nan),
            (user_t - by_user.first_ts(users, user_t)) / DAY_S,
            (user_t - by_user.last_ts(users, user_t)) / DAY_S,
        ]
    out += [c[rows] for c in per_user]
    return np.column_stack(out).astype(np.float32)
