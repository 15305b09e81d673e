"""Rebuild in-process state from the event log when a server starts.

The streaming aggregates and the recent-engagement lists live in process memory, so without this a
restart would serve zero counts until a day of events had arrived again, and would overwrite the
online store's rows with those too-small counts on the first flush. The log is the source of truth:
at startup every event of the last ``window_s`` seconds (by the event's ``ts``) is applied to the
consumers, in log order and in batches, exactly as ingestion would have applied it. Events older
than the window change no window count, so they are skipped (they are still read: the log's API is
sequential from an offset; ``[features] replay_window_s = 0`` turns the replay off for a log too big
to scan at startup).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from feedmix.events.event_log import EventLog
from feedmix.events.ingest import EventConsumer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayResult:
    read: int
    applied: int
    seconds: float
    #: the last offset read: where a ``LogTailer`` continues from
    last_offset: int = 0


def replay_recent(
    event_log: EventLog,
    consumers: Sequence[EventConsumer],
    now: float,
    window_s: float = 86_400.0,
    *,
    batch: int = 5_000,
) -> ReplayResult:
    """Apply the log's events with ``ts`` in ``[now - window_s, now]`` to every consumer."""
    if window_s <= 0 or batch < 1:
        raise ValueError("window_s and batch must be positive")
    t0 = time.perf_counter()
    after = 0
    oldest = now - window_s
    read = applied = 0
    while True:
        rows = event_log.read(after=after, limit=batch)
        if not rows:
            break
        after = rows[-1][0]
        read += len(rows)
        recent = [e for _, e in rows if e.ts is not None and oldest <= e.ts <= now]
        if recent:
            for consumer in consumers:
                consumer.apply(recent, now)
            applied += len(recent)
    result = ReplayResult(read=read, applied=applied, seconds=time.perf_counter() - t0, last_offset=after)
    log.info("replayed %d of %d logged events into the aggregates in %.2f s", applied, read, result.seconds)
    return result
