"""Campaign stores per backend: SQLite in a temporary file and PostgreSQL in a schema of its own.

Each PostgreSQL test gets a fresh schema (``?schema=ads_test_<random>``) that is dropped after it,
so the tests never see or touch other data in the database. Without a reachable server the
PostgreSQL cases skip locally and fail in CI (the ``postgres_dsn`` fixture decides).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from feedmix.ads.store.backends import open_campaign_store
from feedmix.ads.store.sql_campaign_store import SqlCampaignStore


def _with_schema(dsn: str, schema: str) -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'ads.db'}"
        return
    import psycopg

    dsn: str = request.getfixturevalue("postgres_dsn")
    schema = f"ads_test_{uuid.uuid4().hex[:12]}"
    yield _with_schema(dsn, schema)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def open_store(store_url: str) -> Iterator[Callable[[], SqlCampaignStore]]:
    """Opens stores on this test's database (several may be open at once); closes them after."""
    opened: list[SqlCampaignStore] = []

    def make() -> SqlCampaignStore:
        store = open_campaign_store(store_url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], SqlCampaignStore]) -> SqlCampaignStore:
    return open_store()
