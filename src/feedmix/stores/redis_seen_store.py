"""SeenStore on Redis: one sorted set per user, scored by the time each post was seen.

``add`` is a single MULTI/EXEC round trip: ZADD GT (a re-seen post keeps its latest time, never
an older one), ZREMRANGEBYRANK to evict all but the newest ``max_per_user``, PEXPIRE so users who
stop coming back cost nothing after ``ttl_s``. ``get`` is one ZREVRANGE. Members are the 8-byte
encoding of ``feedmix.stores.id_codec``, whose byte order equals numeric order, so Redis's
tie-break between equal scores matches the in-memory store's.

Key: ``<prefix>:seen:{<user_id>}``. The hash tag keeps a user's key placement stable in Redis
Cluster and lets other per-user keys that use the same tag share its slot.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from feedmix.stores.id_codec import decode_ids, encode_ids
from feedmix.stores.redis_conn import TIMEOUT_OPTIONS, RedisClient, make_any_client, store_errors
from feedmix.stores.seen_store import DEFAULT_MAX_PER_USER, DEFAULT_SEEN_TTL_S, IdArray
from feedmix.stores.url_options import float_option, int_option, url_options

DEFAULT_TIMEOUT_MS = 50.0


class RedisSeenStore:
    # a network round trip: callers should not block an event loop on it
    remote: ClassVar[bool] = True

    def __init__(
        self,
        client: RedisClient,
        prefix: str = "feedmix",
        max_per_user: int = DEFAULT_MAX_PER_USER,
        ttl_s: float = DEFAULT_SEEN_TTL_S,
    ) -> None:
        if max_per_user < 1:
            raise ValueError("max_per_user must be >= 1")
        self._client = client
        self.prefix = prefix
        self.max_per_user = max_per_user
        self.ttl_ms = max(1, round(ttl_s * 1000))

    @classmethod
    def from_url(cls, url: str) -> RedisSeenStore:
        opts = url_options(url, ("prefix", "max_per_user", "ttl_s", *TIMEOUT_OPTIONS))
        return cls(
            make_any_client(url, opts, default_timeout_ms=DEFAULT_TIMEOUT_MS),
            prefix=opts.get("prefix", "feedmix"),
            max_per_user=int_option(opts, "max_per_user", DEFAULT_MAX_PER_USER, minimum=1),
            ttl_s=float_option(opts, "ttl_s", DEFAULT_SEEN_TTL_S),
        )

    def key(self, user_id: str) -> str:
        return f"{self.prefix}:seen:{{{user_id}}}"

    def add(self, user_id: str, post_ids: IdArray, ts: float) -> None:
        members = encode_ids(post_ids)
        if not members:
            return
        key = self.key(user_id)
        mapping: dict[Any, float] = dict.fromkeys(members, float(ts))
        with store_errors("seen store add"):
            pipe = self._client.pipeline(transaction=True)
            pipe.zadd(key, mapping, gt=True)
            pipe.zremrangebyrank(key, 0, -(self.max_per_user + 1))
            pipe.pexpire(key, self.ttl_ms)
            pipe.execute()

    def get(self, user_id: str) -> IdArray:
        with store_errors("seen store get"):
            members = self._client.zrevrange(self.key(user_id), 0, self.max_per_user - 1)
        # decode_responses is off and no scores are asked for, so members are bytes
        return decode_ids(cast("list[bytes]", members))

    def close(self) -> None:
        self._client.close()
