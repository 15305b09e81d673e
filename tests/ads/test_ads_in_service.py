"""The advertiser API is part of the running service: its store follows the config, the corpus's
communities validate targeting, and the admin token comes from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedmix.config import FeedmixConfig
from feedmix.serving.app import create_app
from feedmix.serving.runtime import Runtime


def test_advertisers_manage_campaigns_through_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDMIX_ADS_ADMIN_TOKEN", "admin-secret")
    cfg = FeedmixConfig(state_dir=str(tmp_path), users=20, event_log="memory://", index_watch_interval_s=0)
    assert cfg.ads_store == f"sqlite:///{tmp_path.resolve() / 'ads.db'}"
    rt = Runtime.build(cfg)
    try:
        community = rt.corpus.communities[0]
        with TestClient(create_app(rt)) as client:
            paths = client.get("/openapi.json").json()["paths"]
            assert {"/v1/ads/campaigns", "/v1/ads/explain", "/v1/ads/events"} <= set(paths)
            made = client.post(
                "/v1/ads/advertisers", json={"name": "acme"}, headers={"Authorization": "Bearer admin-secret"}
            )
            assert made.status_code == 201, made.text
            h = {"Authorization": f"Bearer {made.json()['api_key']}"}
            campaign = client.post(
                "/v1/ads/campaigns",
                json={"name": "c", "budget_micros": 10_000_000, "start_ts": 0.0, "end_ts": 2e9},
                headers=h,
            )
            assert campaign.status_code == 201, campaign.text
            group = {
                "campaign_id": campaign.json()["campaign_id"],
                "name": "g",
                "bid_kind": "cpc",
                "bid_micros": 500_000,
            }
            ok = client.post(
                "/v1/ads/ad-groups", json={**group, "targeting": {"communities": [community]}}, headers=h
            )
            assert ok.status_code == 201, ok.text
            bad = client.post(
                "/v1/ads/ad-groups",
                json={**group, "targeting": {"communities": ["no_such_place"]}},
                headers=h,
            )
            assert bad.status_code == 422 and "communities" in str(bad.json()["detail"][0]["loc"])
    finally:
        rt.close()
    assert (tmp_path / "ads.db").exists()
