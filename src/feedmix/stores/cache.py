"""A cache of shareable, recomputable work (candidate lists per community, trending windows, post
feature rows, rendered ad creatives): bytes by string key, each entry with a time to live.

A cache is never the truth: what it holds can be computed again, so a backend that is down or slow
costs time, never correctness (``read_through.ReadThrough`` fills around it), and an entry's TTL is the
staleness its owner accepts. Backends: in-process (a bounded LRU), Redis and Memcached, chosen by URL
in ``backends.open_cache``; one contract test runs on all three.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class Cache(Protocol):
    """Backend failures raise ``StoreUnavailable``; a miss is ``None``, never an error."""

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The value of each key, ``None`` where it is absent or expired, in the order asked."""
        ...

    def set_many(self, items: Mapping[str, bytes], ttl_s: float) -> None:
        """Store each value for ``ttl_s`` seconds (rounded up to the backend's resolution)."""
        ...

    def delete_many(self, keys: Sequence[str]) -> None: ...

    def close(self) -> None: ...
