"""Follow the event log from an offset and hand every new event to in-process consumers.

In workers mode a replica ingests only the events the load balancer sent it, while a user's next
request may land on any replica; state that must see every event of a user but lives in each
process (the recent engagements behind the content query vector) therefore reads the shared log
itself instead of the ingestion path: every replica tails the whole log (a fan-out, unlike the
aggregate workers' consumer group, which splits it). Events arrive at most about ``interval_s`` after
they are logged, in log order, each once per process. Read failures are logged and retried: the
position is kept, so nothing is skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from feedmix.events.event_log import EventLog
from feedmix.events.ingest import EventConsumer

log = logging.getLogger(__name__)


class LogTailer:
    def __init__(
        self,
        event_log: EventLog,
        consumers: Sequence[EventConsumer],
        after: int = 0,
        interval_s: float = 0.2,
        batch: int = 1000,
    ) -> None:
        self._log = event_log
        self._consumers = tuple(consumers)
        self.position = after
        self.interval_s = interval_s
        self.batch = batch
        self.applied = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> int:
        """Apply what the log holds after the position; returns how many events were applied."""
        done = 0
        while True:
            rows = self._log.read(after=self.position, limit=self.batch)
            if not rows:
                return done
            events = [e for _, e in rows]
            for consumer in self._consumers:
                consumer.apply(events, time.time())
            self.position = rows[-1][0]
            done += len(rows)
            self.applied += len(rows)

    def start(self) -> LogTailer:
        self._thread = threading.Thread(target=self._run, name="log-tailer", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.poll()
            except Exception:
                log.warning("log tailer: read failed at offset %d; retrying", self.position, exc_info=True)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
