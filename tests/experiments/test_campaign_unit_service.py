"""A campaign-unit experiment through the service: its treatment campaigns bid with the variant's
multiplier in every auction on the surface, the campaigns that competed are logged as exposures, and
the analysis reads each campaign's tracked impressions, clicks and billing from the ad log."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedmix.events.event_log import scan
from feedmix.serving.runtime import Runtime
from tests.experiments.conftest import AUTH, ads_service

N_CAMPAIGNS = 16
AUTO_BID = {
    "experiment_id": "auto-bid",
    "owner": "ads-team",
    "hypothesis": "an automated bid wins its campaigns more delivery within their budgets",
    "surfaces": ["home"],
    "layer": "campaigns",
    "unit": "campaign",
    "primary_metric": "ad_revenue_per_campaign",
    "guardrails": ["ad_ctr"],
    "variants": [
        {"name": "control", "weight": 1},
        {"name": "auto_bid", "weight": 1, "overrides": {"campaign.bid_multiplier": 4.0}},
    ],
}


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runtime, TestClient]]:
    with ads_service(tmp_path, monkeypatch, N_CAMPAIGNS) as served:
        yield served


def test_treated_campaigns_bid_more_are_exposed_and_analysed_per_campaign(
    served: tuple[Runtime, TestClient],
) -> None:
    rt, client = served
    assert rt.ads is not None and rt.experiments is not None
    bad = {**AUTO_BID, "variants": [{"name": "c"}, {"name": "t", "overrides": {"trending.limit": 5}}]}
    r = client.post("/v1/experiments", json=bad, headers=AUTH)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "limit", r.text
    assert client.post("/v1/experiments", json=AUTO_BID, headers=AUTH).status_code == 201
    assert client.post("/v1/experiments/auto-bid/start", headers=AUTH).status_code == 200
    rt.experiments.assigner.refresh()
    assigner = rt.experiments.assigner.current()
    arm = {c: assigner.assign_campaign(c, "home") for c in rt.ads.server.index.campaign_ids}
    variant = {c: found[0].variant for c, found in arm.items() if found}
    by_arm = Counter(variant.values())
    assert set(by_arm) == {"control", "auto_bid"}, by_arm  # one arm empty: 2 in 65,536 id draws

    wins: Counter[str] = Counter()
    for i in range(1, 61):
        body = client.get("/v1/feed", params={"user_id": f"u{i:04d}", "limit": 25}).json()
        assert body["experiments"] == []  # a campaign experiment assigns no user
        for item in body["items"]:
            if item["kind"] != "ad":
                continue
            campaign = rt.ads.feed_ads.tokens.verify(item["ad_token"], time.time()).served.campaign_id
            wins[variant[campaign]] += 1
            events = [
                {"event_id": f"{kind}-{item['ad_token'][-12:]}", "type": kind, "ad_token": item["ad_token"]}
                for kind in ("impression", "click")
            ]
            assert client.post("/v1/ads/events", json={"events": events}).status_code == 200
    rt.executor.drain_side_effects()
    # the treatment's bids are four times the control's: its campaigns take (nearly) every slot
    per_campaign = {v: wins[v] / by_arm[v] for v in by_arm}
    assert per_campaign["auto_bid"] > 3 * per_campaign["control"], (wins, by_arm)

    exposures = [x for x in scan(rt.experiments.exposure_log) if x.experiment == "auto-bid"]
    assert exposures and {x.unit for x in exposures} <= set(variant)
    assert all(x.variant == variant[x.unit] for x in exposures)
    assert {x.variant for x in exposures} == {"control", "auto_bid"}  # both arms competed

    report = client.get("/v1/experiments/auto-bid/analysis", headers=AUTH).json()
    rows = {m["metric"]: m for m in report["metrics"]}
    assert set(rows) == {"ad_revenue_per_campaign", "ad_clicks_per_campaign", "ad_ctr"}
    clicks = rows["ad_clicks_per_campaign"]["arms"]
    exposed = Counter(x.variant for x in {x.unit: x for x in exposures}.values())
    assert {v: clicks[v]["units"] for v in clicks} == dict(exposed)
    assert clicks["auto_bid"]["value"] > clicks["control"]["value"]
    assert rows["ad_ctr"]["arms"]["auto_bid"]["value"] == pytest.approx(1.0)  # one click per impression
    revenue = rows["ad_revenue_per_campaign"]["arms"]
    assert revenue["auto_bid"]["value"] > 0


def test_a_failing_campaign_knob_serves_the_page_with_bids_as_listed(
    served: tuple[Runtime, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, client = served
    assert rt.experiments is not None
    assert client.post("/v1/experiments", json=AUTO_BID, headers=AUTH).status_code == 201
    assert client.post("/v1/experiments/auto-bid/start", headers=AUTH).status_code == 200
    rt.experiments.assigner.refresh()

    def broken(*_: object) -> None:
        raise RuntimeError("knobs exploded")

    monkeypatch.setattr(rt.experiments.assigner.current(), "campaign_arms", broken)
    body = client.get("/v1/feed", params={"user_id": "u0001", "limit": 25}).json()
    assert body["degraded"] is False and body["failed_components"] == []
    assert any(item["kind"] == "ad" for item in body["items"])  # the auction ran on the listed bids
    rt.executor.drain_side_effects()
    assert not [x for x in scan(rt.experiments.exposure_log) if x.experiment == "auto-bid"]
