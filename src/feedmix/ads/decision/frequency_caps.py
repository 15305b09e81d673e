"""Frequency caps: at most ``max_impressions`` of an ad group per user per sliding window.

Storage: one hash per user, field = ad group id, value = the timestamps of that user's most recent
impressions of it (at most ``max_impressions`` of them, comma-separated). That is an exact
*sliding* window (no fixed-window edge where a user could see twice the cap around a boundary) at
the cost of ``max_impressions`` numbers per (user, capped ad group) — caps are small (1-10).

Edge semantics: an impression at ``ts`` counts against the cap while ``now - ts < window_s``; at
``now = ts + window_s`` exactly it no longer counts. An ad group is capped for the user when at
least ``max_impressions`` impressions count. ``max_impressions == 0`` means no cap (nothing stored).

The check for a request is batched: one read of the user's hash (a user has seen few ad groups, so
it is small whatever the number of candidates), then a vectorised comparison against the index's
cap columns. Recording is one atomic update (a Lua script in Redis: read, drop expired, append,
trim, write, extend the key's TTL to the longest window it holds).

Redis key: ``<prefix>:freq:{u:<user_id>}`` (the hash tag pins a user's key to one Cluster slot;
``cluster=true`` in the URL runs the store on a Redis Cluster).
Fields of ad groups the user stopped seeing linger until the key expires (TTL = longest window
recorded), and are ignored on read once their timestamps are old.
Backend errors surface as :class:`~feedmix.stores.errors.StoreUnavailable`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Protocol

import numpy as np
import numpy.typing as npt

from feedmix.ads.decision.targeting_index import TargetingIndex
from feedmix.stores.redis_conn import (
    TIMEOUT_OPTIONS,
    RedisClient,
    is_redis_url,
    make_any_client,
    store_errors,
)
from feedmix.stores.url_options import url_options

DEFAULT_TIMEOUT_MS = 50.0
Recent = Mapping[str, tuple[float, ...]]


class FrequencyStore(Protocol):
    def recent(self, user_id: str) -> Recent:
        """The user's stored impression timestamps per ad group (one round trip)."""
        ...

    def record(
        self, user_id: str, ad_group_id: str, ts: float, max_impressions: int, window_s: float
    ) -> None:
        """Count one impression (no-op when ``max_impressions == 0``)."""
        ...

    def close(self) -> None: ...


def capped_rows(index: TargetingIndex, recent: Recent, now: float) -> npt.NDArray[np.int64]:
    """Index rows whose cap the user has reached at ``now`` (see the edge semantics above)."""
    rows: list[int] = []
    for group_id, stamps in recent.items():
        row = index.row_of.get(group_id)
        if row is None:
            continue
        cap = int(index.freq_max[row])
        if cap <= 0:
            continue
        window = float(index.freq_window_s[row])
        if sum(1 for t in stamps if now - t < window) >= cap:
            rows.append(row)
    return np.asarray(rows, dtype=np.int64)


def _kept(
    stamps: tuple[float, ...] | list[float], ts: float, max_impressions: int, window_s: float
) -> list[float]:
    kept = [t for t in stamps if ts - t < window_s]
    kept.append(ts)
    return kept[-max_impressions:]


class MemoryFrequencyStore:
    """In-process store with the same semantics (a lock per store; users' lists are tiny)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, dict[str, tuple[float, ...]]] = {}

    @classmethod
    def from_url(cls, url: str) -> MemoryFrequencyStore:
        url_options(url, ())
        return cls()

    def recent(self, user_id: str) -> Recent:
        with self._lock:
            return dict(self._users.get(user_id, {}))

    def record(
        self, user_id: str, ad_group_id: str, ts: float, max_impressions: int, window_s: float
    ) -> None:
        if max_impressions <= 0:
            return
        with self._lock:
            groups = self._users.setdefault(user_id, {})
            groups[ad_group_id] = tuple(_kept(groups.get(ad_group_id, ()), ts, max_impressions, window_s))

    def close(self) -> None:
        pass


_RECORD_LUA = """
local ts = tonumber(ARGV[2])
local maxn = tonumber(ARGV[3])
local win = tonumber(ARGV[4])
local kept = {}
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then
  for s in string.gmatch(v, '[^,]+') do
    if ts - tonumber(s) < win then table.insert(kept, s) end
  end
end
table.insert(kept, ARGV[2])
while #kept > maxn do table.remove(kept, 1) end
redis.call('HSET', KEYS[1], ARGV[1], table.concat(kept, ','))
local want = math.ceil(win)
if redis.call('TTL', KEYS[1]) < want then redis.call('EXPIRE', KEYS[1], want) end
return #kept
"""


class RedisFrequencyStore:
    """Frequency caps in Redis, shared by all serving processes (see the module docstring)."""

    def __init__(self, client: RedisClient, prefix: str = "feedmix") -> None:
        self._client = client
        self.prefix = prefix
        self._record = client.register_script(_RECORD_LUA)

    @classmethod
    def from_url(cls, url: str) -> RedisFrequencyStore:
        opts = url_options(url, ("prefix", *TIMEOUT_OPTIONS))
        return cls(
            make_any_client(url, opts, default_timeout_ms=DEFAULT_TIMEOUT_MS),
            prefix=opts.get("prefix", "feedmix"),
        )

    def key(self, user_id: str) -> str:
        return f"{self.prefix}:freq:{{u:{user_id}}}"

    def recent(self, user_id: str) -> Recent:
        with store_errors("frequency store read"):
            raw: dict[bytes, bytes] = self._client.hgetall(self.key(user_id))  # type: ignore[assignment]
        return {k.decode(): tuple(float(s) for s in v.split(b",")) for k, v in raw.items()}

    def record(
        self, user_id: str, ad_group_id: str, ts: float, max_impressions: int, window_s: float
    ) -> None:
        if max_impressions <= 0:
            return
        with store_errors("frequency store record"):
            self._record(
                keys=[self.key(user_id)],
                args=[ad_group_id, f"{ts:.3f}", max_impressions, repr(float(max(window_s, 1e-3)))],
            )

    def close(self) -> None:
        self._client.close()


def open_frequency_store(url: str) -> FrequencyStore:
    """``memory://`` or ``redis://host:6379/0?prefix=feedmix&timeout_ms=50&connect_timeout_ms=50``."""
    if url.startswith("memory://"):
        return MemoryFrequencyStore.from_url(url)
    if is_redis_url(url):
        return RedisFrequencyStore.from_url(url)
    raise ValueError(f"unsupported frequency store URL {url!r} (use memory:// or redis://)")
