"""The feed console (every surface, posts and ads with why, the trace) and the components page (every
pipeline drawn as its stages, columns and params) in headless chromium; no console error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from feedmix.config import FeedmixConfig
from feedmix.serving.runtime import Runtime
from tests.console.conftest import Page, serve


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Runtime]]:
    cfg = FeedmixConfig(
        state_dir=str(tmp_path_factory.mktemp("state")),
        users=100,
        ads_demo_campaigns=True,
        signals_corpus="off",
    )
    rt = Runtime.build(cfg)
    try:
        served = serve(rt)
        yield next(served), rt
        next(served, None)
    finally:
        rt.close()


def test_the_feed_page_shows_each_surface_with_why_and_the_trace(
    browser: Any, site: tuple[str, Runtime]
) -> None:
    url, _ = site
    page = Page(browser)
    page.page.goto(url + "/")
    page.page.wait_for_function("document.getElementById('user-select').options.length > 1", timeout=15_000)
    page.page.wait_for_function(
        "Array.from(document.getElementById('surface-select').options).some(o => o.value === '@discovery')",
        timeout=15_000,
    )
    page.page.select_option("#user-select", index=1)
    page.page.click("#load-btn")
    page.page.locator("#feed-table tbody tr").nth(24).wait_for(timeout=15_000)
    assert page.page.locator("#trace *").count() > 10  # the stage-by-stage waterfall
    feed_text = page.page.inner_text("#feed-table")
    assert "joined_communities" in feed_text or "trending" in feed_text  # each post says its source
    page.screenshot("console-feed-home")
    page.page.select_option("#surface-select", "@discovery")
    page.page.click("#load-btn")
    page.page.wait_for_function(
        "document.getElementById('user-info').textContent.indexOf('to join:') >= 0", timeout=15_000
    )
    assert "discovery" in page.page.inner_text("#user-info")
    page.page.locator("#feed-table tbody tr").nth(10).wait_for(timeout=15_000)
    page.screenshot("console-feed-discovery")
    assert page.errors == []


def test_the_components_page_draws_every_pipeline(browser: Any, site: tuple[str, Runtime]) -> None:
    url, rt = site
    page = Page(browser)
    page.page.goto(url + "/console/components")
    page.page.locator(".stage-box").first.wait_for(timeout=15_000)
    options = page.page.locator("#pipeline-select option").all_inner_texts()
    assert {o.split(" ")[0] for o in options} == set(rt.pipelines)
    page.page.select_option("#pipeline-select", "discovery")
    for stage in ("query_hydrators", "sources", "candidate_hydrators", "filters", "scorers", "selectors"):
        assert page.page.locator(f'.stage-box[data-stage="{stage}"]').count() == 1
    page.page.click('.comp-chip[data-id="novelty"]')
    assert page.page.locator('tr.highlight[data-id="novelty"]').count() == 1
    row = page.page.inner_text('tr[data-id="category_cap"]')
    assert "max_per_category = 8" in row and "[1, 1000]" in row and "selectors" in row
    # a param the product sets is shown beside its default
    diversity = page.page.inner_text('tr[data-id="community_diversity"]')
    assert "max_per_community = 3" in diversity and "(default 4)" in diversity
    page.page.fill("#filter-input", "novelty")
    assert page.page.locator("#components-table tbody tr").count() == 1
    page.screenshot("console-components")
    assert page.errors == []


def test_the_compare_page_shows_two_param_sets_side_by_side(browser: Any, site: tuple[str, Runtime]) -> None:
    url, _ = site
    page = Page(browser)
    page.page.goto(url + "/console/compare")
    page.page.fill("#params-b", "heuristic_scorer.w_freshness=0\nheuristic_scorer.w_quality=5")
    page.page.click("#compare-form button[type=submit]")
    page.page.locator("#list-b li").nth(19).wait_for(timeout=15_000)
    assert page.page.locator("#list-a li").count() == 20
    summary = page.page.inner_text("#summary")
    assert "RBO" in summary and "Jaccard@10" in summary
    shifts = page.page.locator("#list-b .shift").all_inner_texts()
    assert any(s != "=" for s in shifts)  # the weights moved posts
    assert page.page.locator("#score-dist .dist-bar").count() >= 4  # both score distributions drawn
    page.screenshot("console-compare")
    page.page.fill("#params-b", "no equals sign")
    page.page.click("#compare-form button[type=submit]")
    assert "not name=value" in page.page.inner_text("#error-text")
    assert page.errors == []
