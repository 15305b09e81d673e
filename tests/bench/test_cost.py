"""``feedmix cost``: CPU of a measured window priced per 1,000 requests, per component and per team."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedmix import cli
from feedmix.bench.cost import OUTSIDE, cost_report
from feedmix.bench.server_metrics import parse_snapshot, server_breakdown
from feedmix.config import FeedmixConfig
from feedmix.serving.app import create_app
from feedmix.serving.runtime import Runtime


def test_a_measured_window_is_priced_per_component_and_team(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = Runtime.build(
        FeedmixConfig(state_dir=str(tmp_path), users=50, event_log="memory://", index_watch_interval_s=0)
    )
    try:
        with TestClient(create_app(rt)) as client:
            client.get("/v1/feed", params={"user_id": "u0001"})  # warm up
            before = parse_snapshot(client.get("/metrics").text)
            n = 30
            for i in range(n):
                assert client.get("/v1/feed", params={"user_id": f"u{i % 50 + 1:04d}"}).status_code == 200
            after = parse_snapshot(client.get("/metrics").text)
    finally:
        rt.close()
    run = {"requests": n, **server_breakdown(before, after, n)}
    report = cost_report(run, core_hour_usd=0.04)
    teams = {t["owner"]: t for t in report["teams"]}
    assert {"feed", "feed-ranking", "ads"} <= set(teams) and OUTSIDE in teams
    names = {c["component"] for c in report["components"]}
    assert {"online_features", "trending", "heuristic_scorer", "ranker"} <= names
    # the teams add up to the whole process, and the price is CPU time at the given rate
    assert sum(t["usd_per_1k_requests"] for t in report["teams"]) == pytest.approx(
        report["usd_per_1k_requests"]
    )
    cpu_h_per_1k = report["server_cpu_ms_per_request"] * 1000 / 3_600_000
    assert report["usd_per_1k_requests"] == pytest.approx(cpu_h_per_1k * 0.04)

    path = tmp_path / "run.json"
    path.write_text(json.dumps(run))
    assert cli.main(["cost", str(path), "--core-hour-usd", "0.04"]) == 0
    out = capsys.readouterr().out
    assert "| feed-ranking |" in out and "USD per 1,000 requests" in out
    # a reference-scenario report carries its load run under "load": the same prices
    assert cost_report({"floor_ratio": 9.0, "load": run}, core_hour_usd=0.04) == report
    path.write_text(json.dumps({"requests": 0}))
    assert cli.main(["cost", str(path)]) == 2
    assert "requests" in capsys.readouterr().err


def test_a_shadow_is_priced_on_a_line_of_its_own() -> None:
    from feedmix.bench.cost import cost_report

    run = {
        "requests": 1000,
        "server_cpu_s": 10.0,
        "component_cpu": [
            {"pipeline": "home", "component": "ranker", "owner": "ranking", "cpu_s": 2.0},
            {"pipeline": "home.shadow.blind", "component": "ranker", "owner": "ranking", "cpu_s": 0.5},
            {"pipeline": "home.shadow.blind.noise", "component": "ranker", "owner": "ranking", "cpu_s": 0.25},
        ],
    }
    teams = {t["owner"]: t["cpu_ms_per_request"] for t in cost_report(run)["teams"]}
    assert teams["ranking"] == 2.0 and teams["(shadow blind)"] == 0.75
    assert sum(teams.values()) == 10.0  # the lines still add up to the process
