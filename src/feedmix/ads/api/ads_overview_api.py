"""The operator's view of every campaign on one day (``GET /v1/ads/overview``, operator key): budget,
spend against it, delivery, and the pacing curve, so someone running the platform sees at a glance which
campaigns spend too fast, too slow or not at all, across advertisers (each advertiser sees only its own
through ``/v1/ads/reports``).

The pacing curve is the campaign's billed spend summed hour by hour through the day, from the ad log's
tracked events; an evenly paced daily budget spends 1/24 of itself each hour, the line it is drawn
against. A lifetime budget is shown against its even share per day of the flight.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException

from feedmix.ads.store.campaign_store import CampaignStore
from feedmix.ads.store.model import Campaign
from feedmix.operator_key import require_operator

#: (campaign id, "impression" or "click", unix time, billed micros) per tracked ad event
OutcomeRows = Callable[[], list[tuple[str, str, float, int]]]
DAY_S = 86_400.0


def daily_budget_micros(c: Campaign) -> int:
    """What the campaign may spend in one day: its daily budget, or its lifetime one spread evenly."""
    if c.budget_kind == "daily":
        return c.budget_micros
    days = max((c.end_ts - c.start_ts) / DAY_S, 1.0)
    return int(c.budget_micros / days)


def overview(
    store: CampaignStore, outcomes: OutcomeRows, day: dt.date, now: float | None = None
) -> dict[str, Any]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()
    clock = dt.datetime.now(dt.UTC).timestamp() if now is None else now
    # the hours of the day that have begun: a curve is drawn that far, not into the future
    hours = int(min(max((clock - start) // 3600 + 1, 0), 24))
    by_campaign: dict[str, np.ndarray[Any, Any]] = {}
    for campaign_id, _kind, ts, micros in outcomes():
        if start <= ts < start + DAY_S and micros > 0:
            hourly = by_campaign.setdefault(campaign_id, np.zeros(24, dtype=np.int64))
            hourly[int((ts - start) // 3600)] += micros
    rows = []
    for adv in store.list_advertisers():
        delivery = {r.campaign_id: r for r in store.report(adv.advertiser_id, day, day)}
        for c in store.list_campaigns(adv.advertiser_id):
            d = delivery.get(c.campaign_id)
            hourly = by_campaign.get(c.campaign_id, np.zeros(24, dtype=np.int64))
            budget = daily_budget_micros(c)
            spend = d.spend_micros if d is not None else int(hourly.sum())
            rows.append(
                {
                    "advertiser_id": adv.advertiser_id,
                    "advertiser": adv.name,
                    "campaign_id": c.campaign_id,
                    "campaign": c.name,
                    "status": c.status,
                    "objective": c.objective,
                    "budget_kind": c.budget_kind,
                    "daily_budget_micros": budget,
                    "spend_micros": spend,
                    "spend_share": round(spend / budget, 4) if budget > 0 else None,
                    "impressions": d.impressions if d is not None else 0,
                    "clicks": d.clicks if d is not None else 0,
                    "ctr": d.ctr if d is not None else None,
                    "pacing_cumulative_micros": np.cumsum(hourly).tolist(),
                }
            )
    rows.sort(key=lambda r: -r["spend_micros"])
    return {
        "day": day.isoformat(),
        "hours": hours,
        "campaigns": rows,
        "totals": {
            "campaigns": len(rows),
            "spending": sum(1 for r in rows if r["spend_micros"] > 0),
            "spend_micros": sum(r["spend_micros"] for r in rows),
            "daily_budget_micros": sum(r["daily_budget_micros"] for r in rows if r["status"] == "active"),
            "impressions": sum(r["impressions"] for r in rows),
            "clicks": sum(r["clicks"] for r in rows),
        },
    }


def ads_overview_router(
    store: CampaignStore, outcomes: OutcomeRows, operator_key: str | None = None
) -> APIRouter:
    router = APIRouter(tags=["ads"], dependencies=[Depends(require_operator(operator_key))])

    @router.get("/v1/ads/overview")
    def ads_overview(day: str | None = None) -> dict[str, Any]:
        """Every campaign's budget, spend, delivery and hourly pacing on ``day`` (UTC; default today)."""
        try:
            when = dt.date.fromisoformat(day) if day else dt.datetime.now(dt.UTC).date()
        except ValueError:
            raise HTTPException(422, f"day: {day!r} is not an ISO date (YYYY-MM-DD)") from None
        return overview(store, outcomes, when)

    return router
