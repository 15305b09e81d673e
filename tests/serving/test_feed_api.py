"""The feed endpoints over the real demo corpus, through the HTTP layer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from feedmix.serving.runtime import Runtime

ITEM_FIELDS = {
    "id",
    "kind",
    "position",
    "title",
    "community",
    "score",
    "source",
    "created_utc",
    "age_hours",
    "post_score",
    "num_comments",
    "over_18",
    "url",
    "permalink",
    "score_parts",
    "predictions",
}


def feed(client: TestClient, **params: Any) -> dict[str, Any]:
    r = client.get("/v1/feed", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_known_user_gets_a_full_ranked_feed(client: TestClient, runtime: Runtime) -> None:
    body = feed(client, user_id="u0001", limit=25)
    assert len(body["items"]) == 25
    assert set(body["items"][0]) == ITEM_FIELDS
    assert body["coverage"] == 1.0 and body["degraded"] is False and body["next_cursor"]
    ranked = [it["score"] for it in body["items"] if it["source"] != "exploration"]
    assert ranked == sorted(ranked, reverse=True)
    # new posts get a bounded budget: at most 2 exploration slots, at positions 3 and 11
    explore_positions = [it["position"] for it in body["items"] if it["source"] == "exploration"]
    assert set(explore_positions) <= {3, 11} and explore_positions
    profile = runtime.population.get("u0001")
    assert profile is not None
    joined = {runtime.corpus.communities[c] for c in profile.communities}
    assert set(body["user"]["communities"]) == joined
    assert any(it["community"] in joined for it in body["items"])
    assert "trace" not in body
    # the diversity cap holds on the page
    counts: dict[str, int] = {}
    for it in body["items"]:
        counts[it["community"]] = counts.get(it["community"], 0) + 1
    assert max(counts.values()) <= 4


def test_unknown_user_gets_cold_start_feed(client: TestClient) -> None:
    body = feed(client, user_id="never-seen-before", limit=10)
    assert body["user"]["cold_start"] is True
    assert len(body["items"]) == 10


def test_pages_never_repeat_an_item(client: TestClient) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(6):
        params: dict[str, Any] = {"user_id": "u0007", "limit": 20}
        if cursor:
            params["cursor"] = cursor
        body = feed(client, **params)
        seen += [it["id"] for it in body["items"]]
        cursor = body["next_cursor"]
        assert cursor
    assert len(seen) == 120 and len(set(seen)) == 120


def test_nsfw_posts_only_for_users_who_opted_in(client: TestClient, runtime: Runtime) -> None:
    c = runtime.corpus
    nsfw_share = np.bincount(c.community[c.over_18], minlength=len(c.communities))
    community = c.communities[int(np.argmax(nsfw_share))]
    prudish = next(u for u in runtime.population.users if not u.allow_nsfw)
    r = client.get(f"/v1/communities/{community}/feed", params={"user_id": prudish.user_id, "limit": 50})
    assert r.status_code == 200
    assert not any(it["over_18"] for it in r.json()["items"])
    opted_in = next(u for u in runtime.population.users if u.allow_nsfw)
    r = client.get(f"/v1/communities/{community}/feed", params={"user_id": opted_in.user_id, "limit": 50})
    assert any(it["over_18"] for it in r.json()["items"])


def test_debug_trace_names_every_stage_and_component(client: TestClient) -> None:
    body = feed(client, user_id="u0002", limit=10, debug="true")
    stages = {s["stage"]: s for s in body["trace"]["stages"]}
    assert list(stages) == [
        "params",
        "query_hydration",
        "sources",
        "candidate_hydration",
        "filters",
        "scorers",
        "selectors",
        "blenders",
        "synchronous_side_effects",
    ]
    # the experiment assignment decides the params before anything reads them
    assert [c["component"] for c in stages["params"]["components"]] == ["experiments"]
    # the ads step and the scroll session's record are stages like the others, each with its component
    assert [c["component"] for c in stages["blenders"]["components"]] == ["ad_slots"]
    assert [c["component"] for c in stages["synchronous_side_effects"]["components"]] == ["session_record"]
    sources = {c["component"]: c for c in stages["sources"]["components"]}
    assert set(sources) == {
        "joined_communities",
        "trending",
        "fresh",
        "related_communities",
        "embedding_content",
        "embedding_collab",
        "exploration",
    }
    assert all(c["status"] == "ok" for c in sources.values())
    # every source yields, but the collaborative one: this server has no event-log build (no vector)
    assert {name for name, c in sources.items() if c["candidates_out"] == 0} == {"embedding_collab"}
    assert stages["filters"]["candidates_in"] >= stages["filters"]["candidates_out"]
    assert set(body["items"][0]["score_parts"]) == {"quality", "engagement", "affinity", "freshness"}
    assert body["trace"]["wall_ms"] > 0


def test_kill_switch_per_request(client: TestClient) -> None:
    body = feed(client, user_id="u0003", limit=50, debug="true", **{"p.joined_communities.enabled": "false"})
    assert all(it["source"] != "joined_communities" for it in body["items"])
    comps = {c["component"]: c["status"] for s in body["trace"]["stages"] for c in s["components"]}
    assert comps["joined_communities"] == "disabled"
    assert body["coverage"] == 1.0


def test_a_raising_component_does_not_take_the_feed_down(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    trending = runtime.pipelines["home"].components["trending"]

    def explode(query: Any) -> Any:
        raise RuntimeError("trending store is on fire")

    monkeypatch.setattr(trending, "fetch", explode)
    body = feed(client, user_id="u0004", limit=20, debug="true")
    assert len(body["items"]) == 20
    assert body["degraded"] is True and body["failed_components"] == ["trending"] and body["coverage"] < 1
    failed = next(c for s in body["trace"]["stages"] for c in s["components"] if c["component"] == "trending")
    assert failed["status"] == "error" and "on fire" in failed["error"]


def test_community_feed_reuses_components(client: TestClient) -> None:
    r = client.get("/v1/communities/buildapc/feed", params={"user_id": "u0005", "limit": 15, "debug": "true"})
    assert r.status_code == 200
    body = r.json()
    assert len(body["items"]) == 15 and {it["community"] for it in body["items"]} == {"buildapc"}
    assert {it["source"] for it in body["items"]} <= {"community_top", "community_fresh"}


@pytest.mark.parametrize(
    "params,field",
    [
        ({"user_id": "u1", "limit": 0}, "limit"),
        ({"user_id": "u1", "limit": 101}, "limit"),
        ({"user_id": "u1", "limit": "many"}, "limit"),
        ({"user_id": "bad user!"}, "user_id"),
        ({}, "user_id"),
        ({"user_id": "u1", "cursor": "garbage"}, "cursor"),
        ({"user_id": "u1", "p.trending.limit": "-5"}, "p.trending.limit"),
        ({"user_id": "u1", "p.no_such.param": "1"}, "p.no_such.param"),
        ({"user_id": "u1", "p.heuristic_scorer.w_quality": "abc"}, "p.heuristic_scorer.w_quality"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client: TestClient, params: dict[str, Any], field: str) -> None:
    r = client.get("/v1/feed", params=params)
    assert r.status_code == 422, r.text
    locs = [d["loc"][-1] for d in r.json()["detail"]]
    assert field in locs


def test_unknown_community_is_404(client: TestClient) -> None:
    r = client.get("/v1/communities/no_such_place/feed", params={"user_id": "u1"})
    assert r.status_code == 404 and "no_such_place" in r.text


def test_directory_and_ops_endpoints(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    users = client.get("/v1/users", params={"limit": 5}).json()["users"]
    assert len(users) == 5 and users[0]["user_id"] == "u0001"
    comms = client.get("/v1/communities").json()["communities"]
    assert comms[0]["subscribers_2013"] >= comms[-1]["subscribers_2013"]
    params = client.get("/v1/params", params={"pipeline": "home"}).json()["params"]
    names = {p["name"] for p in params}
    assert {"trending.enabled", "heuristic_scorer.w_quality", "pipeline.deadline_ms"} <= names
    feed(client, user_id="u0001")
    metrics = client.get("/metrics").text
    assert 'feedmix_pipeline_requests_total{pipeline="home"}' in metrics
    assert "feedmix_component_latency_seconds_bucket" in metrics
    assert client.get("/").headers["content-type"].startswith("text/html")
    assert client.get("/console/static/console.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/v1/feed", "/v1/events", "/v1/communities/{name}/feed", "/healthz"} <= set(spec["paths"])
