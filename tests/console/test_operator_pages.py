"""The operator pages (experiments, shadows) in headless chromium against a running service: the key is
typed, the lists load, a row opens its analysis or report, the charts draw, no console error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from feedmix.config import FeedmixConfig
from feedmix.serving.runtime import Runtime
from tests.console.conftest import Page, serve

KEY = "console-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Runtime]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("FEEDMIX_OPERATOR_KEY", KEY)
    shadow = {"pipeline": "home", "sample_rate": 1.0, "params": {"heuristic_scorer.w_affinity": 0.0}}
    cfg = FeedmixConfig(state_dir=str(tmp_path_factory.mktemp("state")), users=200, shadows={"blind": shadow})
    rt = Runtime.build(cfg)
    try:
        served = serve(rt)
        url = next(served)
        with httpx.Client(base_url=url, timeout=30) as c:
            exp = {
                "experiment_id": "console-exp",
                "owner": "console",
                "hypothesis": "fresher feeds engage more",
                "surfaces": ["home"],
                "variants": [
                    {"name": "control"},
                    {"name": "fresher", "overrides": {"heuristic_scorer.w_freshness": 3}},
                ],
            }
            assert c.post("/v1/experiments", json=exp, headers=AUTH).status_code == 201
            assert c.post("/v1/experiments/console-exp/start", headers=AUTH).status_code == 200
            assert rt.experiments is not None
            rt.experiments.assigner.refresh()
            for i in range(1, 31):
                assert c.get("/v1/feed", params={"user_id": f"u{i:04d}", "limit": 10}).status_code == 200
        assert rt.shadows is not None and rt.shadows.drain()
        rt.executor.drain_side_effects()
        yield url, rt
        next(served, None)
    finally:
        rt.close()
        mp.undo()


def _open(page: Page, url: str) -> None:
    page.page.goto(url)
    page.page.fill("#key-input", KEY)
    page.page.click("button[type=submit]")


def test_the_experiments_page_lists_and_analyses(browser: Any, site: tuple[str, Runtime]) -> None:
    url, _ = site
    page = Page(browser)
    _open(page, url + "/console/experiments")
    row = page.page.locator("#exp-table tbody tr.clickable", has_text="console-exp")
    row.wait_for(timeout=10_000)
    assert "running" in row.inner_text()
    row.click()
    page.page.locator("#analysis-table tbody tr").first.wait_for(timeout=20_000)
    text = page.page.inner_text("#analysis-table")
    assert "engagement_per_user" in text and "latency_p99_ms" in text
    assert "exposed" in page.page.inner_text("#analysis-summary")
    page.page.wait_for_function("document.getElementById('analysis-plot').naturalWidth > 0", timeout=20_000)
    shot = page.screenshot("console-experiments")
    assert shot.stat().st_size > 10_000
    assert page.errors == []


def test_the_shadows_page_draws_the_report(browser: Any, site: tuple[str, Runtime]) -> None:
    url, _ = site
    page = Page(browser)
    _open(page, url + "/console/shadows")
    row = page.page.locator("#shadow-table tbody tr.clickable", has_text="blind")
    row.wait_for(timeout=10_000)
    row.click()
    page.page.locator("#report-table tbody tr").first.wait_for(timeout=20_000)
    assert "rbo" in page.page.inner_text("#report-table")
    assert page.page.locator("#agreement-chart rect").count() >= 5  # candidate and noise bars
    assert page.page.locator("#distribution-charts svg rect").count() > 10
    page.screenshot("console-shadows")
    assert page.errors == []


def test_a_wrong_key_shows_the_error_and_no_table(browser: Any, site: tuple[str, Runtime]) -> None:
    url, _ = site
    page = Page(browser)
    page.page.goto(url + "/console/experiments")
    page.page.fill("#key-input", "wrong")
    page.page.click("button[type=submit]")
    page.page.locator("#error-banner:not([hidden])").wait_for(timeout=10_000)
    assert "operator key" in page.page.inner_text("#error-text")
    # the 401 itself is a failed fetch the browser reports; nothing else may fail
    assert all("401" in e for e in page.errors)
