"""The experiments API end to end on the demo service: define, start, serve the variants' params, log
exposures, analyse; every bad input a 4xx naming the field with nothing written; the operator key."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from feedmix.serving.app import create_app
from feedmix.serving.runtime import Runtime
from tests.experiments.conftest import AUTH, KEY, wait_for_exposures


def _definition(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "experiment_id": "no-trending",
        "owner": "feed-team",
        "hypothesis": "without trending the feed is more personal and as engaging",
        "surfaces": ["home"],
        "layer": "sources",
        "allocation": 1.0,
        "variants": [
            {"name": "control", "weight": 1},
            {"name": "treatment", "weight": 1, "overrides": {"trending.enabled": False}},
        ],
        "primary_metric": "engagement_per_user",
        "guardrails": ["hides_per_user"],
    }
    body.update(changes)
    return body


def _field(r: Any) -> list[str]:
    return list(r.json()["detail"][0]["loc"])


def test_the_operator_key_guards_every_route(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEEDMIX_OPERATOR_KEY", raising=False)
    with TestClient(create_app(runtime)) as off:
        r = off.get("/v1/experiments", headers=AUTH)
        assert r.status_code == 403 and "FEEDMIX_OPERATOR_KEY" in r.text
    monkeypatch.setenv("FEEDMIX_OPERATOR_KEY", KEY)
    with TestClient(create_app(runtime)) as on:
        assert on.get("/v1/experiments").status_code == 401
        assert on.get("/v1/experiments", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert on.get("/v1/experiments", headers=AUTH).status_code == 200


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"allocation": 2}, ["body", "allocation"]),
        ({"surfaces": ["games"]}, ["body", "surfaces[0]"]),
        (
            {"variants": [{"name": "c"}, {"name": "t", "overrides": {"trending.limt": 5}}]},
            ["body", "variants[1]", "overrides", "trending", "limt"],
        ),
        (
            {"variants": [{"name": "c"}, {"name": "t", "overrides": {"trending.limit": 10**9}}]},
            ["body", "variants[1]", "overrides", "trending", "limit"],
        ),
        ({"primary_metric": "happiness"}, ["body", "primary_metric"]),
        ({"targeting": {"communities": ["no_such_place"]}}, ["body", "targeting", "communities[0]"]),
    ],
)
def test_bad_definitions_are_refused_naming_the_field(
    client: TestClient, changes: dict[str, Any], loc: list[str]
) -> None:
    before = client.get("/v1/experiments", headers=AUTH).json()["experiments"]
    r = client.post("/v1/experiments", json=_definition(experiment_id="bad-one", **changes), headers=AUTH)
    assert r.status_code == 422, r.text
    assert _field(r) == loc
    assert client.get("/v1/experiments", headers=AUTH).json()["experiments"] == before


def test_an_unknown_experiment_is_404(client: TestClient) -> None:
    r = client.post("/v1/experiments/nope/start", headers=AUTH)
    assert r.status_code == 404 and _field(r) == ["experiment_id"]


def test_a_running_experiment_serves_its_params_and_logs_exposures(
    client: TestClient, runtime: Runtime
) -> None:
    assert runtime.experiments is not None
    r = client.post("/v1/experiments", json=_definition(), headers=AUTH)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft"
    r = client.post("/v1/experiments/no-trending/start", headers=AUTH)
    assert r.status_code == 200 and r.json()["status"] == "running"
    runtime.experiments.assigner.refresh()

    # a second experiment over the same param is a conflict, and writes nothing
    clash = _definition(experiment_id="clash", layer="other")
    assert client.post("/v1/experiments", json=clash, headers=AUTH).status_code == 201
    r = client.post("/v1/experiments/clash/start", headers=AUTH)
    assert r.status_code == 409 and "trending.enabled" in r.text
    assert client.get("/v1/experiments/clash", headers=AUTH).json()["status"] == "draft"
    # the running allocation changes only with a new bucket version
    r = client.post("/v1/experiments/no-trending/allocation", json={"allocation": 0.5}, headers=AUTH)
    assert r.status_code == 422 and _field(r) == ["body", "bucket_version"]

    arms: dict[str, list[str]] = {"control": [], "treatment": []}
    for i in range(1, 41):
        user = f"u{i:04d}"
        body = client.get("/v1/feed", params={"user_id": user, "limit": 10, "debug": "true"}).json()
        (assigned,) = body["experiments"]
        assert assigned["experiment"] == "no-trending" and assigned["layer"] == "sources"
        arms[assigned["variant"]].append(user)
        trending = next(
            c for s in body["trace"]["stages"] for c in s["components"] if c["component"] == "trending"
        )
        assert trending["status"] == ("disabled" if assigned["variant"] == "treatment" else "ok")
    assert arms["control"] and arms["treatment"]

    # an explicit p. override wins over the variant
    treated = arms["treatment"][0]
    body = client.get(
        "/v1/feed", params={"user_id": treated, "limit": 10, "debug": "true", "p.trending.enabled": "true"}
    ).json()
    trending = next(
        c for s in body["trace"]["stages"] for c in s["components"] if c["component"] == "trending"
    )
    assert trending["status"] == "ok"

    # exposures: one per user (the side effect runs after the response)
    logged = wait_for_exposures(runtime, "no-trending", 40)
    assert sorted(e.unit for e in logged) == sorted(arms["control"] + arms["treatment"])
    assert {e.unit: e.variant for e in logged} == {u: v for v, us in arms.items() for u in us}

    # the request guardrails: the side effects counted every request per variant (the analysis adds
    # the process's pending counts to the store before it reads them)
    runtime.executor.drain_side_effects()
    report = client.get("/v1/experiments/no-trending/analysis", headers=AUTH).json()
    assert report["exposed"] == {"control": len(arms["control"]), "treatment": len(arms["treatment"])}
    latency = next(m for m in report["metrics"] if m["metric"] == "latency_p99_ms")
    assert latency["arms"]["control"]["units"] == len(arms["control"])
    assert latency["arms"]["treatment"]["units"] == len(arms["treatment"]) + 1  # the p. override request
    assert latency["arms"]["control"]["value"] > 0 and "treatment" in latency["comparisons"]
    assert {m["metric"] for m in report["metrics"]} >= {"engagement_per_user", "ctr", "hides_per_user"}
    png = client.get("/v1/experiments/no-trending/analysis.png", headers=AUTH)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")

    assert client.post("/v1/experiments/no-trending/stop", headers=AUTH).json()["status"] == "stopped"
    runtime.experiments.assigner.refresh()
    body = client.get("/v1/feed", params={"user_id": treated, "limit": 5}).json()
    assert body["experiments"] == []


def test_a_failing_assignment_fails_open_to_the_control(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runtime.experiments is not None

    def broken() -> Any:
        raise RuntimeError("assigner exploded")

    monkeypatch.setattr(runtime.experiments.assigner, "current", broken)
    body = client.get("/v1/feed", params={"user_id": "u0003", "limit": 10}).json()
    assert body["failed_components"] == ["experiments"] and body["degraded"] is True
    assert body["experiments"] == [] and len(body["items"]) == 10


def test_the_console_page_is_served_and_calls_the_api_it_needs(client: TestClient) -> None:
    page = client.get("/console/experiments")
    assert page.status_code == 200 and "experiments.js" in page.text and "operator.js" in page.text
    assert "Authorization" in client.get("/console/static/operator.js").text
    script = client.get("/console/static/experiments.js")
    assert script.status_code == 200
    for route in ("/v1/experiments", "/analysis", "/analysis.png"):
        assert route in script.text
