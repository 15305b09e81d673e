"""The event log read by a consumer group: competing consumers, at-least-once delivery.

Replicas append client events to the log (``EventLog``) and acknowledge the client once the append
is durable; aggregate workers then read the same log through a *consumer group*: each entry goes to
one consumer of the group, stays *pending* until that consumer acknowledges it, and an entry whose
consumer died (pending longer than ``min_idle_ms``) is claimed by another. Delivery is therefore
at least once: a consumer that applied an entry and died before ``ack`` hands it to the next one,
so what consumers do with an entry must be idempotent (``SharedAggregates`` keys it by offset).

The interface is the one Redis Streams and Kafka both offer (a group's read position, pending
entries, acknowledgement); ``RedisEventStream`` is the production backend, ``MemoryEventStream`` the
embedded one, and one contract test runs on both. Entries are ``(offset, record)`` with the log's
offsets, so a consumer can key idempotency on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from feedmix.events.event_log import R

DEFAULT_GROUP = "aggregates"


class EventStream(Protocol[R]):
    def read(self, consumer: str, count: int, block_ms: int = 0) -> list[tuple[int, R]]:
        """Up to ``count`` entries never delivered to this group, now pending for ``consumer``;
        waits up to ``block_ms`` when there are none (0: answer at once)."""
        ...

    def claim(self, consumer: str, min_idle_ms: int, count: int) -> list[tuple[int, R]]:
        """Up to ``count`` entries pending for longer than ``min_idle_ms`` (their consumer is presumed
        dead), now pending for ``consumer``: the at-least-once half of the contract."""
        ...

    def ack(self, offsets: Sequence[int]) -> int:
        """Mark entries done; returns how many were pending."""
        ...

    def pending(self) -> int:
        """Entries delivered and not yet acknowledged."""
        ...

    def lag(self) -> int:
        """Entries of the log not yet delivered to this group."""
        ...

    def close(self) -> None: ...


def check_read_args(consumer: str, count: int) -> None:
    if not consumer:
        raise ValueError("consumer must be a non-empty name")
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
