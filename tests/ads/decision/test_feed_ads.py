"""The ads mixer with content signals: brand safety from the signal table decides which neighbours an
ad may have (a ``strict`` ad group serves only between posts rated safe), and the page's intents,
categories and products reach contextual targeting. Through the real service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from feedmix.ads.decision.ad_placement import SAFE, UNRATED, UNSAFE
from feedmix.ads.decision.feed_ads import best_slot_safety, page_safety
from feedmix.serving.app import create_app
from feedmix.serving.runtime import Runtime
from feedmix.signals.post_signal_table import PostSignalTable
from tests.ads.service_helpers import ADMIN, ads_runtime, new_ad_group


def test_page_safety_maps_signal_tiers_and_nsfw_overrides() -> None:
    over_18 = np.array([False, False, False, False, True])
    tiers = np.array([0, 1, 2, -1, 0], dtype=np.int8)
    assert page_safety(over_18, tiers).tolist() == [SAFE, UNRATED, UNSAFE, UNRATED, UNSAFE]
    assert page_safety(over_18, None).tolist() == [UNRATED] * 4 + [UNSAFE]


def test_the_best_slot_decides_the_pages_rating() -> None:
    safe = np.array([SAFE, SAFE, SAFE, SAFE])
    assert best_slot_safety(safe, 2) == "safe"
    mixed = np.array([SAFE, SAFE, UNRATED, SAFE, UNSAFE])
    assert best_slot_safety(mixed, 2) == "unrated"  # no slot from position 2 on has two safe neighbours
    assert best_slot_safety(np.array([SAFE, UNSAFE, SAFE]), 2) == "safe"  # the end of the page is a slot
    assert best_slot_safety(np.array([UNSAFE, UNSAFE, UNSAFE]), 1) == "unsafe"


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch
) -> Iterator[tuple[Runtime, TestClient]]:
    monkeypatch_module.setenv("FEEDMIX_ADS_ADMIN_TOKEN", "admin-secret")
    rt = ads_runtime(Path(tmp_path_factory.mktemp("state")), ads_demo_campaigns=False)
    with TestClient(create_app(rt)) as client:
        yield rt, client
    rt.close()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _served_groups(client: TestClient, pages: int = 12) -> set[str]:
    seen: set[str] = set()
    for i in range(pages):
        r = client.get("/v1/feed", params={"user_id": f"u{i:04d}", "limit": 25})
        assert r.status_code == 200
        seen |= {item["ad_group_id"] for item in r.json()["items"] if item["kind"] == "ad"}
    return seen


def test_strict_and_contextual_groups_serve_only_where_the_signals_allow(service) -> None:
    rt, client = service
    assert rt.ads is not None
    _, strict = new_ad_group(client, "careful brand", bid_micros=3_000_000, safety_tier="strict")
    _, contextual = new_ad_group(
        client, "headphone shop", bid_micros=3_000_000, targeting={"intents": ["recommendation_request"]}
    )
    rt.ads.feed_ads.refresh(time.time())
    rt.ads.feed_ads.signals = None  # nothing rated: strict has no safe neighbours, no page has intents
    before = _served_groups(client)
    assert strict not in before and contextual not in before
    n = len(rt.corpus)
    table = PostSignalTable.empty(n)
    table.safety[:] = 0  # every post rated safe
    table.intent[:] = 1  # and asking what to buy
    rt.ads.feed_ads.signals = table
    after = _served_groups(client)
    assert strict in after and contextual in after


def test_the_advertiser_api_refuses_an_unknown_intent_or_category(service) -> None:
    _, client = service
    made = client.post("/v1/ads/advertisers", json={"name": "typo"}, headers=ADMIN).json()
    h = {"Authorization": f"Bearer {made['api_key']}"}
    now = time.time()
    c = client.post(
        "/v1/ads/campaigns",
        json={"name": "c", "budget_micros": 5_000_000, "start_ts": now - 60, "end_ts": now + 86_400},
        headers=h,
    ).json()
    for targeting, field in (
        ({"intents": ["rant"]}, "intents"),
        ({"categories": ["Spaceships"]}, "categories"),
    ):
        r = client.post(
            "/v1/ads/ad-groups",
            json={
                "campaign_id": c["campaign_id"],
                "name": "g",
                "bid_kind": "cpc",
                "bid_micros": 500_000,
                "targeting": targeting,
            },
            headers=h,
        )
        assert r.status_code == 422, r.text
        assert field in str(r.json()["detail"])
