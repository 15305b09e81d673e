"""Seen, session, preference store and cache backends by URL: the one module that knows them, so the
interfaces stay free of their implementations and the package graph has no cycle."""

from __future__ import annotations

from feedmix.stores.cache import Cache
from feedmix.stores.preference_store import PreferenceStore
from feedmix.stores.redis_conn import is_redis_url
from feedmix.stores.seen_store import SeenStore
from feedmix.stores.session_store import FeedSessionStore


def open_seen_store(url: str) -> SeenStore:
    """A seen store for ``url``.

    * ``memory://?max_per_user=2000&ttl_s=2592000`` - in-process, for tests and single-node demos.
    * ``redis://host:6379/0?prefix=feedmix&max_per_user=2000&ttl_s=2592000&timeout_ms=50&connect_timeout_ms=50``
      (``rediss://`` for TLS; user and password in the netloc as usual).
    """
    if url.startswith("memory://"):
        from feedmix.stores.memory_seen_store import MemorySeenStore

        return MemorySeenStore.from_url(url)
    if is_redis_url(url):
        from feedmix.stores.redis_seen_store import RedisSeenStore

        return RedisSeenStore.from_url(url)
    raise ValueError(f"unsupported seen store URL {url!r} (use memory:// or redis://)")


def open_session_store(url: str) -> FeedSessionStore:
    """A session store for ``url``.

    * ``memory://?ttl_s=3600``
    * ``redis://host:6379/0?prefix=feedmix&ttl_s=3600&timeout_ms=50&connect_timeout_ms=50``
    """
    if url.startswith("memory://"):
        from feedmix.stores.memory_session_store import MemorySessionStore

        return MemorySessionStore.from_url(url)
    if is_redis_url(url):
        from feedmix.stores.redis_session_store import RedisSessionStore

        return RedisSessionStore.from_url(url)
    raise ValueError(f"unsupported session store URL {url!r} (use memory:// or redis://)")


def open_preference_store(url: str) -> PreferenceStore:
    """A preference store for ``url``.

    * ``memory://``
    * ``redis://host:6379/0?prefix=feedmix&timeout_ms=50&connect_timeout_ms=50``
    """
    if url.startswith("memory://"):
        from feedmix.stores.memory_preference_store import MemoryPreferenceStore

        return MemoryPreferenceStore.from_url(url)
    if is_redis_url(url):
        from feedmix.stores.redis_preference_store import RedisPreferenceStore

        return RedisPreferenceStore.from_url(url)
    raise ValueError(f"unsupported preference store URL {url!r} (use memory:// or redis://)")


def open_cache(url: str) -> Cache:
    """A cache for ``url``.

    * ``memory://?max_entries=100000`` - in-process LRU
    * ``redis://host:6379/0?prefix=feedmix&timeout_ms=50&connect_timeout_ms=50``
    * ``memcached://host:11211?prefix=feedmix&timeout_ms=50&connect_timeout_ms=50``
    * ``none://`` - no cache: every read computes (caching off, or a measurement's baseline)
    """
    if url.startswith("none://"):
        from feedmix.stores.no_cache import NoCache

        return NoCache()
    if url.startswith("memory://"):
        from feedmix.stores.memory_cache import MemoryCache

        return MemoryCache.from_url(url)
    if is_redis_url(url):
        from feedmix.stores.redis_cache import RedisCache

        return RedisCache.from_url(url)
    if url.startswith("memcached://"):
        from feedmix.stores.memcached_cache import MemcachedCache

        return MemcachedCache.from_url(url)
    raise ValueError(f"unsupported cache URL {url!r} (use memory://, redis://, memcached:// or none://)")
