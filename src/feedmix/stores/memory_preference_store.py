"""In-process PreferenceStore: one process's view only, for tests and single-node demos."""

from __future__ import annotations

import threading
from typing import ClassVar

from feedmix.stores.preference_store import ViewerPreferences
from feedmix.stores.url_options import url_options


class MemoryPreferenceStore:
    """A dict of preferences per viewer. Values are frozen, so they are stored and returned as is."""

    # in-process and fast: callers may call it inline instead of on an I/O thread
    remote: ClassVar[bool] = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._prefs: dict[str, ViewerPreferences] = {}

    @classmethod
    def from_url(cls, url: str) -> MemoryPreferenceStore:
        url_options(url, ())  # no options: rejects a typo'd one like the other stores do
        return cls()

    def get(self, user_id: str) -> ViewerPreferences:
        with self._lock:
            prefs = self._prefs.get(user_id)
        return prefs if prefs is not None else ViewerPreferences()

    def put(self, user_id: str, prefs: ViewerPreferences) -> None:
        with self._lock:
            self._prefs[user_id] = prefs

    def close(self) -> None:
        with self._lock:
            self._prefs.clear()
