"""The operator's overview of campaigns: budgets per day, spend from delivery, hourly pacing from the ad
log's events of that day only, drawn as far as the day has gone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from feedmix.ads.api.ads_overview_api import DAY_S, daily_budget_micros, overview
from feedmix.ads.store.backends import open_campaign_store
from feedmix.ads.store.model import Campaign

DAY = dt.date(2024, 5, 2)
START = dt.datetime.combine(DAY, dt.time(), tzinfo=dt.UTC).timestamp()


def test_a_lifetime_budget_is_spread_over_its_flight() -> None:
    daily = Campaign("c", "a", "c", "traffic", "daily", 5_000_000, 0.0, 1e10)
    lifetime = Campaign("c", "a", "c", "traffic", "lifetime", 10_000_000, 0.0, 10 * DAY_S)
    assert daily_budget_micros(daily) == 5_000_000 and daily_budget_micros(lifetime) == 1_000_000


def test_pacing_is_the_days_billed_spend_hour_by_hour(tmp_path: Path) -> None:
    store = open_campaign_store(f"sqlite:///{tmp_path / 'ads.db'}")
    adv, _ = store.create_advertiser("acme")
    c = store.create_campaign(
        Campaign("", adv.advertiser_id, "spring", "traffic", "daily", 2_000_000, 0.0, 1e10)
    )
    quiet = store.create_campaign(
        Campaign("", adv.advertiser_id, "quiet", "traffic", "daily", 1_000_000, 0.0, 1e10)
    )
    store.record_delivery(c.campaign_id, "g", DAY, impressions=30, clicks=3, spend_micros=600_000)
    events = [
        (c.campaign_id, "click", START + 0.5 * 3600, 200_000),
        (c.campaign_id, "click", START + 2.2 * 3600, 400_000),
        (c.campaign_id, "impression", START + 2.3 * 3600, 0),  # not billed: not spend
        (c.campaign_id, "click", START - 10, 999_999),  # the day before
    ]
    out = overview(store, lambda: events, DAY, now=START + 3 * DAY_S)
    assert out["hours"] == 24  # a past day is drawn whole
    spring = next(r for r in out["campaigns"] if r["campaign"] == "spring")
    assert spring["pacing_cumulative_micros"][:4] == [200_000, 200_000, 600_000, 600_000]
    assert spring["pacing_cumulative_micros"][-1] == spring["spend_micros"] == 600_000
    assert spring["spend_share"] == 0.3 and spring["impressions"] == 30 and spring["ctr"] == 0.1
    assert out["campaigns"][0]["campaign"] == "spring"  # biggest spender first
    assert next(r for r in out["campaigns"] if r["campaign_id"] == quiet.campaign_id)["spend_micros"] == 0
    assert out["totals"] == {
        "campaigns": 2,
        "spending": 1,
        "spend_micros": 600_000,
        "daily_budget_micros": 3_000_000,
        "impressions": 30,
        "clicks": 3,
    }
    assert overview(store, lambda: events, DAY, now=START + 5.5 * 3600)["hours"] == 6  # today, so far
    store.close()
