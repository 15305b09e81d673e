"""Read-through over a ``Cache``: values found are served, the missing ones computed by ``fill`` in one
call and written back for ``ttl_s``, which is the staleness this cache's owner accepts (a value is
never served older than that, because the backend drops it then).

Concurrent misses of one key in a process are coalesced: the first caller fills it, the others wait for
that fill instead of all computing the same thing (the stampede a popular key causes when it expires).
A cache that fails (down, slow past its timeout) is counted and bypassed: the caller gets values from
``fill``, slower but correct, which is what "a cache outage only slows the feed" means in code.

Metrics: ``feedmix_cache_requests_total{cache, result}`` (hit, miss, coalesced, error) and
``feedmix_cache_fill_seconds{cache}``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from prometheus_client import Counter, Histogram

from feedmix.stores.cache import Cache
from feedmix.stores.errors import StoreUnavailable

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

REQUESTS = Counter(
    "feedmix_cache_requests_total", "Keys asked of a read-through cache, by result", ["cache", "result"]
)
FILL_SECONDS = Histogram(
    "feedmix_cache_fill_seconds",
    "Time to compute the missing values of one read-through call",
    ["cache"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


class ReadThrough(Generic[K, V]):
    def __init__(
        self,
        name: str,
        cache: Cache,
        fill: Callable[[list[K]], list[V]],
        encode: Callable[[V], bytes],
        decode: Callable[[bytes], V],
        ttl_s: float,
        key_of: Callable[[K], str] = str,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError(f"{name}: ttl_s (the staleness bound) must be > 0")
        self.name, self.cache, self.fill = name, cache, fill
        self.encode, self.decode, self.key_of = encode, decode, key_of
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._inflight: dict[K, Future[V]] = {}

    def get_many(self, keys: Sequence[K]) -> list[V]:
        unique = list(dict.fromkeys(keys))
        found = self._read(unique)
        missing = [k for k in unique if k not in found]
        if missing:
            found.update(self._fill_coalesced(missing))
        return [found[k] for k in keys]

    def get(self, key: K) -> V:
        return self.get_many([key])[0]

    def _read(self, keys: list[K]) -> dict[K, V]:
        try:
            raw = self.cache.get_many([self.key_of(k) for k in keys])
        except StoreUnavailable as e:
            REQUESTS.labels(self.name, "error").inc(len(keys))
            log.debug("cache %s unavailable, filling %d keys: %s", self.name, len(keys), e)
            return {}
        out: dict[K, V] = {}
        for k, value in zip(keys, raw, strict=True):
            if value is not None:
                try:
                    out[k] = self.decode(value)
                except Exception:  # an entry another version wrote: a miss, refilled below
                    log.warning("cache %s: an entry for %r did not decode; refilling", self.name, k)
        REQUESTS.labels(self.name, "hit").inc(len(out))
        return out

    def _fill_coalesced(self, keys: list[K]) -> dict[K, V]:
        mine: list[K] = []
        waiting: dict[K, Future[V]] = {}
        with self._lock:
            for k in keys:
                running = self._inflight.get(k)
                if running is None:
                    self._inflight[k] = Future()
                    mine.append(k)
                else:
                    waiting[k] = running
        out: dict[K, V] = {}
        if mine:
            REQUESTS.labels(self.name, "miss").inc(len(mine))
            out.update(self._fill(mine))
        for k, future in waiting.items():
            REQUESTS.labels(self.name, "coalesced").inc()
            try:
                out[k] = future.result()
            except Exception:  # the leader's fill failed: try once more ourselves
                out[k] = self.fill([k])[0]
        return out

    def _fill(self, keys: list[K]) -> dict[K, V]:
        t0 = time.perf_counter()
        try:
            values = self.fill(keys)
            if len(values) != len(keys):
                raise ValueError(f"{self.name}: fill returned {len(values)} values for {len(keys)} keys")
        except BaseException as e:
            with self._lock:
                for k in keys:
                    self._inflight.pop(k).set_exception(e)
            raise
        FILL_SECONDS.labels(self.name).observe(time.perf_counter() - t0)
        filled = dict(zip(keys, values, strict=True))
        try:
            self.cache.set_many({self.key_of(k): self.encode(v) for k, v in filled.items()}, self.ttl_s)
        except StoreUnavailable as e:
            REQUESTS.labels(self.name, "error").inc(len(keys))
            log.debug("cache %s unavailable, not storing %d values: %s", self.name, len(keys), e)
        finally:
            with self._lock:
                for k, v in filled.items():
                    self._inflight.pop(k).set_result(v)
        return filled
