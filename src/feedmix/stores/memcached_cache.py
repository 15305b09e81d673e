"""The cache on Memcached (pymemcache): ``get_many`` and ``set_many`` are one round trip each.
Memcached keys are at most 250 bytes without spaces or control characters, so a key is the prefix
plus a SHA-1 of the caller's key; expiry is in whole seconds, so a TTL is rounded up (at least 1 s:
0 would mean "never expires")."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheError

from feedmix.stores.errors import StoreUnavailable
from feedmix.stores.url_options import float_option, url_options

DEFAULT_TIMEOUT_MS = 50.0


class MemcachedCache:
    remote: ClassVar[bool] = True

    def __init__(self, client: Any, prefix: str = "feedmix") -> None:
        self._client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str) -> MemcachedCache:
        """``memcached://host:11211?prefix=feedmix&timeout_ms=50&connect_timeout_ms=50``"""
        opts = url_options(url, ("prefix", "timeout_ms", "connect_timeout_ms"))
        parts = urlsplit(url)
        timeout = float_option(opts, "timeout_ms", DEFAULT_TIMEOUT_MS) / 1000.0
        connect = float_option(opts, "connect_timeout_ms", DEFAULT_TIMEOUT_MS) / 1000.0
        client = Client(
            (parts.hostname or "127.0.0.1", parts.port or 11211),
            timeout=timeout,
            connect_timeout=connect,
            no_delay=True,
            # wait for the server's answer: with pymemcache's default (noreply) a write returns before
            # it is applied, and another client reading at once can miss it (a test caught that race)
            default_noreply=False,
        )
        return cls(client, opts.get("prefix", "feedmix"))

    def key(self, key: str) -> str:
        return f"{self.prefix}:{hashlib.sha1(key.encode()).hexdigest()}"

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        names = [self.key(k) for k in keys]
        try:
            found = self._client.get_many(names)
        except (MemcacheError, OSError) as e:
            raise StoreUnavailable(f"cache get_many: {type(e).__name__}: {e}") from e
        return [found.get(n) for n in names]

    def set_many(self, items: Mapping[str, bytes], ttl_s: float) -> None:
        if not items:
            return
        expire = max(1, math.ceil(ttl_s))
        try:
            failed = self._client.set_many({self.key(k): v for k, v in items.items()}, expire=expire)
        except (MemcacheError, OSError) as e:
            raise StoreUnavailable(f"cache set_many: {type(e).__name__}: {e}") from e
        if failed:
            raise StoreUnavailable(f"cache set_many: {len(failed)} keys not stored")

    def delete_many(self, keys: Sequence[str]) -> None:
        if keys:
            try:
                self._client.delete_many([self.key(k) for k in keys])
            except (MemcacheError, OSError) as e:
                raise StoreUnavailable(f"cache delete_many: {type(e).__name__}: {e}") from e

    def close(self) -> None:
        self._client.close()
