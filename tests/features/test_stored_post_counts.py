"""StoredPostCounts: a replica that counts nothing reads exploration's counts from the post rows."""

from __future__ import annotations

from typing import Any

import numpy as np

from feedmix.features.backends import open_online_store
from feedmix.features.definitions import default_registry
from feedmix.features.entity_keys import post_keys
from feedmix.features.stored_post_counts import StoredPostCounts
from feedmix.stores.errors import StoreUnavailable


def test_counts_come_from_the_rows_and_unknown_posts_are_zero() -> None:
    store = open_online_store("memory://", default_registry())
    store.write("post", post_keys([5, 7]), {"impressions_24h": [10, 3], "clicks_24h": [2, 0]}, ts=1.0)
    impressions, clicks = StoredPostCounts(store).post_counts(np.array([7, 5, 9]), "24h")
    assert impressions.tolist() == [3, 10, 0] and clicks.tolist() == [0, 2, 0]
    assert impressions.dtype == np.int64


def test_a_store_that_is_down_reads_as_no_engagement() -> None:
    class Down:
        registry = default_registry()

        def read(self, *args: Any) -> None:
            raise StoreUnavailable("down")

    impressions, clicks = StoredPostCounts(Down()).post_counts(np.array([1, 2]), "24h")  # type: ignore[arg-type]
    assert impressions.tolist() == [0, 0] and clicks.tolist() == [0, 0]
