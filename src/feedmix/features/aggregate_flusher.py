"""Writes the streaming aggregates to the online store in the background, and once more at close.

Ingestion applies events to the ``EngagementAggregator`` in process (cheap); this thread writes the
rows that changed to the online store every ``interval_s`` seconds, where the hydrators read them.
Values in the store are therefore at most about one interval behind the events. Rows are written
whole, from this process's counts: with several serving replicas each ingesting part of the
events, route ingestion to one process (or shard it by entity) so that replicas do not overwrite
each other's rows.

A failed flush (Redis down or slow) never loses counts: the aggregator keeps the unwritten rows
marked, and the next tick recomputes them from the windows and writes the then-current values.
The failure is counted (``feedmix_feature_flush_failures_total``) and logged, as a warning when an
outage begins and at debug level while it lasts, then once more when a flush succeeds again, so a
long outage does not flood the log. The first flush after a failure rewrites every row the
aggregator holds, not only the changed ones: the outage may have been a Redis restart that lost
the rows written before it, and nothing else would put back the values of quiet entities.

``close`` stops the thread and makes a final flush; if that one fails too, the counts since the
last good flush are not in the store (the event log still has their events).
"""

from __future__ import annotations

import logging
import threading
import time

from prometheus_client import Counter, Histogram

from feedmix.features.online_store import OnlineStore
from feedmix.features.streaming_aggregates import EngagementAggregator

log = logging.getLogger(__name__)

FLUSH_FAILURES = Counter(
    "feedmix_feature_flush_failures_total",
    "Flushes of the streaming aggregates to the online store that failed (retried next tick)",
)
FLUSH_ROWS = Counter(
    "feedmix_feature_flush_rows_total", "Aggregate rows written to the online store", ["entity"]
)
FLUSH_SECONDS = Histogram(
    "feedmix_feature_flush_seconds",
    "Wall time of one aggregate flush",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


class AggregateFlusher:
    """A daemon thread calling ``aggregator.flush(store)`` every ``interval_s`` seconds."""

    def __init__(
        self,
        aggregator: EngagementAggregator,
        store: OnlineStore,
        interval_s: float = 1.0,
        *,
        start: bool = True,
    ) -> None:
        if not interval_s > 0:
            raise ValueError("interval_s must be > 0")
        self.aggregator = aggregator
        self.store = store
        self.interval_s = float(interval_s)
        self._stop = threading.Event()
        self._closed = False
        #: flushes attempted, and those that failed (total and in the current run of failures)
        self.flushes = 0
        self.failures = 0
        self.consecutive_failures = 0
        self._thread: threading.Thread | None = None
        if start:
            self._thread = threading.Thread(target=self._run, name="feature-flusher", daemon=True)
            self._thread.start()

    def flush(self) -> bool:
        """Write the changed rows now; False (never an exception) when the store refused them."""
        t0 = time.perf_counter()
        self.flushes += 1
        try:
            if self.consecutive_failures:
                self.aggregator.mark_all()
            written = self.aggregator.flush(self.store)
        except Exception as exc:  # a store error, or a bug: the thread must survive both
            self.failures += 1
            self.consecutive_failures += 1
            FLUSH_FAILURES.inc()
            if self.consecutive_failures == 1:
                log.warning("feature flush failed, rows kept for the next one: %s", exc)
            else:
                log.debug("feature flush failed again (%d in a row): %s", self.consecutive_failures, exc)
            return False
        finally:
            FLUSH_SECONDS.observe(time.perf_counter() - t0)
        if self.consecutive_failures:
            log.info("feature flush works again after %d failures", self.consecutive_failures)
            self.consecutive_failures = 0
        for entity, rows in written.items():
            FLUSH_ROWS.labels(entity).inc(rows)
        return True

    def close(self) -> None:
        """Stop the thread, then flush what is left (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()
