"""A cache that is down: every call raises ``StoreUnavailable``, as a dead Redis or Memcached does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from feedmix.stores.errors import StoreUnavailable


class DownCache:
    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        raise StoreUnavailable("cache: connection refused")

    def set_many(self, items: Mapping[str, bytes], ttl_s: float) -> None:
        raise StoreUnavailable("cache: connection refused")

    def delete_many(self, keys: Sequence[str]) -> None:
        raise StoreUnavailable("cache: connection refused")

    def close(self) -> None:
        pass
