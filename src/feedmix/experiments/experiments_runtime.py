"""A serving process's experiments: the store, the assigner kept in step with it, the exposure log.

Opened in order and closed in reverse on one exit stack, like every subsystem of the runtime, so a
failed start leaves no connection or thread behind.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

from feedmix.events.event_log import EventLog
from feedmix.experiments.assigner_handle import AssignerHandle
from feedmix.experiments.backends import open_experiment_store, open_exposure_log
from feedmix.experiments.experiment_store import ExperimentStore
from feedmix.experiments.exposure import Exposure, ExposureLogger
from feedmix.experiments.request_stats import RequestStats, StatsFlusher


@dataclass
class ExperimentsRuntime:
    store: ExperimentStore
    exposure_log: EventLog[Exposure]
    exposures: ExposureLogger
    assigner: AssignerHandle
    #: per-variant request counts (latency, errors), added to the store by its flusher
    request_stats: RequestStats
    stats_flusher: StatsFlusher
    resources: ExitStack

    def close(self) -> None:
        self.resources.close()


def open_experiments(
    store_url: str,
    exposure_log_url: str,
    community_id: Callable[[str], int | None] | None = None,
    refresh_interval_s: float = 2.0,
    stats_interval_s: float = 10.0,
) -> ExperimentsRuntime:
    with ExitStack() as stack:
        store = open_experiment_store(store_url)
        stack.callback(store.close)
        exposure_log = open_exposure_log(exposure_log_url)
        stack.callback(exposure_log.close)
        assigner = AssignerHandle(store, community_id, refresh_interval_s)
        stack.callback(assigner.close)  # the watcher stops before the store closes
        assigner.start_watching()
        request_stats = RequestStats()
        flusher = StatsFlusher(request_stats, store, stats_interval_s)
        stack.callback(flusher.close)  # first on close: the last counts reach the store
        return ExperimentsRuntime(
            store=store,
            exposure_log=exposure_log,
            exposures=ExposureLogger(exposure_log),
            assigner=assigner,
            request_stats=request_stats,
            stats_flusher=flusher,
            resources=stack.pop_all(),
        )
