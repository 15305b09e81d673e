"""PreferenceStore on Redis: one string per viewer holding ``ViewerPreferences.to_json()``.

``get`` is one GET, ``put`` one SET. No TTL: preferences persist until the viewer changes them.
A stored value that does not decode (written by hand, or by a version whose limits are wider)
raises StoreUnavailable like a backend failure, so callers fail open on one exception type.

Key: ``<prefix>:prefs:{<user_id>}`` (hash tag on the user id, for Redis Cluster: the same slot as
the user's ``seen`` key).
"""

from __future__ import annotations

from typing import ClassVar, cast

from feedmix.stores.errors import StoreUnavailable
from feedmix.stores.preference_store import ViewerPreferences
from feedmix.stores.redis_conn import TIMEOUT_OPTIONS, RedisClient, make_any_client, store_errors
from feedmix.stores.url_options import url_options

DEFAULT_TIMEOUT_MS = 50.0


class RedisPreferenceStore:
    # a network round trip: callers should not block an event loop on it
    remote: ClassVar[bool] = True

    def __init__(self, client: RedisClient, prefix: str = "feedmix") -> None:
        self._client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str) -> RedisPreferenceStore:
        opts = url_options(url, ("prefix", *TIMEOUT_OPTIONS))
        return cls(
            make_any_client(url, opts, default_timeout_ms=DEFAULT_TIMEOUT_MS),
            prefix=opts.get("prefix", "feedmix"),
        )

    def key(self, user_id: str) -> str:
        return f"{self.prefix}:prefs:{{{user_id}}}"

    def get(self, user_id: str) -> ViewerPreferences:
        with store_errors("preference store get"):
            raw = self._client.get(self.key(user_id))
        if raw is None:
            return ViewerPreferences()
        try:
            # decode_responses is off, so the value is bytes
            return ViewerPreferences.from_json(cast("bytes", raw))
        except ValueError as exc:
            raise StoreUnavailable(f"preference store get: unreadable value for {user_id!r}: {exc}") from exc

    def put(self, user_id: str, prefs: ViewerPreferences) -> None:
        with store_errors("preference store put"):
            self._client.set(self.key(user_id), prefs.to_json())

    def close(self) -> None:
        self._client.close()
