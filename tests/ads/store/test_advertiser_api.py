"""The advertiser API on a test app: auth, isolation between advertisers, validation, assets, reports.

Runs on both store backends, since isolation is the store's scoping as much as the API's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from feedmix.ads.api.advertiser_api import BidFloors, mount_advertiser_api
from feedmix.ads.store.asset_store import AssetStore
from feedmix.ads.store.sql_campaign_store import SqlCampaignStore

ADMIN = "admin-secret"
COMMUNITIES = {"python", "rust", "gaming", "politics"}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


@pytest.fixture
def client(store: SqlCampaignStore, tmp_path: Path) -> TestClient:
    app = FastAPI()
    assets = AssetStore(tmp_path / "assets", max_bytes=4096)
    mount_advertiser_api(app, store, assets, COMMUNITIES.__contains__, BidFloors(), admin_token=ADMIN)
    return TestClient(app)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_advertiser(client: TestClient, name: str = "acme") -> dict[str, str]:
    r = client.post("/v1/ads/advertisers", json={"name": name}, headers=auth(ADMIN))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["api_key"]
    return auth(body["api_key"])


CAMPAIGN = {"name": "spring", "budget_micros": 50_000_000, "start_ts": 1000.0, "end_ts": 2000.0}


def ad_group_body(campaign_id: str, **kw: Any) -> dict[str, Any]:
    return {"campaign_id": campaign_id, "name": "g", "bid_kind": "cpc", "bid_micros": 200_000, **kw}


def make_tree(client: TestClient, h: dict[str, str]) -> tuple[str, str, str]:
    c = client.post("/v1/ads/campaigns", json=CAMPAIGN, headers=h)
    assert c.status_code == 201, c.text
    cid = c.json()["campaign_id"]
    g = client.post(
        "/v1/ads/ad-groups", json=ad_group_body(cid, targeting={"communities": ["python"]}), headers=h
    )
    assert g.status_code == 201, g.text
    gid = g.json()["ad_group_id"]
    a = client.post(
        "/v1/ads/ads",
        json={"ad_group_id": gid, "headline": "Hi", "click_url": "https://a.example/x"},
        headers=h,
    )
    assert a.status_code == 201, a.text
    return cid, gid, a.json()["ad_id"]


def error_locs(r: Any) -> list[list[Any]]:
    assert r.status_code == 422, r.text
    return [e["loc"] for e in r.json()["detail"]]


# -- auth ------------------------------------------------------------------------------------------


def test_creating_advertisers_needs_the_admin_token(client: TestClient) -> None:
    assert client.post("/v1/ads/advertisers", json={"name": "x"}).status_code == 401
    assert client.post("/v1/ads/advertisers", json={"name": "x"}, headers=auth("nope")).status_code == 401
    h = new_advertiser(client)
    assert client.post("/v1/ads/advertisers", json={"name": "x"}, headers=h).status_code == 401
    assert client.get("/v1/ads/advertiser", headers=h).json()["name"] == "acme"


def test_the_admin_route_is_off_without_a_token(store: SqlCampaignStore, tmp_path: Path) -> None:
    app = FastAPI()
    mount_advertiser_api(app, store, AssetStore(tmp_path), lambda _: True, admin_token="")
    r = TestClient(app).post("/v1/ads/advertisers", json={"name": "x"}, headers=auth("anything"))
    assert r.status_code == 403


@pytest.mark.parametrize("headers", [{}, auth("fmxads_wrong"), {"Authorization": "Basic abc"}, auth(ADMIN)])
def test_advertiser_routes_need_a_valid_key(client: TestClient, headers: dict[str, str]) -> None:
    r = client.get("/v1/ads/campaigns", headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


# -- isolation -------------------------------------------------------------------------------------


def test_an_advertiser_sees_and_changes_only_its_own_objects(client: TestClient) -> None:
    acme, globex = new_advertiser(client, "acme"), new_advertiser(client, "globex")
    cid, gid, aid = make_tree(client, acme)

    for path in (f"/v1/ads/campaigns/{cid}", f"/v1/ads/ad-groups/{gid}", f"/v1/ads/ads/{aid}"):
        assert client.get(path, headers=acme).status_code == 200
        assert client.get(path, headers=globex).status_code == 404
        assert client.patch(path, json={"status": "paused"}, headers=globex).status_code == 404
        assert client.get(path, headers=acme).json()["status"] == "active"
    assert client.get("/v1/ads/campaigns", headers=globex).json() == {"campaigns": []}
    assert client.get("/v1/ads/ad-groups", headers=globex).json() == {"ad_groups": []}
    assert client.get("/v1/ads/ads", headers=globex).json() == {"ads": []}
    # nor can it hang its own objects under the other's
    r = client.post("/v1/ads/ad-groups", json=ad_group_body(cid), headers=globex)
    assert error_locs(r) == [["body", "campaign_id"]]
    r = client.post(
        "/v1/ads/ads", json={"ad_group_id": gid, "headline": "x", "click_url": "https://e.x"}, headers=globex
    )
    assert error_locs(r) == [["body", "ad_group_id"]]
    r = client.get(
        "/v1/ads/reports",
        params={"start": "2024-01-01", "end": "2024-01-02", "campaign_id": cid},
        headers=globex,
    )
    assert r.status_code == 404


def test_an_unknown_id_is_a_404_like_another_advertisers(client: TestClient) -> None:
    h = new_advertiser(client)
    assert client.get("/v1/ads/campaigns/cmp_missing", headers=h).status_code == 404
    assert client.patch("/v1/ads/ads/ad_missing", json={"headline": "x"}, headers=h).status_code == 404


# -- CRUD ------------------------------------------------------------------------------------------


def test_create_list_get_and_patch(client: TestClient) -> None:
    h = new_advertiser(client)
    cid, gid, aid = make_tree(client, h)

    campaigns = client.get("/v1/ads/campaigns", headers=h).json()["campaigns"]
    assert [c["campaign_id"] for c in campaigns] == [cid]
    assert campaigns[0]["objective"] == "traffic" and campaigns[0]["budget_kind"] == "daily"

    r = client.patch(f"/v1/ads/campaigns/{cid}", json={"name": "summer", "budget_micros": 9}, headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["budget_micros"], r.json()["end_ts"]) == ("summer", 9, 2000.0)

    r = client.patch(
        f"/v1/ads/ad-groups/{gid}",
        json={
            "bid_kind": "cpm",
            "bid_micros": 2_000_000,
            "targeting": {"keywords": ["Laptop"], "geos": ["US-CA"]},
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    g = r.json()
    assert (g["bid_kind"], g["bid_micros"], g["campaign_id"]) == ("cpm", 2_000_000, cid)
    assert g["targeting"]["keywords"] == ["laptop"] and g["targeting"]["communities"] == []
    assert client.get(f"/v1/ads/ad-groups?campaign_id={cid}", headers=h).json()["ad_groups"] == [g]

    r = client.patch(f"/v1/ads/ads/{aid}", json={"headline": "Hello", "status": "paused"}, headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["headline"], r.json()["status"], r.json()["click_url"]) == (
        "Hello",
        "paused",
        "https://a.example/x",
    )
    assert client.get(f"/v1/ads/ads?ad_group_id={gid}", headers=h).json()["ads"] == [r.json()]


def test_api_writes_reach_the_ad_servers_snapshot(client: TestClient, store: SqlCampaignStore) -> None:
    h = new_advertiser(client)
    before = store.revision()
    cid, gid, aid = make_tree(client, h)
    assert store.revision() > before
    snap = store.active_snapshot(now=1500.0)
    assert [
        (s.campaign.campaign_id, s.ad_group.ad_group_id, [a.ad_id for a in s.ads]) for s in snap.groups
    ] == [(cid, gid, [aid])]
    client.patch(f"/v1/ads/campaigns/{cid}", json={"status": "paused"}, headers=h)
    assert store.active_snapshot(now=1500.0).groups == ()


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"budget_micros": -5}, ["body", "budget_micros"]),
        ({"budget_micros": 0}, ["body", "budget_micros"]),
        ({"end_ts": 999.0}, ["body", "end_ts"]),
        ({"end_ts": 1000.0}, ["body", "end_ts"]),
        ({"objective": "fame"}, ["body", "objective"]),
        ({"name": ""}, ["body", "name"]),
        ({"surprise": 1}, ["body", "surprise"]),
    ],
)
def test_campaign_errors_name_the_field(client: TestClient, change: dict[str, Any], loc: list[Any]) -> None:
    h = new_advertiser(client)
    assert error_locs(client.post("/v1/ads/campaigns", json={**CAMPAIGN, **change}, headers=h)) == [loc]


def test_a_patch_is_validated_against_the_stored_fields(client: TestClient) -> None:
    h = new_advertiser(client)
    cid, _, _ = make_tree(client, h)
    r = client.patch(f"/v1/ads/campaigns/{cid}", json={"end_ts": 500.0}, headers=h)
    assert error_locs(r) == [["body", "end_ts"]]
    assert "after start_ts" in r.json()["detail"][0]["msg"]
    assert error_locs(client.patch(f"/v1/ads/campaigns/{cid}", json={"budget_micros": -1}, headers=h)) == [
        ["body", "budget_micros"]
    ]
    assert error_locs(client.patch(f"/v1/ads/campaigns/{cid}", json={"name": None}, headers=h)) == [
        ["body", "name"]
    ]
    assert client.get(f"/v1/ads/campaigns/{cid}", headers=h).json()["end_ts"] == 2000.0


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"bid_micros": 99_999}, ["body", "bid_micros"]),
        ({"bid_kind": "cpm", "bid_micros": 999_999}, ["body", "bid_micros"]),
        ({"targeting": {"communities": ["python", "nosuch"]}}, ["body", "targeting", "communities", 1]),
        ({"targeting": {"exclude_communities": ["nosuch"]}}, ["body", "targeting", "exclude_communities", 0]),
        ({"targeting": {"devices": ["fridge"]}}, ["body", "targeting", "devices", 0]),
        ({"targeting": {"geos": ["usa"]}}, ["body", "targeting", "geos", 0]),
        ({"schedule_hours_of_week": [0, 168]}, ["body", "schedule_hours_of_week", 1]),
        ({"frequency_cap": {"max_impressions": -1}}, ["body", "frequency_cap", "max_impressions"]),
        ({"safety_tier": "none"}, ["body", "safety_tier"]),
    ],
)
def test_ad_group_errors_name_the_field(client: TestClient, change: dict[str, Any], loc: list[Any]) -> None:
    h = new_advertiser(client)
    cid, _, _ = make_tree(client, h)
    r = client.post("/v1/ads/ad-groups", json=ad_group_body(cid, **change), headers=h)
    assert error_locs(r) == [loc]


def test_the_floor_error_says_the_floor(client: TestClient) -> None:
    h = new_advertiser(client)
    cid, gid, _ = make_tree(client, h)
    r = client.patch(f"/v1/ads/ad-groups/{gid}", json={"bid_kind": "cpm"}, headers=h)  # 0.20 USD CPM < 1.00
    assert error_locs(r) == [["body", "bid_micros"]]
    assert r.json()["detail"][0]["type"] == "bid_below_floor"
    assert "1000000" in r.json()["detail"][0]["msg"]
    assert (
        client.post("/v1/ads/ad-groups", json=ad_group_body(cid, bid_micros=100_000), headers=h).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"headline": "x" * 91}, ["body", "headline"]),
        ({"headline": ""}, ["body", "headline"]),
        ({"click_url": "javascript:alert(1)"}, ["body", "click_url"]),
        ({"click_url": "shop.example"}, ["body", "click_url"]),
        ({"click_url": "https://"}, ["body", "click_url"]),
        ({"image_sha256": "nothex"}, ["body", "image_sha256"]),
        ({"image_sha256": "ab" * 32}, ["body", "image_sha256"]),  # well-formed but never uploaded
        ({"call_to_action": "x" * 31}, ["body", "call_to_action"]),
    ],
)
def test_ad_errors_name_the_field(client: TestClient, change: dict[str, Any], loc: list[Any]) -> None:
    h = new_advertiser(client)
    _, gid, aid = make_tree(client, h)
    body = {"ad_group_id": gid, "headline": "Hi", "click_url": "https://a.example", **change}
    assert error_locs(client.post("/v1/ads/ads", json=body, headers=h)) == [loc]
    assert error_locs(client.patch(f"/v1/ads/ads/{aid}", json=change, headers=h)) == [loc]


def test_the_openapi_spec_lists_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/ads/advertisers",
        "/v1/ads/campaigns",
        "/v1/ads/campaigns/{campaign_id}",
        "/v1/ads/ad-groups/{ad_group_id}",
        "/v1/ads/ads/{ad_id}",
        "/v1/ads/assets",
        "/v1/assets/{sha256}",
        "/v1/ads/reports",
    ):
        assert path in paths


# -- assets ----------------------------------------------------------------------------------------


def test_an_uploaded_image_is_served_immutable_with_an_etag(client: TestClient) -> None:
    h = new_advertiser(client)
    r = client.post("/v1/ads/assets", content=PNG, headers={**h, "Content-Type": "image/jpeg"})
    assert r.status_code == 201, r.text
    digest = hashlib.sha256(PNG).hexdigest()
    assert r.json() == {
        "sha256": digest,
        "url": f"/v1/assets/{digest}",
        "content_type": "image/png",
        "size": len(PNG),
    }

    served = client.get(f"/v1/assets/{digest}")  # public: no key
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["etag"] == f'"{digest}"'
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"

    for inm in (f'"{digest}"', f'W/"{digest}"', f'"other", "{digest}"', "*"):
        again = client.get(f"/v1/assets/{digest}", headers={"If-None-Match": inm})
        assert again.status_code == 304, inm
        assert again.content == b""
        assert again.headers["etag"] == f'"{digest}"'
    assert client.get(f"/v1/assets/{digest}", headers={"If-None-Match": '"other"'}).status_code == 200

    ad = client.post(
        "/v1/ads/ads",
        json={
            "ad_group_id": make_tree(client, h)[1],
            "headline": "Img",
            "click_url": "https://a.example",
            "image_sha256": digest,
        },
        headers=h,
    )
    assert ad.status_code == 201, ad.text
    assert ad.json()["image_url"] == f"/v1/assets/{digest}"


def test_non_images_and_oversize_uploads_are_refused(client: TestClient) -> None:
    h = new_advertiser(client)
    r = client.post("/v1/ads/assets", content=b"<html>hi</html>", headers={**h, "Content-Type": "image/png"})
    assert r.status_code == 415
    r = client.post("/v1/ads/assets", content=PNG + bytes(5000), headers={**h, "Content-Type": "image/png"})
    assert r.status_code == 413
    assert client.post("/v1/ads/assets", content=PNG).status_code == 401


@pytest.mark.parametrize("name", ["ab" * 32, "not-a-hash", "AB" * 32])
def test_unknown_assets_are_404(client: TestClient, name: str) -> None:
    assert client.get(f"/v1/assets/{name}").status_code == 404
    assert client.get(f"/v1/assets/{name}", headers={"If-None-Match": "*"}).status_code == 404


# -- reports ---------------------------------------------------------------------------------------


def test_reports_compute_ctr_cpc_and_ecpm_per_campaign_and_day(
    client: TestClient, store: SqlCampaignStore
) -> None:
    h = new_advertiser(client)
    cid, gid, _ = make_tree(client, h)
    store.record_delivery(cid, gid, dt.date(2024, 5, 1), impressions=2000, clicks=30, spend_micros=4_500_000)
    store.record_delivery(cid, gid, dt.date(2024, 5, 2), impressions=0, clicks=0, spend_micros=0)
    store.record_delivery(cid, gid, dt.date(2024, 5, 9), impressions=1, clicks=1, spend_micros=1)

    r = client.get("/v1/ads/reports", params={"start": "2024-05-01", "end": "2024-05-02"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"] == [
        {
            "campaign_id": cid,
            "day": "2024-05-01",
            "impressions": 2000,
            "clicks": 30,
            "spend_micros": 4_500_000,
            "ctr": 0.015,
            "cpc_micros": 150_000,
            "ecpm_micros": 2_250_000,
        },
        {
            "campaign_id": cid,
            "day": "2024-05-02",
            "impressions": 0,
            "clicks": 0,
            "spend_micros": 0,
            "ctr": None,
            "cpc_micros": None,
            "ecpm_micros": None,
        },
    ]
    assert [(t["day"], t["impressions"], t["cpc_micros"]) for t in body["totals"]] == [(None, 2000, 150_000)]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"start": "2024-05-02", "end": "2024-05-01"}, ["query", "end"]),
        ({"start": "2024-13-01", "end": "2024-05-01"}, ["query", "start"]),
        ({"start": "2023-01-01", "end": "2024-05-01"}, ["query", "end"]),
        ({"end": "2024-05-01"}, ["query", "start"]),
    ],
)
def test_report_range_errors_name_the_parameter(
    client: TestClient, params: dict[str, str], loc: list[str]
) -> None:
    h = new_advertiser(client)
    assert error_locs(client.get("/v1/ads/reports", params=params, headers=h)) == [loc]
