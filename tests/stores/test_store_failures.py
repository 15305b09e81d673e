"""Redis failures surface as StoreUnavailable, quickly: a dead Redis must not stall a request."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from feedmix.stores.backends import open_preference_store, open_seen_store, open_session_store
from feedmix.stores.errors import StoreUnavailable
from feedmix.stores.preference_store import ViewerPreferences

IDS = np.array([1, 2], dtype=np.int64)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that completes connections (kernel backlog) but never answers a byte."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    host, port = sock.getsockname()
    yield f"redis://{host}:{port}/0"
    sock.close()


def calls(url: str) -> list[Callable[[], object]]:
    seen, sessions, prefs = open_seen_store(url), open_session_store(url), open_preference_store(url)
    return [
        lambda: seen.add("u", IDS, 1.0),
        lambda: seen.get("u"),
        lambda: sessions.add_served("s", IDS),
        lambda: sessions.served("s"),
        lambda: prefs.put("u", ViewerPreferences(allow_nsfw=True)),
        lambda: prefs.get("u"),
    ]


def test_a_refused_connection_raises_store_unavailable() -> None:
    for call in calls("redis://127.0.0.1:1/0"):
        with pytest.raises(StoreUnavailable, match="ConnectionError"):
            call()


def test_a_redis_that_never_answers_times_out_after_the_default_50ms(silent_server: str) -> None:
    for call in calls(silent_server):
        started = time.perf_counter()
        with pytest.raises(StoreUnavailable, match="Timeout"):
            call()
        # 50 ms read timeout, no retry on timeouts; the margin absorbs a slow CI machine
        assert time.perf_counter() - started < 0.5


def test_the_timeout_is_configurable(silent_server: str) -> None:
    store = open_seen_store(f"{silent_server}?timeout_ms=300")
    started = time.perf_counter()
    with pytest.raises(StoreUnavailable):
        store.get("u")
    assert 0.25 < time.perf_counter() - started < 2.0
