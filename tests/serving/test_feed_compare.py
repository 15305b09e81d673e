"""Two param sets for one user, side by side: the pages, their agreement, and no trace left behind."""

from __future__ import annotations

from fastapi.testclient import TestClient

from feedmix.serving.runtime import Runtime


def test_the_same_params_agree_and_different_ones_do_not(client: TestClient, runtime: Runtime) -> None:
    before = runtime.event_log.count()
    same = client.post("/v1/compare", json={"user_id": "u0031", "limit": 20}).json()
    assert same["rbo"] == 1.0 and same["shared"] == 20 and same["jaccard_at_10"] == 1.0
    diff = client.post(
        "/v1/compare",
        json={
            "user_id": "u0031",
            "limit": 20,
            "b": {"heuristic_scorer.w_freshness": 0, "heuristic_scorer.w_quality": 5},
        },
    ).json()
    assert diff["rbo"] < 1.0 and diff["b"]["params"] == {
        "heuristic_scorer.w_freshness": 0,
        "heuristic_scorer.w_quality": 5,
    }
    assert len([it for it in diff["a"]["items"] if it["kind"] == "post"]) == 20
    # a look, not traffic: nothing recorded for the user (a real feed now starts a fresh session anyway)
    assert runtime.event_log.count() == before


def test_bad_input_names_the_field(client: TestClient) -> None:
    r = client.post("/v1/compare", json={"user_id": "u1", "b": {"trending.max_candidates": -1}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "b", "trending.max_candidates"]
    r = client.post("/v1/compare", json={"user_id": "u1", "surface": "moon"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "surface"]
    r = client.post("/v1/compare", json={"user_id": "bad user"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "user_id"]
