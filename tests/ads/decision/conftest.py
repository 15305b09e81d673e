"""The ad server's shared state: every contract test runs in memory, on Redis and on a Redis Cluster."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from feedmix.ads.decision.frequency_caps import FrequencyStore, open_frequency_store
from feedmix.ads.decision.spend_counters import SpendCounters, open_spend_counters


def backend_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "redis_cluster":  # every campaign's and user's keys share a hash-tag slot
        port = request.getfixturevalue("redis_cluster").ports[0]
        prefix = f"t{uuid.uuid4().hex[:10]}"
        return (
            f"redis://127.0.0.1:{port}/0?cluster=true&prefix={prefix}&timeout_ms=2000&connect_timeout_ms=2000"
        )
    redis_url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    # generous timeouts: these tests check semantics, not latency
    return f"{redis_url}?prefix={prefix}&timeout_ms=2000&connect_timeout_ms=2000"


@pytest.fixture(params=["memory", "redis", "redis_cluster"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_counters(backend: str, request: pytest.FixtureRequest) -> Iterator[Callable[[], SpendCounters]]:
    url = backend_url(backend, request)
    opened: list[SpendCounters] = []

    def make() -> SpendCounters:
        c = open_spend_counters(url)
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()


@pytest.fixture
def make_frequency(backend: str, request: pytest.FixtureRequest) -> Iterator[Callable[[], FrequencyStore]]:
    url = backend_url(backend, request)
    opened: list[FrequencyStore] = []

    def make() -> FrequencyStore:
        f = open_frequency_store(url)
        opened.append(f)
        return f

    yield make
    for f in opened:
        f.close()
