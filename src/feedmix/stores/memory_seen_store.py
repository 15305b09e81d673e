"""In-process SeenStore with the same eviction, ordering and expiry as the Redis one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from feedmix.stores.seen_store import DEFAULT_MAX_PER_USER, DEFAULT_SEEN_TTL_S, IdArray
from feedmix.stores.url_options import float_option, int_option, url_options

_SWEEP_EVERY = 1024


class MemorySeenStore:
    """A dict of ``{post_id: latest ts}`` per user, trimmed to the newest ``max_per_user``.

    ``clock`` (monotonic seconds) drives the per-user TTL, which like Redis's EXPIRE restarts on
    every ``add``; tests inject a fake clock. Expired users are dropped when touched and by a
    sweep every ``_SWEEP_EVERY`` adds, so users who never come back do not accumulate.
    """

    # in-process and fast: callers may call it inline instead of on an I/O thread
    remote: ClassVar[bool] = False

    def __init__(
        self,
        max_per_user: int = DEFAULT_MAX_PER_USER,
        ttl_s: float = DEFAULT_SEEN_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_per_user < 1:
            raise ValueError("max_per_user must be >= 1")
        self.max_per_user = max_per_user
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._users: dict[str, tuple[dict[int, float], float]] = {}
        self._adds = 0

    @classmethod
    def from_url(cls, url: str) -> MemorySeenStore:
        opts = url_options(url, ("max_per_user", "ttl_s"))
        return cls(
            max_per_user=int_option(opts, "max_per_user", DEFAULT_MAX_PER_USER, minimum=1),
            ttl_s=float_option(opts, "ttl_s", DEFAULT_SEEN_TTL_S),
        )

    def add(self, user_id: str, post_ids: IdArray, ts: float) -> None:
        ids = np.asarray(post_ids, dtype=np.int64).ravel()
        if ids.size == 0:
            return
        now = self._clock()
        with self._lock:
            self._adds += 1
            if self._adds % _SWEEP_EVERY == 0:
                self._users = {u: entry for u, entry in self._users.items() if now < entry[1]}
            seen = self._live(user_id, now)
            for pid in ids.tolist():
                seen[pid] = max(ts, seen.get(pid, ts))
            if len(seen) > self.max_per_user:
                keep = sorted(seen.items(), key=_newest_first)[: self.max_per_user]
                seen = dict(keep)
            self._users[user_id] = (seen, now + self.ttl_s)

    def get(self, user_id: str) -> IdArray:
        with self._lock:
            seen = self._live(user_id, self._clock())
            ordered = sorted(seen.items(), key=_newest_first)
        return np.array([pid for pid, _ in ordered], dtype=np.int64)

    def close(self) -> None:
        with self._lock:
            self._users.clear()

    def _live(self, user_id: str, now: float) -> dict[int, float]:
        entry = self._users.get(user_id)
        if entry is None:
            return {}
        seen, expires_at = entry
        if now >= expires_at:
            del self._users[user_id]
            return {}
        return seen


def _newest_first(item: tuple[int, float]) -> tuple[float, int]:
    pid, ts = item
    return (-ts, -pid)
