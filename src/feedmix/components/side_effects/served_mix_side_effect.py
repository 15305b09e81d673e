"""Counts what each feed served by source, off the request path.

The served mix (how much of the feed each source fills) is the first thing to look at when a
source changes; keeping the counting in a side effect keeps it off the response's latency.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from prometheus_client import Counter

from feedmix.core.components import SideEffect
from feedmix.core.query import Query

SERVED = Counter("feedmix_served_items_total", "Items served, by pipeline and source", ["pipeline", "source"])


class ServedMixSideEffect(SideEffect):
    READS = ("source",)

    def run(self, query: Query, result: Any) -> None:
        batch = result.page  # the pipeline's own items, not the ads blended in
        if len(batch) == 0 or not batch.has("source"):
            return
        counts = np.bincount(batch.column("source").astype(np.int64), minlength=len(result.source_names))
        for name, n in zip(result.source_names, counts, strict=True):
            if n:
                SERVED.labels(result.trace.pipeline, name).inc(int(n))
