"""Shared by the tests that run ads through the real service: a runtime and an advertiser's ad group."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from feedmix.config import FeedmixConfig
from feedmix.serving.runtime import Runtime

#: the admin token the tests put in $FEEDMIX_ADS_ADMIN_TOKEN
ADMIN = {"Authorization": "Bearer admin-secret"}


def ads_runtime(state: Path, **extra: Any) -> Runtime:
    """A runtime on the demo corpus with no watcher threads: tests refresh campaigns themselves."""
    cfg = FeedmixConfig(
        state_dir=str(state),
        users=50,
        event_log="memory://",
        index_watch_interval_s=0,
        ranking_watch_interval_s=0,
        ads_refresh_interval_s=0,
        **extra,
    )
    return Runtime.build(cfg)


def new_ad_group(
    client: TestClient,
    name: str = "acme",
    *,
    bid_kind: str = "cpc",
    bid_micros: int = 500_000,
    targeting: dict[str, Any] | None = None,
    frequency_cap: dict[str, Any] | None = None,
    safety_tier: str | None = None,
) -> tuple[dict[str, str], str]:
    """A new advertiser with one running campaign, ad group and ad; its auth headers and ad group id."""
    made = client.post("/v1/ads/advertisers", json={"name": name}, headers=ADMIN)
    assert made.status_code == 201, made.text
    h = {"Authorization": f"Bearer {made.json()['api_key']}"}
    now = time.time()
    c = client.post(
        "/v1/ads/campaigns",
        json={"name": "c", "budget_micros": 20_000_000, "start_ts": now - 3600, "end_ts": now + 86_400},
        headers=h,
    )
    assert c.status_code == 201, c.text
    group: dict[str, Any] = {
        "campaign_id": c.json()["campaign_id"],
        "name": "g",
        "bid_kind": bid_kind,
        "bid_micros": bid_micros,
    }
    if targeting is not None:
        group["targeting"] = targeting
    if frequency_cap is not None:
        group["frequency_cap"] = frequency_cap
    if safety_tier is not None:
        group["safety_tier"] = safety_tier
    g = client.post("/v1/ads/ad-groups", json=group, headers=h)
    assert g.status_code == 201, g.text
    a = client.post(
        "/v1/ads/ads",
        json={
            "ad_group_id": g.json()["ad_group_id"],
            "headline": "Try it",
            "click_url": "https://a.example/x",
        },
        headers=h,
    )
    assert a.status_code == 201, a.text
    return h, g.json()["ad_group_id"]
