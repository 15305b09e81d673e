"""redis-py clients with timeouts and retries chosen for the request path.

redis-py's defaults (5 s socket timeouts, several retries with exponential backoff) would let a
dead Redis hold a feed request for seconds. Every Redis-backed component in feedmix therefore
builds its client here: explicit timeouts, and at most one immediate retry on a dropped connection
(a pooled connection the server closed while idle), never on a timeout, which would only double
the wait.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from feedmix.stores.errors import StoreUnavailable
from feedmix.stores.url_options import float_option, without_query

REDIS_SCHEMES = ("redis", "rediss")
#: the client options every Redis-backed component accepts in its URL: timeouts, and ``cluster=true``
#: for a Redis Cluster (any node's address; the client discovers the others and follows the slots)
TIMEOUT_OPTIONS = ("timeout_ms", "connect_timeout_ms", "cluster")
#: a client of one Redis or of a Redis Cluster: the stores use the commands both have
RedisClient = redis.Redis | RedisCluster


def is_redis_url(url: str) -> bool:
    return urlsplit(url).scheme in REDIS_SCHEMES


def make_client(url: str, options: Mapping[str, str], *, default_timeout_ms: float) -> redis.Redis:
    """A client for ``url`` whose timeouts come from ``timeout_ms`` / ``connect_timeout_ms`` options.

    The query string of ``url`` is dropped: it holds component options, not redis-py arguments. A
    component that has not been validated on a Redis Cluster refuses ``cluster=true`` here, rather
    than failing later on a command whose keys span slots.
    """
    if _wants_cluster(options):
        raise ValueError(
            f"cluster=true: this component does not run on a Redis Cluster yet ({without_query(url)})"
        )
    timeout_s, connect_timeout_s = _timeouts(options, default_timeout_ms)
    return redis.Redis.from_url(
        without_query(url),
        socket_timeout=timeout_s,
        socket_connect_timeout=connect_timeout_s,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
        health_check_interval=30,
    )


def make_any_client(url: str, options: Mapping[str, str], *, default_timeout_ms: float) -> RedisClient:
    """``make_client``, or a ``RedisCluster`` with ``cluster=true``: for the components whose contract
    tests run on a real cluster (their keys carry hash tags, their multi-key reads split by slot)."""
    if not _wants_cluster(options):
        return make_client(url, options, default_timeout_ms=default_timeout_ms)
    timeout_s, connect_timeout_s = _timeouts(options, default_timeout_ms)
    return RedisCluster.from_url(
        without_query(url),
        socket_timeout=timeout_s,
        socket_connect_timeout=connect_timeout_s,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
    )


def _wants_cluster(options: Mapping[str, str]) -> bool:
    return options.get("cluster", "").lower() in ("1", "true", "yes")


def _timeouts(options: Mapping[str, str], default_timeout_ms: float) -> tuple[float, float]:
    timeout_s = float_option(options, "timeout_ms", default_timeout_ms) / 1000.0
    connect_timeout_s = float_option(options, "connect_timeout_ms", default_timeout_ms) / 1000.0
    if timeout_s <= 0 or connect_timeout_s <= 0:
        raise ValueError("redis timeouts must be > 0 ms (0 would mean 'wait forever')")
    return timeout_s, connect_timeout_s


@contextmanager
def store_errors(what: str, error: type[Exception] = StoreUnavailable) -> Iterator[None]:
    """Re-raise any redis-py error inside the block as ``error`` (callers fail open on one type)."""
    try:
        yield
    except redis.RedisError as exc:
        raise error(f"{what}: {type(exc).__name__}: {exc}") from exc
