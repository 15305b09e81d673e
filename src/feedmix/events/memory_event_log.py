"""EventLog in process memory: the log contract without durability, for tests of other parts."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Generic

from feedmix.events.event_log import AppendResult, R, check_read_args


class MemoryEventLog(Generic[R]):
    """Offsets are 1, 2, 3...: the event at offset ``k`` is ``self._events[k - 1]``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[R] = []
        self._ids: set[str] = set()

    def append(self, events: Sequence[R]) -> AppendResult:
        with self._lock:
            fresh: list[int] = []
            batch_ids: set[str] = set()
            for i, event in enumerate(events):
                if event.event_id in self._ids or event.event_id in batch_ids:
                    continue
                batch_ids.add(event.event_id)
                fresh.append(i)
            self._events.extend(events[i] for i in fresh)
            self._ids |= batch_ids
        return AppendResult(accepted=len(fresh), duplicates=len(events) - len(fresh), fresh=tuple(fresh))

    def read(self, after: int = 0, limit: int = 1000) -> list[tuple[int, R]]:
        check_read_args(after, limit)
        with self._lock:
            chunk = self._events[after : after + limit]
        return [(after + i + 1, event) for i, event in enumerate(chunk)]

    def count(self) -> int:
        with self._lock:
            return len(self._events)

    def close(self) -> None:
        pass
