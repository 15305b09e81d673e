"""The durable, ordered, idempotent log every client event is written to first.

Everything downstream (seen store, counters, training data) can be rebuilt from the log, so it is
the only place an acknowledged event must never be lost. The contract every backend keeps:

* ``append`` is all-or-nothing per call and returns only once the events are durable (as durable
  as the backend gets; see each implementation);
* it is idempotent by ``event_id``: an id already in the log (or earlier in the same call) is
  counted in ``duplicates`` and not stored again, so clients can retry a batch blindly; ``fresh``
  names the positions of the events that were stored;
* each stored event gets an integer offset; offsets are strictly increasing in append order and
  are assigned while the backend's write lock is held, so a reader tailing with ``read(after=last)``
  never skips an event that commits later with a smaller offset.

Backends are chosen by URL with ``open_event_log``; failures of the storage itself raise
``EventLogUnavailable`` (the HTTP layer answers 503, and the client retries).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from typing_extensions import TypeVar

from feedmix.events.schema import Event, LogRecord

#: the record a log holds: client events unless said otherwise (``EventLog[Exposure]``). The backends'
#: ``record: type[R] = Event`` parameters carry a ``type: ignore``: mypy cannot yet check a default
#: argument against a TypeVar's default.
R = TypeVar("R", bound=LogRecord, default=Event)

DEFAULT_EVENT_LOG_URL = "sqlite:///events.db"


class EventLogUnavailable(Exception):
    """The log's storage failed; nothing from the failed call was stored."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    accepted: int
    duplicates: int
    #: positions (in the appended batch) of the events stored by this call, ascending; consumers
    #: that must count each event once (the streaming aggregates) apply exactly these. None when
    #: a backend cannot tell. Not compared: two results are equal when their counts are.
    fresh: tuple[int, ...] | None = field(default=None, compare=False)


class EventLog(Protocol[R]):
    def append(self, events: Sequence[R]) -> AppendResult:
        """Store the events not already in the log, atomically and durably."""
        ...

    def read(self, after: int = 0, limit: int = 1000) -> list[tuple[int, R]]:
        """Up to ``limit`` (offset, event) pairs with offset > ``after``, in offset order."""
        ...

    def count(self) -> int:
        """How many events the log holds."""
        ...

    def close(self) -> None: ...


def check_read_args(after: int, limit: int) -> None:
    if after < 0:
        raise ValueError(f"after must be >= 0, got {after}")
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")


def scan(log: EventLog[R], batch: int = 10_000) -> Iterator[R]:
    """Every record of the log in offset order, read ``batch`` at a time (an analysis's full pass)."""
    after = 0
    while True:
        rows = log.read(after, batch)
        if not rows:
            return
        for _, record in rows:
            yield record
        after = rows[-1][0]
