"""Post impressions and clicks read from the online store's post rows, for servers that count nothing.

With the aggregates in workers mode a serving replica holds no counts of its own; the exploration
source's question (how often was each young post shown and clicked today?) is then answered from the
rows the aggregate workers wrote, ``impressions_<window>`` and ``clicks_<window>``: one MGET for the
whole pool, at most one flush interval behind the events. A store that is down answers zeros (every
post looks unexplored), which keeps the feed up: exploration only costs a few slots.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from feedmix.features.entity_keys import post_keys
from feedmix.features.online_store import OnlineStore
from feedmix.stores.errors import StoreUnavailable

log = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]


class StoredPostCounts:
    def __init__(self, store: OnlineStore) -> None:
        self._store = store

    def post_counts(self, post_ids: IntArray, window: str) -> tuple[IntArray, IntArray]:
        names = [f"impressions_{window}", f"clicks_{window}"]
        try:
            read = self._store.read("post", post_keys(post_ids), names)
        except StoreUnavailable:
            log.warning("online store unavailable: exploration sees no engagement this request")
            zeros = np.zeros(len(post_ids), dtype=np.int64)
            return zeros, zeros.copy()
        return (
            read.columns[names[0]].astype(np.int64, copy=False),
            read.columns[names[1]].astype(np.int64, copy=False),
        )
