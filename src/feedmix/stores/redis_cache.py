"""The cache on Redis: ``MGET`` for a batch of keys (one round trip; on a Redis Cluster one per node),
``SET ... PX`` in one pipeline for a batch of values. Keys are ``<prefix>:cache:<key>``; a key that
carries a ``{hash tag}`` keeps it, so a caller can place related entries in one Redis Cluster slot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, cast

from redis.cluster import RedisCluster

from feedmix.stores.redis_conn import TIMEOUT_OPTIONS, RedisClient, make_any_client, store_errors
from feedmix.stores.url_options import url_options

DEFAULT_TIMEOUT_MS = 50.0


class RedisCache:
    remote: ClassVar[bool] = True

    def __init__(self, client: RedisClient, prefix: str = "feedmix") -> None:
        self._client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str) -> RedisCache:
        opts = url_options(url, ("prefix", *TIMEOUT_OPTIONS))
        return cls(
            make_any_client(url, opts, default_timeout_ms=DEFAULT_TIMEOUT_MS), opts.get("prefix", "feedmix")
        )

    def key(self, key: str) -> str:
        return f"{self.prefix}:cache:{key}"

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        names = [self.key(k) for k in keys]
        with store_errors("cache get_many"):
            # on a cluster the keys span slots: one MGET per node, in parallel, then reassembled
            values = (
                self._client.mget_nonatomic(names)
                if isinstance(self._client, RedisCluster)
                else self._client.mget(names)
            )
        return cast("list[bytes | None]", list(values))

    def set_many(self, items: Mapping[str, bytes], ttl_s: float) -> None:
        if not items:
            return
        ttl_ms = max(1, round(ttl_s * 1000))
        with store_errors("cache set_many"):
            pipe = self._client.pipeline(transaction=False)
            for key, value in items.items():
                pipe.set(self.key(key), value, px=ttl_ms)
            pipe.execute()

    def delete_many(self, keys: Sequence[str]) -> None:
        if keys:
            with store_errors("cache delete_many"):
                self._client.delete(*[self.key(k) for k in keys])

    def close(self) -> None:
        self._client.close()
