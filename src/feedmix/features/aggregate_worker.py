"""An aggregate worker: reads the event stream as one consumer of a group, counts, acknowledges.

Serving replicas only append events to the log (and acknowledge the client once that is durable);
these workers turn the log into the engagement aggregates, as many as the event rate needs. Each
loop: first take over entries a dead consumer left pending (``claim`` after ``claim_idle_ms``), then
read new ones, apply them to the shared counts, and acknowledge them only after the counts are in:
a worker killed at any point leaves its entries pending, and the shared counts ignore the ones it
had already applied. Between reads, the worker that holds the flusher's lease writes the changed
rows to the online store.

Failures of Redis or the store are logged and retried after a pause; the entries stay pending
meanwhile, so nothing is lost, only late.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client import Counter

from feedmix.events.event_stream import EventStream
from feedmix.events.schema import Event
from feedmix.features.online_store import OnlineStore
from feedmix.features.shared_aggregates import SharedAggregates

log = logging.getLogger(__name__)

WORKER_ENTRIES = Counter(
    "feedmix_aggregate_worker_entries_total", "Event-stream entries an aggregate worker handled", ["how"]
)
WORKER_FAILURES = Counter("feedmix_aggregate_worker_failures_total", "Aggregate worker loops that failed")


@dataclass
class WorkerStats:
    read: int = 0
    claimed: int = 0
    counted: int = 0
    acked: int = 0
    flushes: int = 0
    failures: int = 0


class AggregateWorker:
    def __init__(
        self,
        stream: EventStream[Event],
        aggregates: SharedAggregates,
        store: OnlineStore | None,
        consumer: str,
        *,
        batch: int = 500,
        block_ms: int = 500,
        claim_idle_ms: int = 30_000,
        flush_interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream
        self._aggregates = aggregates
        self._store = store
        self.consumer = consumer
        self.batch = batch
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.flush_interval_s = flush_interval_s
        self._clock = clock
        self._last_flush = 0.0
        self.stats = WorkerStats()

    def step(self) -> int:
        """One loop: claim, read, count, acknowledge, maybe flush; returns entries handled."""
        claimed = self._stream.claim(self.consumer, self.claim_idle_ms, self.batch)
        fresh = self._stream.read(self.consumer, self.batch, 0 if claimed else self.block_ms)
        self.stats.claimed += len(claimed)
        self.stats.read += len(fresh)
        WORKER_ENTRIES.labels("claimed").inc(len(claimed))
        WORKER_ENTRIES.labels("read").inc(len(fresh))
        entries = claimed + fresh
        if entries:
            self._handle(entries)
        self._maybe_flush()
        return len(entries)

    def _handle(self, entries: Sequence[tuple[int, Event]]) -> None:
        self.stats.counted += self._aggregates.apply(entries, self._clock())
        self.stats.acked += self._stream.ack([offset for offset, _ in entries])

    def _maybe_flush(self, force: bool = False) -> None:
        if self._store is None:
            return
        now = self._clock()
        if force or now - self._last_flush >= self.flush_interval_s:
            self._last_flush = now
            if self._aggregates.flush(self._store, now) is not None:
                self.stats.flushes += 1

    def run(self, stop: threading.Event, retry_s: float = 1.0) -> WorkerStats:
        """Loop until ``stop`` is set; then flush once more (if this worker holds the lease)."""
        while not stop.is_set():
            try:
                self.step()
            except Exception:
                self.stats.failures += 1
                WORKER_FAILURES.inc()
                log.warning("aggregate worker %s: loop failed; retrying", self.consumer, exc_info=True)
                stop.wait(retry_s)
        try:
            self._maybe_flush(force=True)
            self._aggregates.release_lease()
        except Exception:
            log.warning("aggregate worker %s: final flush failed", self.consumer, exc_info=True)
        return self.stats
