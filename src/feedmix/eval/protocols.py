"""Evaluation protocols: what each group of test users' sources may know, as rating masks.

A ``Snapshot`` is one model retrain and the users it serves. Batch sources (popularity, ALS, item-kNN)
learn from ``knowledge``; request-time sources (trending counts, the catalogue of items that exist)
read ``realtime`` up to each user's own request time. ``feedmix.eval.movielens`` explains why there
are two protocols and what each one leaks or does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feedmix.eval.splits import TemporalSplit

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
RowArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Snapshot:
    """What the sources may know when serving ``users``."""

    users: RowArray
    #: per rating: what batch-trained models (popularity, ALS, item-kNN) learn from
    knowledge: BoolArray
    #: per rating: what request-time sources (trending, the catalogue) may read, before each request
    realtime: BoolArray
    #: per user: the request time (their split time); trending windows end here
    request_ts: FloatArray
    #: per user: items first rated at or after this are not in the catalogue yet
    catalogue_clock: FloatArray
    #: ``knowledge`` holds only ratings before this (+inf: no time limit)
    model_cutoff: float = np.inf


def leave_latest_snapshots(split: TemporalSplit, users: RowArray) -> list[Snapshot]:
    """One model on every training rating, whatever its time; the catalogue is everything in them."""
    train = ~split.test
    return [Snapshot(users, train, train, split.cut_ts[users], np.full(users.size, np.inf))]


def time_consistent_snapshots(
    ts: FloatArray, split: TemporalSplit, users: RowArray, n_snapshots: int
) -> list[Snapshot]:
    """Users grouped by split time; each group's models see only ratings before its earliest split."""
    request = split.cut_ts[users]
    order = np.argsort(request, kind="stable")
    everything = np.ones(ts.shape, dtype=np.bool_)
    snaps = []
    for group in np.array_split(order, n_snapshots):
        if group.size == 0:
            continue
        g_users, g_request = users[group], request[group]
        cutoff = float(g_request.min())
        snaps.append(Snapshot(g_users, ts < cutoff, everything, g_request, g_request, cutoff))
    return snaps
