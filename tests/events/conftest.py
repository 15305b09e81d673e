"""Fixtures for event tests: an event factory and an event log per backend."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from feedmix.events.backends import open_event_log
from feedmix.events.event_log import EventLog
from feedmix.events.schema import Event


@pytest.fixture
def make_event() -> Callable[..., Event]:
    """Build a valid Event; keyword arguments override fields. ids are unique per test."""
    counter = itertools.count(1)

    def make(**overrides: Any) -> Event:
        n = next(counter)
        fields: dict[str, Any] = {
            "event_id": f"ev-{n}",
            "type": "impression",
            "user_id": "u1",
            "post_id": f"p{n:x}",
            "ts": 1_700_000_000.0 + n,
        }
        fields.update(overrides)
        return Event.model_validate(fields)

    return make


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _log_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'events.db'}"
    if backend == "redis_cluster":  # the stream, its counter and dedup keys share one hash-tag slot
        port = request.getfixturevalue("redis_cluster").ports[0]
        stream = f"t{uuid.uuid4().hex[:10]}"
        return (
            f"redis://127.0.0.1:{port}/0?cluster=true&stream={stream}&timeout_ms=2000&connect_timeout_ms=2000"
        )
    redis_url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    return with_query(redis_url, f"stream={prefix}")


@pytest.fixture(params=["memory", "sqlite", "redis", "redis_cluster"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _log_url(request.param, request, tmp_path)


@pytest.fixture(params=["sqlite", "redis", "redis_cluster"])
def persistent_log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _log_url(request.param, request, tmp_path)


@pytest.fixture
def event_log(log_url: str) -> Iterator[EventLog]:
    log = open_event_log(log_url)
    yield log
    log.close()
