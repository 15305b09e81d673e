"""Ingestion: make a validated batch durable, then update the online state that depends on it.

Order matters. The log is written first and its failure fails the call (the client retries; the
log is idempotent, so retrying is always safe). The seen store is updated after, and its failure
is only logged and counted: the event is already durable, and failing the call would make the
client resend events the log already has, for no gain. A missed seen-store update costs at most a
repeated post in someone's feed.

Then the real-time aggregates (``consumers``, e.g. the ``EngagementAggregator``) get the events the
log stored *in this call* (``AppendResult.fresh``), so a retried batch is counted once, like the
log stores it once. They run in process and should not fail; if one does, it is logged and counted
(``feedmix_ingest_consumer_failures_total``) and the call still succeeds: the log has the events.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from typing import Protocol

from prometheus_client import Counter

from feedmix.events.event_log import AppendResult, EventLog
from feedmix.events.post_ids import post_ids_to_int
from feedmix.events.schema import Event, EventBatch, EventType
from feedmix.stores.errors import StoreUnavailable
from feedmix.stores.seen_store import SeenStore

log = logging.getLogger(__name__)

INGESTED = Counter("feedmix_ingest_events_total", "Events received by ingestion", ["result"])
SEEN_FAILURES = Counter("feedmix_ingest_seen_store_failures_total", "Seen-store updates that failed")

CONSUMER_FAILURES = Counter(
    "feedmix_ingest_consumer_failures_total", "Event batches a consumer (aggregates) failed to apply"
)

SEEN_TYPES: tuple[EventType, ...] = ("impression", "hide")


class EventConsumer(Protocol):
    """Applies events the log has stored (the streaming aggregates)."""

    def apply(self, events: Sequence[Event], now: float) -> None: ...


class EventIngestor:
    """Turns an ``EventBatch`` into a durable log append plus seen-store updates.

    Seen-store entries are stamped with the server's ``now``, not the events' ``ts``: client
    clocks drift, and a far-future ``ts`` would pin a post at the head of the seen set (scores only
    ever increase). It also means one ``add`` per user per batch. Every impression/hide in the
    batch is applied, duplicates included, so a retry repairs a seen-store update that failed the
    first time.
    """

    def __init__(
        self,
        log: EventLog,
        seen: SeenStore,
        seen_types: Collection[EventType] = SEEN_TYPES,
        consumers: Sequence[EventConsumer] = (),
    ) -> None:
        self._log = log
        self._seen = seen
        self._consumers = tuple(consumers)
        self._seen_types = frozenset(seen_types)
        self._lock = threading.Lock()
        self.seen_failures = 0

    def ingest(self, batch: EventBatch, now: float) -> AppendResult:
        """Append the batch (``ts`` filled with ``now`` where missing), then mark posts seen.

        Raises ``EventLogUnavailable`` if the log could not store the batch; never raises for the
        seen store.
        """
        events = [e if e.ts is not None else e.model_copy(update={"ts": now}) for e in batch.events]
        result = self._log.append(events)
        INGESTED.labels("accepted").inc(result.accepted)
        INGESTED.labels("duplicate").inc(result.duplicates)
        self._mark_seen(events, now)
        if self._consumers:
            self._feed_consumers(events, result, now)
        return result

    def _feed_consumers(self, events: Sequence[Event], result: AppendResult, now: float) -> None:
        if result.fresh is not None:
            stored = [events[i] for i in result.fresh]
        elif result.duplicates == 0:
            stored = list(events)
        else:  # a backend that cannot say which were new: counting them could count twice
            log.warning("event log did not name its new events; %d not aggregated", result.accepted)
            return
        if not stored:
            return
        for consumer in self._consumers:
            try:
                consumer.apply(stored, now)
            except Exception:
                CONSUMER_FAILURES.inc()
                log.exception("%s could not apply %d events", type(consumer).__name__, len(stored))

    def _mark_seen(self, events: Sequence[Event], now: float) -> None:
        by_user: dict[str, list[str]] = {}
        for e in events:
            if e.type in self._seen_types:
                by_user.setdefault(e.user_id, []).append(e.post_id)
        for user_id, post_ids in by_user.items():
            try:
                self._seen.add(user_id, post_ids_to_int(post_ids), now)
            except StoreUnavailable as exc:
                self._count_failure()
                log.warning(
                    "seen store update failed for %d posts of user %s: %s", len(post_ids), user_id, exc
                )
            except Exception:
                self._count_failure()
                log.exception("seen store update failed for %d posts of user %s", len(post_ids), user_id)

    def _count_failure(self) -> None:
        SEEN_FAILURES.inc()
        with self._lock:
            self.seen_failures += 1
