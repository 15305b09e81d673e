"""FeedSessionStore on Redis: one SET per session, TTL restarted on every page served.

``add_served`` is one MULTI/EXEC round trip (SADD + PEXPIRE); ``served`` one SMEMBERS. Members use
the 8-byte encoding of ``feedmix.stores.id_codec`` so a reply decodes in one numpy call.

Key: ``<prefix>:session:{<session_id>}`` (hash tag on the session id, for Redis Cluster).
"""

from __future__ import annotations

from typing import ClassVar, cast

import numpy as np

from feedmix.stores.id_codec import decode_ids, encode_ids
from feedmix.stores.redis_conn import TIMEOUT_OPTIONS, RedisClient, make_any_client, store_errors
from feedmix.stores.session_store import DEFAULT_SESSION_TTL_S, IdArray
from feedmix.stores.url_options import float_option, url_options

DEFAULT_TIMEOUT_MS = 50.0


class RedisSessionStore:
    # a network round trip: callers should not block an event loop on it
    remote: ClassVar[bool] = True

    def __init__(
        self, client: RedisClient, prefix: str = "feedmix", ttl_s: float = DEFAULT_SESSION_TTL_S
    ) -> None:
        self._client = client
        self.prefix = prefix
        self.ttl_ms = max(1, round(ttl_s * 1000))

    @classmethod
    def from_url(cls, url: str) -> RedisSessionStore:
        opts = url_options(url, ("prefix", "ttl_s", *TIMEOUT_OPTIONS))
        return cls(
            make_any_client(url, opts, default_timeout_ms=DEFAULT_TIMEOUT_MS),
            prefix=opts.get("prefix", "feedmix"),
            ttl_s=float_option(opts, "ttl_s", DEFAULT_SESSION_TTL_S),
        )

    def key(self, session_id: str) -> str:
        return f"{self.prefix}:session:{{{session_id}}}"

    def add_served(self, session_id: str, post_ids: IdArray) -> None:
        members = encode_ids(post_ids)
        key = self.key(session_id)
        with store_errors("session store add_served"):
            pipe = self._client.pipeline(transaction=True)
            if members:
                pipe.sadd(key, *members)
            pipe.pexpire(key, self.ttl_ms)
            pipe.execute()

    def served(self, session_id: str) -> IdArray:
        with store_errors("session store served"):
            members = self._client.smembers(self.key(session_id))
        # decode_responses is off, so members are bytes
        return np.sort(decode_ids(list(cast("set[bytes]", members))))

    def close(self) -> None:
        self._client.close()
