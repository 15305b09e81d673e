"""The in-process cache: a bounded LRU with per-entry expiry, one process's view only. The default,
and what a single-process demo needs; shared caches are Redis or Memcached."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from feedmix.stores.url_options import float_option, url_options

DEFAULT_MAX_ENTRIES = 100_000


class MemoryCache:
    remote: ClassVar[bool] = False

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.monotonic):
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    @classmethod
    def from_url(cls, url: str) -> MemoryCache:
        opts = url_options(url, ("max_entries",))
        return cls(max_entries=int(float_option(opts, "max_entries", DEFAULT_MAX_ENTRIES)))

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = self._clock()
        out: list[bytes | None] = []
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is None or entry[0] <= now:
                    if entry is not None:
                        del self._entries[key]
                    out.append(None)
                    continue
                self._entries.move_to_end(key)
                out.append(entry[1])
        return out

    def set_many(self, items: Mapping[str, bytes], ttl_s: float) -> None:
        expires = self._clock() + ttl_s
        with self._lock:
            for key, value in items.items():
                self._entries[key] = (expires, bytes(value))
                self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def delete_many(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._entries.pop(key, None)

    def close(self) -> None:
        with self._lock:
            self._entries.clear()
