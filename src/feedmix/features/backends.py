"""Online store backends by URL: the one module that knows them, so ``online_store`` (the interface)
stays free of its implementations and the package graph has no cycle."""

from __future__ import annotations

from feedmix.features.online_store import OnlineStore
from feedmix.features.registry import FeatureRegistry
from feedmix.stores.redis_conn import is_redis_url


def open_online_store(url: str, registry: FeatureRegistry | None = None) -> OnlineStore:
    """An online store for ``url`` over ``registry`` (default: the project's definitions).

    * ``memory://`` - in-process, the default; rows live in numpy columns.
    * ``redis://host:6379/0?prefix=feedmix&timeout_ms=50&connect_timeout_ms=50`` (``rediss://``
      for TLS): one packed record per entity row, read with one MGET; see ``redis_online_store``.
    """
    if registry is None:
        from feedmix.features.definitions import default_registry

        registry = default_registry()
    if url.startswith("memory://"):
        from feedmix.features.memory_online_store import MemoryOnlineStore

        return MemoryOnlineStore.from_url(url, registry)
    if is_redis_url(url):
        from feedmix.features.redis_online_store import RedisOnlineStore

        return RedisOnlineStore.from_url(url, registry)
    raise ValueError(f"unsupported online store URL {url!r} (use memory:// or redis://)")
