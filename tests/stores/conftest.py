"""Store factories per backend: each test builds stores from a URL with the options it needs."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from feedmix.bench.local_cluster import LocalCluster
from feedmix.stores.backends import open_seen_store, open_session_store
from feedmix.stores.seen_store import SeenStore
from feedmix.stores.session_store import FeedSessionStore


def _base_url(backend: str, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    if backend == "memory":
        return "memory://", {}
    if backend == "redis_cluster":
        cluster: LocalCluster = request.getfixturevalue("redis_cluster")
        ports = cluster.ports
        prefix = f"t{uuid.uuid4().hex[:10]}"
        return f"redis://127.0.0.1:{ports[0]}/0", {
            "cluster": "true",
            "prefix": prefix,
            "timeout_ms": 2000,
            "connect_timeout_ms": 2000,
        }
    redis_url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    # a generous timeout: these tests check semantics, not latency, and CI machines stall
    return redis_url, {"prefix": prefix, "timeout_ms": 2000, "connect_timeout_ms": 2000}


def _url(base: str, options: dict[str, Any]) -> str:
    if not options:
        return base
    return f"{base}{'&' if '?' in base else '?'}{urlencode(options)}"


@pytest.fixture(params=["memory", "redis", "redis_cluster"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_seen_store(backend: str, request: pytest.FixtureRequest) -> Iterator[Callable[..., SeenStore]]:
    base, defaults = _base_url(backend, request)
    opened: list[SeenStore] = []

    def make(**options: Any) -> SeenStore:
        store = open_seen_store(_url(base, {**defaults, **options}))
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def make_session_store(
    backend: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., FeedSessionStore]]:
    base, defaults = _base_url(backend, request)
    opened: list[FeedSessionStore] = []

    def make(**options: Any) -> FeedSessionStore:
        store = open_session_store(_url(base, {**defaults, **options}))
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
