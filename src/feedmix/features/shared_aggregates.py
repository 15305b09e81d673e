"""Engagement aggregates kept in Redis, so any number of aggregate workers keep one exact set of counts.

``EngagementAggregator`` counts in process: right for one process, wrong for several, whose rows
would overwrite each other. Here the same counts (same entities, windows, buckets and edge rules,
see :mod:`feedmix.features.streaming_aggregates`) live in Redis, one hash per entity, and every
worker of a consumer group adds to them.

Exactly once, on at-least-once delivery: an entity's counts and the offsets already applied to it
are two keys with the same hash tag, updated by one Lua script that adds an event only if its offset
is new (``ZADD NX`` on the applied set). A worker that dies after applying and before acknowledging
hands its entries to another worker, which applies them again and counts nothing twice. Applied
offsets are kept ``marker_ttl_s`` (a day by default): a redelivery later than that would count
twice, and the group's claim timeout (seconds) keeps redeliveries far inside it.

Per entity the scripts are independent (a post, a user, a community and a user×community pair live
in different cluster slots), so a batch is one pipeline of scripts, one round trip per node.

Rows for the online store are computed from these counts by one *flusher* at a time (a lease in
Redis): workers mark each entity they touched dirty, after its script ran, and give it a due time,
when its oldest counted bucket leaves its shortest window; the flusher takes the dirty set (renamed
away atomically, so marks made during a flush wait for the next), adds the entities that are due,
reads their counts, writes their rows and sets their next due time (or forgets them: a zero row is
written once). One reader of the counts at a time means no flusher ever overwrites a newer row with
an older one; a flusher that dies mid-flush leaves the renamed set, which the next one finishes.

The keys (``NS`` = ``namespace``): ``NS:{<entity>:<key>}`` the counts (fields
``<window>:<bucket>:<channel>``), ``NS:{<entity>:<key>}:applied`` the offsets applied (a sorted set
scored by when), ``NS:{flush}:dirty|processing|due|lease``.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from feedmix.events.post_ids import post_ids_to_int
from feedmix.events.schema import Event
from feedmix.features.definitions import ENTITY_WINDOWS
from feedmix.features.entity_keys import post_keys
from feedmix.features.online_store import OnlineStore
from feedmix.features.registry import Entity
from feedmix.features.streaming_aggregates import BUCKETS, CHANNELS, CommunityOf, window_feature_columns
from feedmix.stores.redis_conn import RedisClient
from feedmix.stores.redis_scripts import run_scripts

IntArray = npt.NDArray[np.int64]

DEFAULT_NAMESPACE = "feedmix:agg"
DEFAULT_MARKER_TTL_S = 86_400
_CHANNEL = {t: i for i, t in enumerate(CHANNELS)}
#: counts outlive their longest window by one bucket of it, then the hash expires
_KEEP_S = int(max(w + b for w, b in BUCKETS.values()))
_ENTITIES: tuple[Entity, ...] = ("post", "user", "community", "user_community")

# KEYS: counts hash, applied-offsets sorted set (one hash tag)
# ARGV: now, marker ttl, keep (s), prune threshold (fields), windows n, then n x (window, oldest bucket
#       kept), then per event: offset, n fields to add one to
_APPLY = """#!lua
local now, ttl, keep = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local threshold, nw = tonumber(ARGV[4]), tonumber(ARGV[5])
local i, counted = 6 + 2 * nw, 0
while i <= #ARGV do
  if redis.call('ZADD', KEYS[2], 'NX', now, ARGV[i]) == 1 then
    for j = 1, nw do redis.call('HINCRBY', KEYS[1], ARGV[i + j], 1) end
    counted = counted + 1
  end
  i = i + 1 + nw
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. tostring(now - ttl))
redis.call('EXPIRE', KEYS[2], ttl)
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('EXPIRE', KEYS[1], keep)
  if redis.call('HLEN', KEYS[1]) > threshold then
    local oldest = {}
    for j = 1, nw do oldest[ARGV[4 + 2 * j]] = tonumber(ARGV[5 + 2 * j]) end
    for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
      local w, b = string.match(f, '^([^:]+):(-?%d+):')
      if w and oldest[w] and tonumber(b) < oldest[w] then redis.call('HDEL', KEYS[1], f) end
    end
  end
end
return counted
"""

# KEYS: lease; ARGV: token, lease ms. Takes a free lease or renews one this token holds.
_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass
class _Touched:
    """One entity's events in a batch: (offset, channel, time) and its earliest window exit."""

    events: list[tuple[int, int, float]] = field(default_factory=list)
    due: float = math.inf


def _oldest_kept(window: str, now: float) -> int:
    """The oldest bucket of ``window`` still inside it at ``now`` (older ones never count again)."""
    window_s, bucket_s = BUCKETS[window]
    return math.floor(now / bucket_s) - int(window_s / bucket_s) + 1


def _exit_time(window: str, bucket: int) -> float:
    """When an event of ``bucket`` stops counting in ``window``: its bucket leaves the ring."""
    window_s, bucket_s = BUCKETS[window]
    return (bucket + int(window_s / bucket_s)) * bucket_s


class SharedAggregates:
    def __init__(
        self,
        client: RedisClient,
        community_of: CommunityOf,
        community_names: Sequence[str],
        namespace: str = DEFAULT_NAMESPACE,
        marker_ttl_s: int = DEFAULT_MARKER_TTL_S,
        lease_s: float = 10.0,
    ) -> None:
        if marker_ttl_s < 60:
            raise ValueError("marker_ttl_s must be >= 60")
        self._client = client
        self._community_of = community_of
        self._community_names = list(community_names)
        self.namespace = namespace
        self.marker_ttl_s = marker_ttl_s
        self._lease_ms = int(lease_s * 1000)
        self._token = secrets.token_hex(8)
        self._apply = client.register_script(_APPLY)
        self._lease = client.register_script(_LEASE)
        self._release = client.register_script(_RELEASE)
        flush = f"{namespace}:{{flush}}"
        self._dirty, self._processing, self._due, self._lease_key = (
            f"{flush}:dirty",
            f"{flush}:processing",
            f"{flush}:due",
            f"{flush}:lease",
        )

    # -- keys ----------------------------------------------------------------------------------

    def counts_key(self, entity: str, key: str) -> str:
        return f"{self.namespace}:{{{entity}:{key}}}"

    # -- updates -------------------------------------------------------------------------------

    def apply(self, entries: Sequence[tuple[int, Event]], now: float) -> int:
        """Count these log entries, each once however often it is applied; returns how many
        counted events were new (by their post: every counted event has exactly one post)."""
        touched = self._group(entries, now)
        if not touched:
            return 0
        calls: list[tuple[list[str], list[Any]]] = []
        posts: list[bool] = []
        for (entity, key), t in touched.items():
            windows = ENTITY_WINDOWS[entity]
            threshold = 4 * sum(_ring(w) for w in windows)
            args: list[Any] = [now, self.marker_ttl_s, _KEEP_S, threshold, len(windows)]
            for w in windows:
                args += [w, _oldest_kept(w, now)]
            for offset, channel, ts in t.events:
                args.append(offset)
                args += [f"{w}:{math.floor(ts / BUCKETS[w][1])}:{channel}" for w in windows]
            counts = self.counts_key(entity, key)
            calls.append(([counts, f"{counts}:applied"], args))
            posts.append(entity == "post")
        counted = run_scripts(self._client, self._apply, calls)
        # only now that the counts are in: a flush between the two round trips finds them
        marks = self._client.pipeline(transaction=False)
        members = [f"{entity}\t{key}" for entity, key in touched]
        marks.sadd(self._dirty, *members)
        for member, t in zip(members, touched.values(), strict=True):
            marks.zadd(self._due, {member: t.due}, lt=True)
        marks.execute()
        return int(sum(int(c) for c, is_post in zip(counted, posts, strict=True) if is_post))

    def _group(self, entries: Sequence[tuple[int, Event]], now: float) -> dict[tuple[Entity, str], _Touched]:
        counted = [(o, e, _CHANNEL[e.type]) for o, e in entries if e.type in _CHANNEL]
        if not counted:
            return {}
        posts = post_ids_to_int([e.post_id for _, e, _ in counted])
        post_names = [k.decode() for k in post_keys(posts).tolist()]
        communities = np.asarray(self._community_of(posts), dtype=np.int64).tolist()
        touched: dict[tuple[Entity, str], _Touched] = defaultdict(_Touched)
        for (offset, event, channel), post, community in zip(counted, post_names, communities, strict=True):
            ts = now if event.ts is None else min(event.ts, now)
            keys: list[tuple[Entity, str]] = [("post", post), ("user", event.user_id)]
            if community >= 0:
                name = self._community_names[community]
                keys += [("community", name), ("user_community", f"{event.user_id}|{name}")]
            for entity, key in keys:
                t = touched[(entity, key)]
                t.events.append((offset, channel, ts))
                shortest = ENTITY_WINDOWS[entity][0]
                t.due = min(t.due, _exit_time(shortest, math.floor(ts / BUCKETS[shortest][1])))
        return touched

    # -- reads ---------------------------------------------------------------------------------

    def totals(self, entity: Entity, keys: Sequence[str], window: str, q: float) -> IntArray:
        """``(len(keys), channels)`` counts in ``window`` at time ``q``; zeros for unknown keys."""
        return _totals([_parse(h) for h in self._read(entity, keys)], window, q)

    def post_counts(
        self, post_ids: npt.ArrayLike, window: str, q: float | None = None
    ) -> tuple[IntArray, IntArray]:
        """(impressions, clicks) of each post in ``window``, as ``EngagementAggregator.post_counts``."""
        ids = np.asarray(post_ids, dtype=np.int64)
        keys = [k.decode() for k in post_keys(ids).tolist()]
        t = self.totals("post", keys, window, time.time() if q is None else q)
        return t[:, CHANNELS.index("impression")].copy(), t[:, CHANNELS.index("click")].copy()

    def _read(self, entity: str, keys: Sequence[str]) -> list[dict[bytes, bytes]]:
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(self.counts_key(entity, key))
        return cast("list[dict[bytes, bytes]]", pipe.execute())

    # -- writing rows --------------------------------------------------------------------------

    def hold_lease(self) -> bool:
        """Take the flusher's lease, or renew it if this instance holds it."""
        return bool(self._lease(keys=[self._lease_key], args=[self._token, self._lease_ms]))

    def unflushed(self) -> int:
        """Entities whose rows wait for a flush (dirty, or taken by a flush not yet finished): zero
        once every counted event is in the online store."""
        pipe = self._client.pipeline(transaction=False)
        pipe.scard(self._dirty)
        pipe.scard(self._processing)
        return int(sum(pipe.execute()))

    def release_lease(self) -> None:
        """Give the lease up (a worker stopping), so another flusher need not wait for it to expire."""
        self._release(keys=[self._lease_key], args=[self._token])

    def flush(self, store: OnlineStore, now: float | None = None) -> dict[str, int] | None:
        """Write the rows of dirty and due entities at ``now``; None when another instance holds the
        flusher's lease. A failed store write leaves the entities dirty for the next flush."""
        if not self.hold_lease():
            return None
        now = time.time() if now is None else now
        client = self._client
        if not client.exists(self._processing) and client.exists(self._dirty):
            client.rename(self._dirty, self._processing)
        members = {m.decode() for m in cast("set[bytes]", client.smembers(self._processing))}
        members |= {m.decode() for m in cast("list[bytes]", client.zrangebyscore(self._due, "-inf", now))}
        by_entity: dict[Entity, list[str]] = defaultdict(list)
        for member in sorted(members):
            entity, key = member.split("\t", 1)
            by_entity[cast("Entity", entity)].append(key)
        written: dict[str, int] = {}
        next_due: dict[str, float] = {}
        for entity in _ENTITIES:
            keys = by_entity.get(entity)
            if not keys:
                continue
            cells = [_parse(h) for h in self._read(entity, keys)]  # parsed once, read per window
            windows = ENTITY_WINDOWS[entity]
            wanted = {d.name for d in store.registry.by_entity(entity)}
            columns = window_feature_columns(windows, lambda w, c=cells: _totals(c, w, now), wanted)  # type: ignore[misc]
            try:
                if columns:
                    store.write(entity, keys, columns, ts=now)
            except BaseException:
                client.sadd(self._dirty, *(f"{entity}\t{k}" for k in keys))
                raise
            written[entity] = len(keys)
            for key, c in zip(keys, cells, strict=True):
                next_due[f"{entity}\t{key}"] = _next_exit(c, windows, now)
        pipe = client.pipeline(transaction=False)
        live = {m: t for m, t in next_due.items() if math.isfinite(t)}
        if live:
            pipe.zadd(self._due, live)
        gone = [m for m, t in next_due.items() if not math.isfinite(t)]
        if gone:
            pipe.zrem(self._due, *gone)
        pipe.delete(self._processing)
        pipe.execute()
        return written

    def close(self) -> None:
        self._client.close()


def _ring(window: str) -> int:
    window_s, bucket_s = BUCKETS[window]
    return int(window_s / bucket_s) * len(CHANNELS)


Cells = list[tuple[str, int, int, int]]  # (window, bucket, channel, count) of one entity


def _parse(h: dict[bytes, bytes]) -> Cells:
    out = []
    for f, v in h.items():
        window, bucket, channel = f.decode().split(":")
        out.append((window, int(bucket), int(channel), int(v)))
    return out


def _totals(cells: Sequence[Cells], window: str, q: float) -> IntArray:
    """The window semantics of ``WindowCounter``: a bucket ``b`` counts at ``q`` iff
    ``floor(q/bucket_s) - n < b <= floor(q/bucket_s)``."""
    window_s, bucket_s = BUCKETS[window]
    head = math.floor(q / bucket_s)
    low = head - int(window_s / bucket_s)
    out = np.zeros((len(cells), len(CHANNELS)), dtype=np.int64)
    for row, entity_cells in enumerate(cells):
        for w, bucket, channel, count in entity_cells:
            if w == window and low < bucket <= head:
                out[row, channel] += count
    return out


def _next_exit(cells: Cells, windows: Sequence[str], now: float) -> float:
    """When this entity's row next changes with no new event: the earliest time a bucket still
    counting in one of its windows leaves that window; infinity when nothing counts any more."""
    soonest = math.inf
    for w, bucket, _, count in cells:
        if w in windows and count and bucket >= _oldest_kept(w, now):
            soonest = min(soonest, _exit_time(w, bucket))
    return soonest
