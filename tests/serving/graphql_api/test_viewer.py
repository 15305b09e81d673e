"""Viewer preferences over GraphQL: stored, validated, and applied to the next feed of every API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from feedmix.serving.graphql_api.persisted import OPERATIONS_DIR
from feedmix.serving.runtime import Runtime
from tests.serving.graphql_api.conftest import gql

VIEWER = (OPERATIONS_DIR / "Viewer.graphql").read_text()
UPDATE = (OPERATIONS_DIR / "UpdatePreferences.graphql").read_text()
FEWER = (OPERATIONS_DIR / "ShowFewerLikeThis.graphql").read_text()
PAGE = """query($u: String!) { feed(userId: $u, first: 50) { edges { node { ... on Post {
  id communityName over18 why { score scoreParts } } } } } }"""


def _posts(client: TestClient, user: str) -> list[dict[str, Any]]:
    body = gql(client, PAGE, {"u": user})
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["feed"]["edges"]]


def test_a_new_viewer_has_the_defaults(client: TestClient) -> None:
    prefs = gql(client, VIEWER, {"userId": "fresh-viewer"})["data"]["viewer"]["preferences"]
    assert prefs == {"allowNsfw": None, "mutedCommunities": [], "showFewer": []}


def test_a_muted_community_leaves_every_feed_of_the_viewer(client: TestClient) -> None:
    user = "u0011"
    before = _posts(client, user)
    top = max({p["communityName"] for p in before}, key=[p["communityName"] for p in before].count)
    out = gql(client, UPDATE, {"userId": user, "input": {"mutedCommunities": [top]}})
    assert out["data"]["updatePreferences"]["preferences"]["mutedCommunities"] == [top]
    assert all(p["communityName"] != top for p in _posts(client, user))
    # REST applies the same stored preferences
    rest = client.get("/v1/feed", params={"user_id": user, "limit": 50}).json()
    assert all(it["community"] != top for it in rest["items"] if it["kind"] == "post")
    # a field left out keeps its value; null clears the NSFW override
    out = gql(client, UPDATE, {"userId": user, "input": {"allowNsfw": True}})
    assert out["data"]["updatePreferences"]["preferences"] == {
        "allowNsfw": True,
        "mutedCommunities": [top],
        "showFewer": [],
    }
    out = gql(client, UPDATE, {"userId": user, "input": {"allowNsfw": None, "mutedCommunities": []}})
    assert out["data"]["updatePreferences"]["preferences"]["allowNsfw"] is None


def test_show_fewer_like_this_scales_that_communitys_scores(client: TestClient) -> None:
    user = "u0012"
    post = _posts(client, user)[0]
    out = gql(client, FEWER, {"userId": user, "postId": post["id"]})
    assert out["data"]["showFewerLikeThis"]["preferences"]["showFewer"] == [post["communityName"]]
    again = gql(client, FEWER, {"userId": user, "postId": post["id"]})  # idempotent
    assert again["data"]["showFewerLikeThis"]["preferences"]["showFewer"] == [post["communityName"]]
    fewer = [p for p in _posts(client, user) if p["communityName"] == post["communityName"]]
    for p in fewer:
        assert p["why"]["scoreParts"]["rule.show_fewer"] < 0


@pytest.mark.parametrize(
    ("user", "change", "field"),
    [
        ("u1", {"mutedCommunities": ["buildapc", "no_such_place"]}, "input.mutedCommunities.1"),
        ("u1", {"showFewer": ["no_such_place"]}, "input.showFewer.0"),
        ("bad user", {"allowNsfw": True}, "userId"),
    ],
)
def test_bad_preferences_name_the_field_and_change_nothing(
    client: TestClient, user: str, change: dict[str, Any], field: str
) -> None:
    body = gql(client, UPDATE, {"userId": user, "input": change})
    assert body["data"] is None and body["errors"][0]["extensions"]["field"] == field
    if user == "u1":
        prefs = gql(client, VIEWER, {"userId": "u1"})["data"]["viewer"]["preferences"]
        assert prefs["mutedCommunities"] == [] and prefs["showFewer"] == []


def test_a_preference_store_outage_serves_the_feed_without_them(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedmix.stores.errors import StoreUnavailable

    def down(user_id: str) -> Any:
        raise StoreUnavailable("preference store: connection refused")

    assert runtime.preferences is not None
    monkeypatch.setattr(runtime.preferences, "get", down)
    body = gql(client, PAGE, {"u": "u0013"})
    assert len(body["data"]["feed"]["edges"]) == 50
    assert body["extensions"]["degraded"][0]["failedComponents"] == ["viewer_preferences"]
    assert gql(client, VIEWER, {"userId": "u0013"})["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
