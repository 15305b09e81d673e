"""Interaction logs as sparse user × item confidence matrices, with the id maps to get back.

Every embedding trainer and evaluator in feedmix starts from the same three steps, kept here so
they agree on what a positive is:

1. an ``Interactions`` log: parallel arrays ``(user_key, item_key, weight, ts)``, one row per event;
2. ``IdMap``s: sorted unique keys, so key → row is one vectorised ``searchsorted`` and row → key is
   an index (user keys are strings from our event log, item keys int64 post ids or movie ids);
3. ``build_matrix``: weights summed per (user, item) pair, then clipped at zero.

Feed events get weights by type (``EVENT_WEIGHTS``): an impression is 0, a click 1, an upvote 2,
a downvote or a hide -1. The weights of a pair are *summed before clipping*, so a click followed by
a hide nets to 0 (the user regretted it) and an upvote followed by a hide still counts 1. The clip
exists because implicit-feedback ALS reads a value as "confidence that the user likes the item"
(Hu, Koren and Volinsky 2008) and item-kNN and BPR take no negatives at all; a disliked post is
simply not a positive, the same as a post never shown. Impressions carry no confidence, but they
(and every other event) enter the ``seen`` matrix: what a user has already been shown is what an
offline evaluation excludes from their candidates, as the feed's seen-posts filter does online.

MovieLens (``movielens_interactions``) follows the same convention so that every method and the
evaluation share one definition of relevance: a rating of 4 or more is a positive with weight 1,
a lower rating is weight 0 (the user saw the film, like an impression, and did not like it). Binary
rather than rating-weighted confidence because the test side needs a yes/no "relevant" label, and
training on a graded signal while testing on a binary one would favour whichever method happens to
use the same threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow.csv as pacsv
import scipy.sparse as sp

from feedmix.events.backends import open_event_log
from feedmix.events.event_log import EventLog
from feedmix.events.post_ids import post_ids_to_int
from feedmix.events.schema import EventType

KeyArray = npt.NDArray[Any]  # int64 or fixed-width unicode
RowArray = npt.NDArray[np.int64]

#: confidence each feed event adds to its (user, post) pair, before the per-pair clip at zero
EVENT_WEIGHTS: Mapping[EventType, float] = {
    "impression": 0.0,
    "click": 1.0,
    "upvote": 2.0,
    "downvote": -1.0,
    "hide": -1.0,
    "comment": 2.0,
}

MOVIELENS_DIR = "movielens-latest-small"
#: MovieLens ratings at or above this are positives (weight 1), below it seen-only (weight 0)
POSITIVE_RATING = 4.0


@dataclass(frozen=True)
class IdMap:
    """Sorted unique keys; the row of a key is its position (``rows_of``), the key of a row an index."""

    keys: KeyArray

    @classmethod
    def from_keys(cls, keys: KeyArray) -> IdMap:
        return cls(np.unique(np.asarray(keys)))

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    def rows_of(self, keys: KeyArray) -> RowArray:
        """Row of each key, -1 for a key not in the map."""
        keys = np.asarray(keys)
        if len(self) == 0 or keys.size == 0:
            return np.full(keys.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.keys, keys)
        clipped = np.minimum(pos, len(self) - 1)
        found = self.keys[clipped] == keys
        return np.where(found, clipped, -1).astype(np.int64)

    def keys_of(self, rows: RowArray) -> KeyArray:
        return self.keys[np.asarray(rows, dtype=np.int64)]


@dataclass(frozen=True)
class Interactions:
    """An event log as parallel columns: who, what, how much confidence, when (unix seconds)."""

    user_keys: KeyArray
    item_keys: KeyArray
    weights: npt.NDArray[np.float32]
    ts: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        n = len(self.user_keys)
        if not (len(self.item_keys) == len(self.weights) == len(self.ts) == n):
            raise ValueError("user_keys, item_keys, weights and ts must have the same length")

    def __len__(self) -> int:
        return len(self.user_keys)

    def select(self, mask: npt.NDArray[np.bool_] | RowArray) -> Interactions:
        """The rows under a boolean mask or an index array, as a new log."""
        return Interactions(self.user_keys[mask], self.item_keys[mask], self.weights[mask], self.ts[mask])

    def window(self) -> dict[str, float | int | None]:
        """The data window (event count and first/last ts), recorded in trained models' meta."""
        ts = self.ts[~np.isnan(self.ts)]
        return {
            "events": len(self),
            "ts_min": float(ts.min()) if ts.size else None,
            "ts_max": float(ts.max()) if ts.size else None,
        }


@dataclass(frozen=True)
class InteractionMatrix:
    """A log aggregated per (user, item): ``confidence`` (net weight, clipped ≥ 0, zeros dropped)
    and ``seen`` (every pair with any event), both ``len(users) × len(items)`` CSR."""

    confidence: sp.csr_matrix
    seen: sp.csr_matrix
    users: IdMap
    items: IdMap
    window: dict[str, float | int | None]

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.users), len(self.items))


def build_matrix(
    interactions: Interactions, *, users: IdMap | None = None, items: IdMap | None = None
) -> InteractionMatrix:
    """Aggregate a log into confidence and seen matrices.

    Pass ``users``/``items`` to build in a fixed index space (an evaluation scoring every snapshot
    against one catalogue does); events whose keys are not in a given map are dropped.
    """
    users = users if users is not None else IdMap.from_keys(interactions.user_keys)
    items = items if items is not None else IdMap.from_keys(interactions.item_keys)
    rows = users.rows_of(interactions.user_keys)
    cols = items.rows_of(interactions.item_keys)
    keep = (rows >= 0) & (cols >= 0)
    rows, cols = rows[keep], cols[keep]
    shape = (len(users), len(items))
    # COO -> CSR sums duplicate (row, col) entries: the net weight of each pair
    net = sp.coo_matrix(
        (interactions.weights[keep].astype(np.float32), (rows, cols)), shape=shape, dtype=np.float32
    ).tocsr()
    net.data = np.maximum(net.data, 0.0)
    net.eliminate_zeros()
    net.sort_indices()
    seen = sp.coo_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=shape).tocsr()
    seen.data[:] = 1.0
    seen.sort_indices()
    return InteractionMatrix(net, seen, users, items, interactions.select(keep).window())


class EventLogRead(NamedTuple):
    interactions: Interactions
    #: offset of the last event read: pass it as ``after`` to read only what came since
    last_offset: int


def interactions_from_event_log(
    log: EventLog | str,
    *,
    after: int = 0,
    start_ts: float | None = None,
    end_ts: float | None = None,
    weights: Mapping[EventType, float] = EVENT_WEIGHTS,
    page_size: int = 10_000,
) -> EventLogRead:
    """Read our event log (``open_event_log`` URL or an open log) into an ``Interactions`` log.

    Users are keyed by their ``user_id`` string, posts by their int64 id (base36 decoded), so a
    trained model's item ids are the ids the corpus and ``CandidateBatch`` already use. Events with
    ``ts`` outside ``[start_ts, end_ts)`` are skipped, which is how a trainer takes a time window
    (``end_ts`` exclusive, so a model for time T never sees an event at T). Events without ``ts``
    (ingestion always sets it; only direct appends lack it) get NaN and are skipped by any window.
    """
    opened = isinstance(log, str)
    source: EventLog = open_event_log(log) if isinstance(log, str) else log
    users: list[str] = []
    posts: list[str] = []
    kinds: list[float] = []
    times: list[float] = []
    cursor = after
    try:
        while page := source.read(after=cursor, limit=page_size):
            for _offset, event in page:
                users.append(event.user_id)
                posts.append(event.post_id)
                kinds.append(weights[event.type])
                times.append(math.nan if event.ts is None else float(event.ts))
            cursor = page[-1][0]
    finally:
        if opened:
            source.close()
    ts = np.asarray(times, dtype=np.float64)
    keep = np.ones(ts.shape, dtype=np.bool_)
    if start_ts is not None:
        keep &= ts >= start_ts
    if end_ts is not None:
        keep &= ts < end_ts
    log_rows = Interactions(
        np.asarray(users, dtype=np.str_) if users else np.empty(0, dtype="<U1"),
        post_ids_to_int(posts),
        np.asarray(kinds, dtype=np.float32),
        ts,
    )
    return EventLogRead(log_rows.select(keep), cursor)


def movielens_dir(data_dir: str | Path) -> Path:
    """Accept the MovieLens folder itself or a data root holding ``movielens-latest-small/``."""
    p = Path(data_dir)
    for candidate in (p, p / MOVIELENS_DIR):
        if (candidate / "ratings.csv").is_file():
            return candidate
    raise FileNotFoundError(f"no ratings.csv at {p} (nor in {p / MOVIELENS_DIR})")


def movielens_interactions(data_dir: str | Path, *, min_rating: float = POSITIVE_RATING) -> Interactions:
    """MovieLens ratings as a log: weight 1 for ``rating >= min_rating``, else 0 (seen, not liked).

    Users and items are keyed by their MovieLens ``userId`` and ``movieId`` (int64).
    """
    table = pacsv.read_csv(movielens_dir(data_dir) / "ratings.csv")
    rating = table["rating"].to_numpy()
    return Interactions(
        table["userId"].to_numpy().astype(np.int64),
        table["movieId"].to_numpy().astype(np.int64),
        (rating >= min_rating).astype(np.float32),
        table["timestamp"].to_numpy().astype(np.float64),
    )
