"""EventStream with its group state in process memory, over any ``EventLog``.

The embedded backend: one process, several consumers (threads) of one group. It reads the log from
the group's position, so it works over the SQLite or in-memory log alike; the group's position and
pending entries are lost with the process (a restarted process delivers the log again from the
start: consumers are idempotent, so that costs time, not correctness).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic

from feedmix.events.event_log import EventLog, R
from feedmix.events.event_stream import check_read_args


@dataclass(slots=True)
class _Pending(Generic[R]):
    record: R
    consumer: str
    delivered_at: float


class MemoryEventStream(Generic[R]):
    def __init__(self, log: EventLog[R]) -> None:
        self._log = log
        self._lock = threading.Condition()
        self._position = 0  # the last offset delivered to the group
        self._pending: dict[int, _Pending[R]] = {}

    def read(self, consumer: str, count: int, block_ms: int = 0) -> list[tuple[int, R]]:
        check_read_args(consumer, count)
        deadline = time.monotonic() + block_ms / 1000.0
        with self._lock:
            while True:
                rows = self._log.read(after=self._position, limit=count)
                if rows:
                    now = time.monotonic()
                    for offset, record in rows:
                        self._pending[offset] = _Pending(record, consumer, now)
                    self._position = rows[-1][0]
                    return rows
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                # appends do not notify this stream (the log is shared); poll at a short interval
                self._lock.wait(min(left, 0.01))

    def claim(self, consumer: str, min_idle_ms: int, count: int) -> list[tuple[int, R]]:
        check_read_args(consumer, count)
        now = time.monotonic()
        with self._lock:
            stale = sorted(
                o for o, p in self._pending.items() if now - p.delivered_at >= min_idle_ms / 1000.0
            )
            out = []
            for offset in stale[:count]:
                entry = self._pending[offset]
                entry.consumer, entry.delivered_at = consumer, now
                out.append((offset, entry.record))
            return out

    def ack(self, offsets: Sequence[int]) -> int:
        with self._lock:
            return sum(self._pending.pop(o, None) is not None for o in offsets)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def lag(self) -> int:
        # the embedded logs number their events 1..count, so what follows the position is the rest
        with self._lock:
            return max(0, self._log.count() - self._position)

    def close(self) -> None:
        pass
