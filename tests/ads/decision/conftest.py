"""Backends of the ad server's shared state: every contract test runs on memory and on real Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from feedmix.ads.decision.frequency_caps import FrequencyStore, open_frequency_store
from feedmix.ads.decision.spend_counters import SpendCounters, open_spend_counters


def backend_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "memory":
        return "memory://"
    redis_url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    # generous timeouts: these tests check semantics, not latency
    return f"{redis_url}?prefix={prefix}&timeout_ms=2000&connect_timeout_ms=2000"


@pytest.fixture(params=["memory", "redis"])
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
