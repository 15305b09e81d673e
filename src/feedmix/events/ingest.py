"""Ingestion: make a validated batch durable, then update the online state that depends on it.

Order matters. The log is written first and its failure fails the call (the client retries; the
log is idempotent, so retrying is always safe). The seen store is updated after, and its failure
is only logged and counted: the event is already durable, and failing the call would make the
client resend events the log already has, for no gain. A missed seen-store update costs at most a
repeated post in someone's feed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence

from prometheus_client import Counter

from feedmix.events.event_log import AppendResult, EventLog
from feedmix.events.post_ids import post_ids_to_int
from feedmix.events.schema import Event, EventBatch, EventType
from feedmix.stores.errors import StoreUnavailable
from feedmix.stores.seen_store import SeenStore

log = logging.getLogger(__name__)

INGESTED = Counter("feedmix_ingest_events_total", "Events received by ingestion", ["result"])
SEEN_FAILURES = Counter("feedmix_ingest_seen_store_failures_total", "Seen-store updates that failed")

SEEN_TYPES: tuple[EventType, ...] = ("impression", "hide")


class EventIngestor:
    """Turns an ``EventBatch`` into a durable log append plus seen-store updates.

    Seen-store entries are stamped with the server's ``now``, not the events' ``ts``: client
    clocks drift, and a far-future ``ts`` would pin a post at the head of the seen set (scores only
    ever increase). It also means one ``add`` per user per batch. Every impression/hide in the
    batch is applied, duplicates included, so a retry repairs a seen-store update that failed the
    first time.
    """

    def __init__(
        self, log: EventLog, seen: SeenStore, seen_types: Collection[EventType] = SEEN_TYPES
    ) -> None:
        self._log = log
        self._seen = seen
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
        return result

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
