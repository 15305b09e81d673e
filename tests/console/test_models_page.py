"""The models page against a running service: versions with their AUCs, promote from the page, roll
back, the promotion history; the API behind the operator key refuses what it must."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from feedmix.config import FeedmixConfig
from feedmix.ranking.model_registry import DataWindow, ModelMeta, ModelRegistry
from feedmix.serving.runtime import Runtime
from tests.console.conftest import Page, serve

KEY = "models-console-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("FEEDMIX_OPERATOR_KEY", KEY)
    state = tmp_path_factory.mktemp("state")
    registry_dir = state / "models"
    reg = ModelRegistry(registry_dir)
    versions = []
    for i, auc in enumerate((0.61, 0.64)):
        meta = ModelMeta(
            DataWindow(1.0e9, 1.0e9 + 86_400 * (i + 1), 5000 * (i + 1)),
            ("f.a", "f.b"),
            metrics={
                "click.auc": auc,
                "click.heuristic_auc": 0.58,
                "hide.auc": 0.7,
                "hide.heuristic_auc": 0.5,
            },
        )
        versions.append(
            reg.register("ranker", lambda d: Path(d, "model.txt").write_text("not a model"), meta).version
        )
    cfg = FeedmixConfig(
        state_dir=str(state), users=50, signals_corpus="off", ranking_registry_dir=str(registry_dir)
    )
    rt = Runtime.build(cfg)
    try:
        served = serve(rt)
        yield next(served), versions
        next(served, None)
    finally:
        rt.close()
        mp.undo()


def test_the_api_promotes_rolls_back_and_refuses(site: tuple[str, list[str]]) -> None:
    url, (old, new) = site
    with httpx.Client(base_url=url, timeout=30) as c:
        assert c.get("/v1/models").status_code == 401
        body = c.get("/v1/models", headers=AUTH).json()
        assert [v["version"] for v in body["versions"]] == [old, new] and body["promoted"] is None
        assert body["versions"][1]["metrics"]["click.auc"] == 0.64
        r = c.post("/v1/models/nosuch/promote", headers=AUTH)
        assert r.status_code == 409 and "nosuch" in r.json()["detail"]
        assert c.post("/v1/models/rollback", headers=AUTH).status_code == 409  # nothing promoted yet
        out = c.post(f"/v1/models/{old}/promote", headers=AUTH).json()
        # the registry promoted it; the serving process refused to load a file that is no model, and says so
        assert out["promoted"] == old and out["serving"]["status"] == "refused"


def test_the_models_page_promotes_and_rolls_back(browser: Any, site: tuple[str, list[str]]) -> None:
    url, (old, new) = site
    # the older version serves first (idempotent if the API test promoted it), so there is a rollback
    assert httpx.post(f"{url}/v1/models/{old}/promote", headers=AUTH, timeout=30).status_code == 200
    page = Page(browser)
    page.page.goto(url + "/console/models")
    page.page.fill("#key-input", KEY)
    page.page.click("#models-controls button[type=submit]")
    page.page.locator(f'tr[data-version="{new}"] .promote-btn').wait_for(timeout=10_000)
    assert "click 0.640 (0.580)" in page.page.inner_text(f'tr[data-version="{new}"]')
    page.page.click(f'tr[data-version="{new}"] .promote-btn')
    page.page.locator(f'tr.promoted[data-version="{new}"]').wait_for(timeout=10_000)
    assert f"promote {new}" in page.page.inner_text("#history")
    page.page.click("#rollback-btn")
    page.page.locator(f'tr.promoted[data-version="{old}"]').wait_for(timeout=10_000)
    assert f"rollback {old}" in page.page.inner_text("#history")
    page.screenshot("console-models")
    assert page.errors == []
