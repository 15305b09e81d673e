"""Counts the request for its experiments' variants: its latency bucket and whether it was degraded.

Latency and errors are the guardrails every experiment carries (a treatment that ranks better but
serves slower or fails more is not a win), and only the serving process sees them; the counts are
added to the experiment store in batches (:mod:`feedmix.experiments.request_stats`). Off the request
path, after the response.
"""

from __future__ import annotations

import time
from typing import Any

from feedmix.components.query_hydrators.experiment_assignment_hydrator import ASSIGNMENTS
from feedmix.core.components import SideEffect
from feedmix.core.query import Query
from feedmix.experiments.request_stats import RequestStats


class RequestStatsSideEffect(SideEffect):
    READS_QUERY = (ASSIGNMENTS,)
    owner = "experimentation"

    def __init__(self, identifier: str, request_stats: RequestStats | None = None) -> None:
        super().__init__(identifier)
        #: None where the process runs no experiments
        self.request_stats = request_stats

    def run(self, query: Query, result: Any) -> None:
        assignments = query.feature(ASSIGNMENTS) or ()
        if assignments and self.request_stats is not None:
            self.request_stats.record(assignments, result.trace.wall_ms, result.degraded, time.time())
