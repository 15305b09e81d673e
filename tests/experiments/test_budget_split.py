"""A budget-split experiment through the service: each arm's pages spend from the arm's share of every
campaign's budget, say so in their ad tokens, and bill their clicks there."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedmix.ads.decision.spend_counters import day_of
from feedmix.serving.runtime import Runtime
from tests.experiments.conftest import AUTH, ads_service

SPLIT = {
    "experiment_id": "reserve-x2",
    "owner": "ads-team",
    "hypothesis": "a higher reserve raises revenue per page without losing fill",
    "surfaces": ["home"],
    "layer": "ads",
    "kind": "budget_split",
    "variants": [
        {"name": "control", "weight": 1},
        {"name": "higher_reserve", "weight": 1, "overrides": {"ad_slots.reserve_scale": 2.0}},
    ],
}


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runtime, TestClient]]:
    with ads_service(tmp_path, monkeypatch) as served:
        yield served


def test_each_arm_spends_from_its_share_of_the_budget(served: tuple[Runtime, TestClient]) -> None:
    rt, client = served
    assert rt.ads is not None and rt.experiments is not None
    # the split's params must be ads params, and only one split runs at a time
    bad = {
        **SPLIT,
        "experiment_id": "bad-split",
        "variants": [{"name": "c"}, {"name": "t", "overrides": {"trending.limit": 5}}],
    }
    r = client.post("/v1/experiments", json=bad, headers=AUTH)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "limit"
    assert client.post("/v1/experiments", json=SPLIT, headers=AUTH).status_code == 201
    assert client.post("/v1/experiments/reserve-x2/start", headers=AUTH).status_code == 200
    rt.experiments.assigner.refresh()

    keys: dict[str, set[str]] = {"control": set(), "higher_reserve": set()}
    for i in range(1, 41):
        body = client.get("/v1/feed", params={"user_id": f"u{i:04d}", "limit": 25}).json()
        (assigned,) = body["experiments"]
        for item in body["items"]:
            if item["kind"] != "ad":
                continue
            served = rt.ads.feed_ads.tokens.verify(item["ad_token"], time.time()).served
            keys[assigned["variant"]].add(served.split)
            assert served.split_share == pytest.approx(0.5)
            # a click bills the arm's share
            click = {
                "events": [
                    {"event_id": f"clk-{i}-{served.slot}", "type": "click", "ad_token": item["ad_token"]}
                ]
            }
            assert client.post("/v1/ads/events", json=click).status_code == 200
    assert keys == {"control": {"reserve-x2:v1:control"}, "higher_reserve": {"reserve-x2:v1:higher_reserve"}}
    counters, day = rt.ads.server.counters, day_of(time.time())
    campaign = next(iter(rt.ads.server.index.campaign_ids))
    arms = [counters.split_spent(campaign, day, f"reserve-x2:v1:{v}") for v in keys]
    assert all(a > 0 for a in arms)
    assert sum(arms) == max(counters.billed(campaign, day)[0], counters.spent_many([campaign], day)[0][0])
