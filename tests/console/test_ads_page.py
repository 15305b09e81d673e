"""The ads console with the operator key from the demo's printed link: every campaign's budget, spend,
delivery and pacing curve, drawn in headless chromium; the same overview over the API; no console error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from feedmix.config import FeedmixConfig
from feedmix.serving.runtime import Runtime
from tests.console.conftest import Page, serve

KEY = "ads-console-test-key"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Runtime]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("FEEDMIX_OPERATOR_KEY", KEY)
    cfg = FeedmixConfig(
        state_dir=str(tmp_path_factory.mktemp("state")),
        users=100,
        ads_demo_campaigns=True,
        signals_corpus="off",
    )
    rt = Runtime.build(cfg)
    try:
        served = serve(rt)
        url = next(served)
        with httpx.Client(base_url=url, timeout=30) as c:  # some delivery: ads shown and clicked
            for i in range(1, 41):
                body = c.get("/v1/feed", params={"user_id": f"u{i:04d}", "limit": 25}).json()
                events = []
                for it in body["items"]:
                    if it["kind"] == "ad":
                        events.append(
                            {"event_id": uuid.uuid4().hex, "type": "impression", "ad_token": it["ad_token"]}
                        )
                        if i % 3 == 0:
                            events.append(
                                {"event_id": uuid.uuid4().hex, "type": "click", "ad_token": it["ad_token"]}
                            )
                if events:
                    assert c.post("/v1/ads/events", json={"events": events}).status_code == 200
        yield url, rt
        next(served, None)
    finally:
        rt.close()
        mp.undo()


def test_the_overview_api_needs_the_operator_key_and_adds_up(site: tuple[str, Runtime]) -> None:
    url, _ = site
    with httpx.Client(base_url=url, timeout=30) as c:
        assert c.get("/v1/ads/overview").status_code == 401
        assert (
            c.get(
                "/v1/ads/overview", params={"day": "yesterday"}, headers={"Authorization": f"Bearer {KEY}"}
            ).status_code
            == 422
        )
        body = c.get("/v1/ads/overview", headers={"Authorization": f"Bearer {KEY}"}).json()
    rows = body["campaigns"]
    assert 1 <= body["hours"] <= 24  # today: the hours begun so far
    assert body["totals"]["campaigns"] == len(rows) > 0 and body["totals"]["spending"] > 0
    for r in rows:
        assert len(r["pacing_cumulative_micros"]) == 24
        assert r["pacing_cumulative_micros"] == sorted(r["pacing_cumulative_micros"])  # cumulative
        if r["spend_micros"] > 0:
            # the hourly pacing sums to the day's billed spend from the same events
            assert r["pacing_cumulative_micros"][-1] == r["spend_micros"]
    assert sum(r["impressions"] for r in rows) == body["totals"]["impressions"] > 0


def test_the_demo_link_opens_every_campaign_and_its_pacing(browser: Any, site: tuple[str, Runtime]) -> None:
    url, _ = site
    page = Page(browser)
    page.page.goto(f"{url}/console/ads#key={KEY}")
    page.page.locator("#overview-table tbody tr").first.wait_for(timeout=15_000)
    assert "#key" not in page.page.url  # the key leaves the address bar at once
    assert page.page.locator("#overview-table tbody tr").count() > 3
    assert "spending" in page.page.inner_text("#overview-meta")
    assert page.page.locator("#pacing-chart .pacing-line").count() >= 1
    page.screenshot("console-ads-overview")
    assert page.errors == []
