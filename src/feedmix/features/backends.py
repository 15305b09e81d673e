"""Online store backends by URL: the one module that knows them, so ``online_store`` (the interface)
stays free of its implementations and the package graph has no cycle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from feedmix.features.online_store import OnlineStore
from feedmix.features.registry import FeatureRegistry
from feedmix.stores.redis_conn import is_redis_url

if TYPE_CHECKING:
    from feedmix.features.shared_aggregates import SharedAggregates
    from feedmix.features.streaming_aggregates import CommunityOf


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


def open_shared_aggregates(
    url: str, community_of: CommunityOf, community_names: Sequence[str]
) -> SharedAggregates:
    """The shared engagement counts at ``url``:
    ``redis://host:6379/0[?namespace=feedmix:agg][&marker_ttl_s=86400][&cluster=true][&timeout_ms=5000]``."""
    from feedmix.features.shared_aggregates import DEFAULT_MARKER_TTL_S, DEFAULT_NAMESPACE, SharedAggregates
    from feedmix.stores.redis_conn import TIMEOUT_OPTIONS, make_any_client
    from feedmix.stores.url_options import int_option, url_options

    if not is_redis_url(url):
        raise ValueError(f"unsupported shared aggregates URL {url!r} (use redis://)")
    opts = url_options(url, ("namespace", "marker_ttl_s", *TIMEOUT_OPTIONS))
    return SharedAggregates(
        make_any_client(url, opts, default_timeout_ms=5000.0),
        community_of,
        community_names,
        namespace=opts.get("namespace") or DEFAULT_NAMESPACE,
        marker_ttl_s=int_option(opts, "marker_ttl_s", DEFAULT_MARKER_TTL_S, minimum=60),
    )
