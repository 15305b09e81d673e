"""The cache that holds nothing (``none://``): every read misses, every write is dropped.

Two uses: turning caching off without touching the code that reads through a cache (an operator
chasing a staleness question), and the "without the cache" side of a measurement, where the work is
computed on every request by the same code path as with a cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar


class NoCache:
    remote: ClassVar[bool] = False

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [None] * len(keys)

    def set_many(self, items: Mapping[str, bytes], ttl_s: float) -> None:
        return None

    def delete_many(self, keys: Sequence[str]) -> None:
        return None

    def close(self) -> None:
        return None
