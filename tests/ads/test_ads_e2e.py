"""Ads end to end in the running service: an advertiser's campaign is served into the home feed at an
allowed position, impressions and clicks bill once, reports add up, and failures never touch the
organic feed."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedmix.ads.api.ad_tracker import ad_log_table, ad_revenue_rows
from feedmix.serving.app import create_app
from feedmix.serving.runtime import Runtime

from .service_helpers import ads_runtime, new_ad_group


@pytest.fixture
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Runtime, TestClient, dict[str, str]]]:
    monkeypatch.setenv("FEEDMIX_ADS_ADMIN_TOKEN", "admin-secret")
    rt = ads_runtime(tmp_path)
    try:
        with TestClient(create_app(rt)) as client:
            h, _ = new_ad_group(client)
            assert rt.ads is not None and rt.ads.feed_ads.refresh(time.time())
            yield rt, client, h
    finally:
        rt.close()


def test_an_ad_is_blended_into_the_home_feed_and_billed_once(
    served: tuple[Runtime, TestClient, dict[str, str]], tmp_path: Path
) -> None:
    rt, client, h = served
    body = client.get("/v1/feed", params={"user_id": "u0001", "limit": 25, "debug": "true"}).json()
    items = body["items"]
    ads = [i for i in items if i["kind"] == "ad"]
    assert len(ads) == 1 and body["ads"]["served"] == 1 and not body["ads"]["degraded"]
    ad = ads[0]
    assert ad["position"] == 2 and ad["headline"] == "Try it" and ad["ad_token"]
    assert [i["position"] for i in items] == list(range(len(items)))
    assert not items[1]["over_18"] and not items[3]["over_18"]
    assert body["ads"]["decision"]["eligible"] == 1  # the debug trace of the ad decision

    events = [
        {"event_id": "imp-1", "type": "impression", "ad_token": ad["ad_token"]},
        {"event_id": "clk-1", "type": "click", "ad_token": ad["ad_token"]},
    ]
    first = client.post("/v1/ads/events", json={"events": events})
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] == 2 and first.json()["billed_micros"] > 0
    again = client.post("/v1/ads/events", json={"events": events})
    assert again.json() == {"accepted": 0, "duplicates": 2, "billed_micros": 0, "unbilled_micros": 0}

    today = dt.datetime.now(tz=dt.UTC).date().isoformat()
    report = client.get("/v1/ads/reports", params={"start": today, "end": today}, headers=h)
    assert report.status_code == 200, report.text
    total = report.json()["totals"][0]
    assert (total["impressions"], total["clicks"], total["ctr"]) == (1, 1, 1.0)
    assert total["spend_micros"] == first.json()["billed_micros"] <= 500_000  # never above the bid
    assert total["cpc_micros"] == total["spend_micros"] and report.json()["rows"][0]["day"] == today

    bad = client.post(
        "/v1/ads/events", json={"events": [{**events[0], "ad_token": ad["ad_token"][:-3] + "xyz"}]}
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "events", 0, "ad_token"]

    off = client.get("/v1/feed", params={"user_id": "u0001", "p.ad_slots.enabled": "false"}).json()
    assert all(i["kind"] == "post" for i in off["items"]) and "ads" not in off

    page = client.get("/console/ads")
    assert page.status_code == 200 and 'id="report-table"' in page.text
    assert "/v1/ads/reports" in client.get("/console/static/ads.js").text
    # the feed console shows what put the ad there: every field of its ``why``
    console_js = client.get("/console/static/console.js").text
    assert ad["why"]["campaign_id"] == ad["campaign_id"] and ad["why"]["pctr"] > 0
    assert all(f'"{field}"' in console_js for field in ad["why"]), sorted(ad["why"])

    rt.ads.log.flush()  # type: ignore[union-attr]
    log = ad_log_table(tmp_path / "ad_log").to_pylist()
    assert len(log) == 1 and log[0]["clicked"] and log[0]["position"] == 2
    # what each event billed, by user and page: the revenue experiments read
    revenue = ad_revenue_rows(tmp_path / "ad_log")
    assert [(u, r) for u, r, _, _ in revenue] == [("u0001", body["request_id"])]
    assert sum(m for *_, m in revenue) == first.json()["billed_micros"]


def test_spend_store_down_serves_the_feed_without_ads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDMIX_ADS_ADMIN_TOKEN", "admin-secret")
    rt = ads_runtime(tmp_path, ads_counters="redis://127.0.0.1:1/0?timeout_ms=50&connect_timeout_ms=50")
    try:
        with TestClient(create_app(rt)) as client:
            new_ad_group(client)
            assert rt.ads is not None and rt.ads.feed_ads.refresh(time.time())
            body = client.get("/v1/feed", params={"user_id": "u0001"}).json()
            assert body["items"] and all(i["kind"] == "post" for i in body["items"])
            assert body["ads"]["degraded"] and body["ads"]["served"] == 0
            # the organic page is served whole; the ads step is named like any failed component
            assert body["degraded"] and body["failed_components"] == ["ad_slots"]
            assert len(body["items"]) == 25
    finally:
        rt.close()
