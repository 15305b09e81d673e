"""Shared fixtures: real Redis and PostgreSQL servers.

On a developer machine a missing server skips the tests that need it; in CI (CI=true) it is a
failure, because a contract test that silently skips proves nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

REDIS_URL = os.environ.get("FEEDMIX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_DSN = os.environ.get("FEEDMIX_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(what: str, exc: Exception) -> None:
    msg = f"{what} is not reachable: {exc}"
    if IN_CI:
        pytest.fail(msg + " (CI requires it)")
    pytest.skip(msg)


@pytest.fixture(scope="session", autouse=True)
def shared_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One retrieval index directory for every runtime and server process the tests start.

    A runtime builds the content index at startup when its index directory has none for its corpus
    (about 1-2 s on the demo slice); pointing ``FEEDMIX_INDEX_DIR`` (the default of ``[retrieval]
    index_dir``) at one directory makes only the first one pay. Tests that swap or corrupt builds use
    directories of their own.
    """
    path = str(tmp_path_factory.mktemp("shared-index"))
    before = os.environ.get("FEEDMIX_INDEX_DIR")
    os.environ["FEEDMIX_INDEX_DIR"] = path
    yield path
    if before is None:
        os.environ.pop("FEEDMIX_INDEX_DIR", None)
    else:
        os.environ["FEEDMIX_INDEX_DIR"] = before


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis URL whose keys are cleaned up after the test (keys carry a unique prefix)."""
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
    except Exception as exc:  # pragma: no cover - depends on the machine
        _missing("Redis", exc)
    yield REDIS_URL
    client.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A unique key prefix; every key under it is deleted after the test."""
    import redis

    prefix = f"feedmix-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def postgres_dsn() -> Iterator[str]:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_DSN, connect_timeout=2) as conn:
            conn.execute("select 1")
    except Exception as exc:  # pragma: no cover
        _missing("PostgreSQL", exc)
    yield POSTGRES_DSN


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[Any]:
    """A real Redis Cluster (3 masters, 3 replicas) for the session, shared by every contract test that
    runs its store on one Redis and on a cluster. Missing binaries: skip locally, fail in CI."""
    from feedmix.bench.local_cluster import LocalCluster

    try:
        cluster = LocalCluster()
    except FileNotFoundError as exc:  # pragma: no cover - depends on the machine
        _missing("redis-server and redis-cli", exc)
        raise  # unreachable: _missing skips or fails
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def ray_executor() -> Iterator[Any]:
    """The Ray executor joined to a real one-machine Ray cluster (``ray start --head``, two CPUs) that
    lives for the session. Ray not installed: skip locally, fail in CI."""
    try:
        import ray  # noqa: F401

        from feedmix.jobs.local_ray_cluster import LocalRayCluster
    except ImportError as exc:  # pragma: no cover - depends on the machine
        _missing("Ray", exc)
        raise  # unreachable: _missing skips or fails
    from feedmix.jobs.backends import make_executor

    cluster = LocalRayCluster(cpus=2)
    try:
        executor = make_executor("ray", cluster.address)
    except BaseException:
        cluster.stop()
        raise
    yield executor
    executor.close()
    cluster.stop()
