"""The ops page in headless chromium against a running service under a little traffic: pipelines with
rates and percentiles from /metrics, HTTP errors per route, the live cost per team and component, the
latency chart, and the latest load run's cost (saved as `feedmix bench serving` saves it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from feedmix.bench.cli import keep_latest_load_run
from feedmix.config import FeedmixConfig
from feedmix.serving.runtime import Runtime
from tests.console.conftest import Page, serve


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("state")
    mp = pytest.MonkeyPatch()
    mp.setenv("FEEDMIX_STATE_DIR", str(state))
    run = {
        "requests": 1000,
        "rate_rps": 50.0,
        "latency_ms": {"p50": 12.0, "p99": 40.0},
        "server_cpu_s": 20.0,
        "component_cpu": [
            {"pipeline": "home", "component": "ranker", "owner": "ranking", "cpu_s": 6.0},
            {"pipeline": "home", "component": "trending", "owner": "feed", "cpu_s": 2.0},
        ],
    }
    keep_latest_load_run(run)  # as the bench leaves it in the state folder
    rt = Runtime.build(FeedmixConfig(state_dir=str(state), users=50, signals_corpus="off"))
    try:
        served = serve(rt)
        yield next(served)
        next(served, None)
    finally:
        rt.close()
        mp.undo()


def test_the_ops_page_turns_metrics_into_panels(browser: Any, site: str) -> None:
    stop = threading.Event()

    def traffic() -> None:
        with httpx.Client(base_url=site, timeout=30) as c:
            i = 0
            while not stop.is_set():
                i += 1
                c.get("/v1/feed", params={"user_id": f"u{i % 50 + 1:04d}", "limit": 10})
                c.get("/v1/communities/nosuch/feed", params={"user_id": "u0001"})  # a 404 per round
                time.sleep(0.05)

    worker = threading.Thread(target=traffic, daemon=True)
    worker.start()
    try:
        page = Page(browser)
        page.page.goto(site + "/console/ops")
        page.page.select_option("#interval-select", "2000")
        page.page.locator('#pipelines-table tr[data-pipeline="home"]').wait_for(timeout=20_000)
        page.page.wait_for_function(
            "document.querySelectorAll('#latency-chart .latency-line').length === 2", timeout=20_000
        )
    finally:
        stop.set()
        worker.join(timeout=10)
    home = page.page.inner_text('#pipelines-table tr[data-pipeline="home"]')
    assert "–" not in home.split("\t")[3]  # a p50 was computed from the histogram deltas
    http = page.page.inner_text("#http-table")
    assert "/v1/feed" in http and "/v1/communities/{name}/feed" in http
    assert page.page.locator("#live-components-table tbody tr").count() > 3
    assert "feed" in page.page.inner_text("#live-teams-table")
    # the latest load run: ranking 6 ms and feed 2 ms of CPU per request, 12 outside components
    run = page.page.inner_text("#run-teams-table")
    assert "ranking\t6.000" in run and "(outside components)\t12.000" in run
    assert "1000 requests at 50 req/s" in page.page.inner_text("#run-meta")
    page.screenshot("console-ops")
    assert page.errors == []
