"""Exactly-once for ad tracking events: an event id is accepted the first time, refused after.

Impressions and clicks are money: a client retry, a double-fired pixel or a replayed request must
not bill twice. Every tracking event carries a client-made ``event_id``; ``first_seen(ids)`` marks
the ids and says which were new, atomically per id (Redis ``SET NX`` with an expiry, pipelined, one
round trip per batch), so two servers receiving the same retry bill it once between them. Ids are
remembered for ``ttl_s`` (default 7 days): longer than any client retries.

Backends: ``memory://`` (one process; bounded by ``max_ids``, oldest forgotten first) and
``redis://host:6379/0?prefix=feedmix&ttl_s=604800&timeout_ms=50`` (``&cluster=true`` for a Redis
Cluster: each id is its own key, so the pipelined ``SET NX`` splits by node). A Redis failure raises
``StoreUnavailable``: the tracking endpoint then answers 503 and the client retries later, which is
safe precisely because of this store.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from feedmix.stores.redis_conn import TIMEOUT_OPTIONS, is_redis_url, make_any_client, store_errors
from feedmix.stores.url_options import float_option, int_option, url_options

DEFAULT_TTL_S = 7 * 86_400.0


class EventDedup(Protocol):
    def first_seen(self, event_ids: Sequence[str]) -> list[bool]:
        """For each id, True if this call saw it first (duplicates within one call: first wins)."""
        ...

    def forget(self, event_ids: Sequence[str]) -> None:
        """Unmark ids whose processing failed after ``first_seen``, so the client's retry counts."""
        ...

    def close(self) -> None: ...


class MemoryEventDedup:
    def __init__(self, ttl_s: float = DEFAULT_TTL_S, max_ids: int = 5_000_000) -> None:
        self.ttl_s, self.max_ids = ttl_s, max_ids
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_seen(self, event_ids: Sequence[str]) -> list[bool]:
        now = time.monotonic()
        out = []
        with self._lock:
            for event_id in event_ids:
                at = self._seen.get(event_id)
                fresh = at is None or now - at > self.ttl_s
                if fresh:
                    self._seen[event_id] = now
                    self._seen.move_to_end(event_id)
                out.append(fresh)
            while len(self._seen) > self.max_ids:
                self._seen.popitem(last=False)
        return out

    def forget(self, event_ids: Sequence[str]) -> None:
        with self._lock:
            for event_id in event_ids:
                self._seen.pop(event_id, None)

    def close(self) -> None:
        return None


class RedisEventDedup:
    def __init__(self, url: str) -> None:
        options = url_options(url, ("prefix", "ttl_s", *TIMEOUT_OPTIONS))
        self.prefix = options.get("prefix", "feedmix")
        self.ttl_ms = int(float_option(options, "ttl_s", DEFAULT_TTL_S) * 1000)
        self._client = make_any_client(url, options, default_timeout_ms=50.0)

    def _key(self, event_id: str) -> str:
        return f"{self.prefix}:ad-event:{event_id}"

    def first_seen(self, event_ids: Sequence[str]) -> list[bool]:
        if not event_ids:
            return []
        with store_errors("ad event dedup"):
            pipe = self._client.pipeline(transaction=False)
            for event_id in event_ids:
                pipe.set(self._key(event_id), b"1", nx=True, px=self.ttl_ms)
            replies = pipe.execute()
        return [bool(r) for r in replies]

    def forget(self, event_ids: Sequence[str]) -> None:
        if event_ids:
            with store_errors("ad event dedup"):
                self._client.delete(*(self._key(e) for e in event_ids))

    def close(self) -> None:
        self._client.close()


def open_event_dedup(url: str) -> EventDedup:
    if url.startswith("memory://"):
        options = url_options(url, ("ttl_s", "max_ids"))
        return MemoryEventDedup(
            float_option(options, "ttl_s", DEFAULT_TTL_S), int_option(options, "max_ids", 5_000_000)
        )
    if is_redis_url(url):
        return RedisEventDedup(url)
    raise ValueError(f"unsupported ad event dedup URL {url!r} (use memory:// or redis://)")
