"""In-process FeedSessionStore with the same TTL semantics as the Redis one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from feedmix.stores.session_store import DEFAULT_SESSION_TTL_S, IdArray
from feedmix.stores.url_options import float_option, url_options

_SWEEP_EVERY = 1024


class MemorySessionStore:
    """A set of ids plus an expiry time per session.

    Expired sessions are dropped when touched and by a sweep every ``_SWEEP_EVERY`` adds, so a
    long-running process does not accumulate abandoned sessions.
    """

    # in-process and fast: callers may call it inline instead of on an I/O thread
    remote: ClassVar[bool] = False

    def __init__(
        self, ttl_s: float = DEFAULT_SESSION_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[set[int], float]] = {}
        self._adds = 0

    @classmethod
    def from_url(cls, url: str) -> MemorySessionStore:
        opts = url_options(url, ("ttl_s",))
        return cls(ttl_s=float_option(opts, "ttl_s", DEFAULT_SESSION_TTL_S))

    def add_served(self, session_id: str, post_ids: IdArray) -> None:
        ids = np.asarray(post_ids, dtype=np.int64).ravel().tolist()
        now = self._clock()
        with self._lock:
            self._adds += 1
            if self._adds % _SWEEP_EVERY == 0:
                self._sweep(now)
            served = self._live(session_id, now)
            if served is None:
                if not ids:
                    return  # like EXPIRE on a missing key: nothing to refresh
                served = set()
            served.update(ids)
            self._sessions[session_id] = (served, now + self.ttl_s)

    def served(self, session_id: str) -> IdArray:
        with self._lock:
            served = self._live(session_id, self._clock())
            ids = sorted(served) if served else []
        return np.array(ids, dtype=np.int64)

    def close(self) -> None:
        with self._lock:
            self._sessions.clear()

    def _live(self, session_id: str, now: float) -> set[int] | None:
        entry = self._sessions.get(session_id)
        if entry is None:
            return None
        if now >= entry[1]:
            del self._sessions[session_id]
            return None
        return entry[0]

    def _sweep(self, now: float) -> None:
        expired = [sid for sid, (_, expires_at) in self._sessions.items() if now >= expires_at]
        for sid in expired:
            del self._sessions[sid]
