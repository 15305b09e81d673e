"""Logs the request's experiment exposures, after the response is ready.

The page was served with the variants' params, so this is where they took effect; the logger keeps
one exposure per unit, experiment and day (:mod:`feedmix.experiments.exposure`). Off the request
path: a slow or failed exposure log never delays or breaks a feed (a failure is counted, and the
unit's next request retries). Stamped with the wall clock, like the events analysis joins them to
(``query.now`` is the corpus's clock, which the demo sets in 2013). Campaign-unit experiments'
exposures are the campaigns that competed for the page (the ads blender names them); their unit is the
campaign id.
"""

from __future__ import annotations

import time
from typing import Any

from feedmix.components.blenders.ads_blender import CAMPAIGN_ASSIGNMENTS
from feedmix.components.query_hydrators.experiment_assignment_hydrator import ASSIGNMENTS
from feedmix.core.components import SideEffect
from feedmix.core.query import Query
from feedmix.experiments.exposure import ExposureLogger


class ExposureLogSideEffect(SideEffect):
    READS_QUERY = (ASSIGNMENTS,)
    owner = "experimentation"

    def __init__(self, identifier: str, exposures: ExposureLogger | None = None) -> None:
        super().__init__(identifier)
        #: None where the process runs no experiments
        self.exposures = exposures

    def run(self, query: Query, result: Any) -> None:
        assignments = [*(query.feature(ASSIGNMENTS) or ()), *query.annotations.get(CAMPAIGN_ASSIGNMENTS, ())]
        if assignments and self.exposures is not None:
            self.exposures.record(assignments, query.user_id, query.request_id, query.surface, time.time())
