"""The discovery surface over REST, GraphQL and gRPC: catalogue posts, communities to join, the caps."""

from __future__ import annotations

from collections import Counter

import grpc
from fastapi.testclient import TestClient

from feedmix.products.discovery_feed import CATALOGUE
from feedmix.serving.grpc_api.generated import ranking_pb2 as pb
from feedmix.serving.grpc_api.generated.ranking_pb2_grpc import RankingStub
from feedmix.serving.grpc_api.grpc_server import GrpcServer
from feedmix.serving.runtime import Runtime

CATEGORY = {name: cat for cat, names in CATALOGUE.items() for name in names}


def test_a_discovery_page_over_rest(client: TestClient, runtime: Runtime) -> None:
    r = client.get("/v1/discovery/feed", params={"user_id": "u0021", "limit": 30, "debug": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    posts = [it for it in body["items"] if it["kind"] == "post"]
    assert len(posts) == 30 and body["surface"] == "discovery" and not body["degraded"]
    assert all(it["community"] in CATEGORY for it in posts)  # only the catalogue
    per_category = Counter(CATEGORY[it["community"]] for it in posts)
    assert max(per_category.values()) <= 8 and len(per_category) >= 4  # the category cap spreads the page
    assert max(Counter(it["community"] for it in posts).values()) <= 3
    joined = set(body["user"]["communities"])
    assert body["suggested_communities"] and not set(body["suggested_communities"]) & joined
    assert all(s in CATEGORY for s in body["suggested_communities"])
    # the novelty rule: a post of a community the user has not joined carries the boost
    novel = [it for it in posts if it["community"] not in joined]
    assert novel and all(it["score_parts"]["rule.novelty"] > 0 for it in novel)
    # the next page repeats nothing
    nxt = client.get(
        "/v1/discovery/feed", params={"user_id": "u0021", "limit": 30, "cursor": body["next_cursor"]}
    )
    assert not {it["id"] for it in nxt.json()["items"]} & {it["id"] for it in posts}


def test_discovery_over_graphql_and_grpc(client: TestClient, runtime: Runtime) -> None:
    q = """{ feed(userId: "u0022", surface: DISCOVERY, first: 10) {
        surface suggestedCommunities edges { node { ... on Post { communityName } } } } }"""
    feed = client.post("/graphql", json={"query": q}).json()["data"]["feed"]
    assert feed["surface"] == "discovery" and feed["suggestedCommunities"]
    assert all(e["node"]["communityName"] in CATEGORY for e in feed["edges"])
    server = GrpcServer(runtime.feeds, "127.0.0.1", 0, workers=2).start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            page = RankingStub(channel).GetFeed(
                pb.GetFeedRequest(user_id="u0022", surface="discovery", limit=10), timeout=10
            )
    finally:
        server.stop(1.0)
    assert page.surface == "discovery" and list(page.suggested_communities)
    assert all(it.community in CATEGORY for it in page.items if it.kind == "post")
