"""Experiment stores per backend: SQLite in a temporary file and PostgreSQL in a schema of its own
(dropped after the test). Without a reachable PostgreSQL the PostgreSQL cases skip locally and fail
in CI (the ``postgres_dsn`` fixture decides)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedmix.config import FeedmixConfig
from feedmix.events.event_log import scan
from feedmix.experiments.backends import open_experiment_store
from feedmix.experiments.exposure import Exposure
from feedmix.experiments.sql_experiment_store import SqlExperimentStore
from feedmix.serving.app import create_app
from feedmix.serving.runtime import Runtime

KEY = "test-operator-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'experiments.db'}"
        return
    import psycopg

    dsn: str = request.getfixturevalue("postgres_dsn")
    schema = f"exp_test_{uuid.uuid4().hex[:12]}"
    yield f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def open_store(store_url: str) -> Iterator[Callable[[], SqlExperimentStore]]:
    opened: list[SqlExperimentStore] = []

    def make() -> SqlExperimentStore:
        store = open_experiment_store(store_url)
        opened.append(store)
        return store

    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(open_store: Callable[[], SqlExperimentStore]) -> SqlExperimentStore:
    return open_store()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The demo service with experiments on (SQLite store and exposure log in its state dir)."""
    # a long home deadline: these tests check what fails and what is served, which must not depend on
    # how loaded the machine is (tests of the deadline itself set pipeline.deadline_ms per request)
    cfg = FeedmixConfig(
        state_dir=str(tmp_path_factory.mktemp("state")),
        users=300,
        pipeline_params={"home": {"pipeline.deadline_ms": 10_000.0}},
    )
    rt = Runtime.build(cfg)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    """A client of the service, whose operator key is ``KEY``."""
    mp = pytest.MonkeyPatch()
    mp.setenv("FEEDMIX_OPERATOR_KEY", KEY)
    with TestClient(create_app(runtime)) as c:
        yield c
    mp.undo()


def wait_for_exposures(runtime: Runtime, experiment: str, at_least: int) -> list[Exposure]:
    """The experiment's exposures once the side effects queued so far (exposure logging) have run."""
    assert runtime.experiments is not None
    runtime.executor.drain_side_effects()
    logged = [e for e in scan(runtime.experiments.exposure_log) if e.experiment == experiment]
    assert len(logged) >= at_least, (len(logged), at_least)
    return logged


@contextlib.contextmanager
def ads_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, advertisers: int = 1
) -> Iterator[tuple[Runtime, TestClient]]:
    """A service with ads and experiments (operator key set, assigner refreshed by hand) and
    ``advertisers`` advertisers of one running campaign each, all bidding the same."""
    from tests.ads.service_helpers import ads_runtime, new_ad_group

    monkeypatch.setenv("FEEDMIX_ADS_ADMIN_TOKEN", "admin-secret")
    monkeypatch.setenv("FEEDMIX_OPERATOR_KEY", KEY)
    rt = ads_runtime(tmp_path, experiments_refresh_interval_s=0)
    try:
        with TestClient(create_app(rt)) as client:
            for i in range(advertisers):
                new_ad_group(client, f"adv{i}")
            assert rt.ads is not None and rt.ads.feed_ads.refresh(time.time())
            yield rt, client
    finally:
        rt.close()
