"""Online per-user state: seen posts and feed sessions, in memory or in Redis.

Pick a backend with a URL (``open_seen_store("redis://...")``); every backend failure surfaces as
``StoreUnavailable`` so request code can fail open.
"""

from feedmix.stores.backends import open_seen_store, open_session_store
from feedmix.stores.errors import StoreUnavailable
from feedmix.stores.seen_store import SeenStore
from feedmix.stores.session_store import FeedSessionStore

__all__ = ["FeedSessionStore", "SeenStore", "StoreUnavailable", "open_seen_store", "open_session_store"]
