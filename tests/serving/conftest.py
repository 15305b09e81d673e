from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedmix.config import FeedmixConfig
from feedmix.serving.app import create_app
from feedmix.serving.runtime import Runtime


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    state = tmp_path_factory.mktemp("state")
    # a long home deadline: these tests check what fails and what is served, which must not depend on
    # how loaded the machine is (tests of the deadline itself set pipeline.deadline_ms per request)
    cfg = FeedmixConfig(
        state_dir=str(state), users=300, pipeline_params={"home": {"pipeline.deadline_ms": 10_000.0}}
    )
    rt = Runtime.build(cfg)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


@pytest.fixture
def state_dir(runtime: Runtime) -> Path:
    return Path(runtime.config.state_dir)
