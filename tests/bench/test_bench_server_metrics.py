"""Metric-delta arithmetic on two hand-written /metrics snapshots (no server involved)."""

from __future__ import annotations

import pytest

from feedmix.bench.server_metrics import parse_snapshot, server_breakdown

BEFORE = """
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 10.0
# TYPE feedmix_pipeline_latency_seconds histogram
feedmix_pipeline_latency_seconds_bucket{le="0.01",pipeline="home"} 100.0
feedmix_pipeline_latency_seconds_bucket{le="+Inf",pipeline="home"} 100.0
feedmix_pipeline_latency_seconds_sum{pipeline="home"} 0.5
feedmix_pipeline_latency_seconds_count{pipeline="home"} 100.0
feedmix_pipeline_latency_seconds_created{pipeline="home"} 1.7e9
# TYPE feedmix_pipeline_cpu_seconds_total counter
feedmix_pipeline_cpu_seconds_total{pipeline="home"} 0.3
# TYPE feedmix_stage_latency_seconds histogram
feedmix_stage_latency_seconds_bucket{le="+Inf",pipeline="home",stage="sources"} 100.0
feedmix_stage_latency_seconds_sum{pipeline="home",stage="sources"} 0.1
feedmix_stage_latency_seconds_count{pipeline="home",stage="sources"} 100.0
feedmix_stage_latency_seconds_bucket{le="+Inf",pipeline="home",stage="rank"} 100.0
feedmix_stage_latency_seconds_sum{pipeline="home",stage="rank"} 0.3
feedmix_stage_latency_seconds_count{pipeline="home",stage="rank"} 100.0
# TYPE feedmix_stage_cpu_seconds_total counter
feedmix_stage_cpu_seconds_total{pipeline="home",stage="sources"} 0.05
feedmix_stage_cpu_seconds_total{pipeline="home",stage="rank"} 0.2
# TYPE feedmix_component_latency_seconds histogram
feedmix_component_latency_seconds_bucket{component="dedup",le="+Inf",pipeline="home",stage="sources"} 100.0
feedmix_component_latency_seconds_sum{component="dedup",pipeline="home",stage="sources"} 0.01
feedmix_component_latency_seconds_count{component="dedup",pipeline="home",stage="sources"} 100.0
# TYPE feedmix_component_cpu_seconds_total counter
feedmix_component_cpu_seconds_total{component="dedup",owner="feed",pipeline="home"} 0.01
"""

# 200 more home runs, and a new pipeline/stage/component that only appeared in the window.
AFTER = """
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 11.0
# TYPE feedmix_pipeline_latency_seconds histogram
feedmix_pipeline_latency_seconds_bucket{le="0.01",pipeline="home"} 300.0
feedmix_pipeline_latency_seconds_bucket{le="+Inf",pipeline="home"} 300.0
feedmix_pipeline_latency_seconds_sum{pipeline="home"} 1.3
feedmix_pipeline_latency_seconds_count{pipeline="home"} 300.0
feedmix_pipeline_latency_seconds_created{pipeline="home"} 1.7e9
feedmix_pipeline_latency_seconds_bucket{le="+Inf",pipeline="popular"} 50.0
feedmix_pipeline_latency_seconds_sum{pipeline="popular"} 0.1
feedmix_pipeline_latency_seconds_count{pipeline="popular"} 50.0
# TYPE feedmix_pipeline_cpu_seconds_total counter
feedmix_pipeline_cpu_seconds_total{pipeline="home"} 0.9
# TYPE feedmix_stage_latency_seconds histogram
feedmix_stage_latency_seconds_bucket{le="+Inf",pipeline="home",stage="sources"} 300.0
feedmix_stage_latency_seconds_sum{pipeline="home",stage="sources"} 0.3
feedmix_stage_latency_seconds_count{pipeline="home",stage="sources"} 300.0
feedmix_stage_latency_seconds_bucket{le="+Inf",pipeline="home",stage="rank"} 300.0
feedmix_stage_latency_seconds_sum{pipeline="home",stage="rank"} 0.9
feedmix_stage_latency_seconds_count{pipeline="home",stage="rank"} 300.0
feedmix_stage_latency_seconds_bucket{le="+Inf",pipeline="home",stage="blend"} 0.0
feedmix_stage_latency_seconds_sum{pipeline="home",stage="blend"} 0.0
feedmix_stage_latency_seconds_count{pipeline="home",stage="blend"} 0.0
# TYPE feedmix_stage_cpu_seconds_total counter
feedmix_stage_cpu_seconds_total{pipeline="home",stage="sources"} 0.15
feedmix_stage_cpu_seconds_total{pipeline="home",stage="rank"} 0.6
# TYPE feedmix_component_latency_seconds histogram
feedmix_component_latency_seconds_bucket{component="dedup",le="+Inf",pipeline="home",stage="sources"} 300.0
feedmix_component_latency_seconds_sum{component="dedup",pipeline="home",stage="sources"} 0.03
feedmix_component_latency_seconds_count{component="dedup",pipeline="home",stage="sources"} 300.0
feedmix_component_latency_seconds_bucket{component="dedup",le="+Inf",pipeline="home",stage="rank"} 200.0
feedmix_component_latency_seconds_sum{component="dedup",pipeline="home",stage="rank"} 0.04
feedmix_component_latency_seconds_count{component="dedup",pipeline="home",stage="rank"} 200.0
feedmix_component_latency_seconds_bucket{component="gbm",le="+Inf",pipeline="home",stage="rank"} 200.0
feedmix_component_latency_seconds_sum{component="gbm",pipeline="home",stage="rank"} 0.2
feedmix_component_latency_seconds_count{component="gbm",pipeline="home",stage="rank"} 200.0
# TYPE feedmix_component_cpu_seconds_total counter
feedmix_component_cpu_seconds_total{component="dedup",owner="feed",pipeline="home"} 0.05
feedmix_component_cpu_seconds_total{component="dedup",owner="ads",pipeline="home"} 0.04
"""


def test_deltas_become_per_request_means() -> None:
    b = server_breakdown(parse_snapshot(BEFORE), parse_snapshot(AFTER), requests=250)

    # 1 s of process CPU over the 250 HTTP requests the client sent.
    assert b["server_cpu_s"] == pytest.approx(1.0)
    assert b["server_cpu_ms_per_request"] == pytest.approx(4.0)
    # (0.8 s home + 0.1 s popular) over (200 + 50) runs.
    assert b["pipeline_ms_mean"] == pytest.approx(900.0 / 250)
    assert b["pipelines"]["home"] == pytest.approx({"runs": 200, "wall_ms": 4.0, "cpu_ms": 3.0})
    assert b["pipelines"]["popular"] == pytest.approx({"runs": 50, "wall_ms": 2.0, "cpu_ms": None})

    # Each stage divides by its own count; a stage that never ran in the window is left out.
    assert b["stages"] == {
        "home": {
            "sources": pytest.approx({"runs": 200, "wall_ms": 1.0, "cpu_ms": 0.5}),
            "rank": pytest.approx({"runs": 200, "wall_ms": 3.0, "cpu_ms": 2.0}),
        }
    }

    comps = b["components"]["home"]
    assert comps["sources"]["dedup"] == pytest.approx({"calls": 200, "wall_ms": 0.1, "cpu_ms": 0.2})
    # dedup ran in two stages: wall time is per stage, but the CPU counter has no stage label, so
    # its 0.08 s (summed over owners) is spread over all 400 dedup calls.
    assert comps["rank"]["dedup"] == pytest.approx({"calls": 200, "wall_ms": 0.2, "cpu_ms": 0.2})
    assert comps["rank"]["gbm"] == pytest.approx({"calls": 200, "wall_ms": 1.0, "cpu_ms": None})


def test_counter_reset_counts_the_value_after_it() -> None:
    before = parse_snapshot("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 50.0\n")
    after = parse_snapshot("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 2.0\n")
    assert server_breakdown(before, after, requests=1000)["server_cpu_ms_per_request"] == pytest.approx(2.0)


def test_missing_series_and_no_requests_give_none_not_errors() -> None:
    empty = parse_snapshot("")
    b = server_breakdown(empty, empty, requests=0)
    assert b["server_cpu_ms_per_request"] is None
    assert b["pipeline_ms_mean"] is None
    assert b["pipelines"] == b["stages"] == b["components"] == {}
    assert (
        server_breakdown(parse_snapshot(BEFORE), parse_snapshot(AFTER), 0)["server_cpu_ms_per_request"]
        is None
    )


def test_cache_requests_become_counts_and_a_hit_rate() -> None:
    kind = "# TYPE feedmix_cache_requests_total counter\n"
    before = parse_snapshot(
        kind
        + 'feedmix_cache_requests_total{cache="trending",result="hit"} 10.0\n'
        + 'feedmix_cache_requests_total{cache="trending",result="miss"} 5.0\n'
    )
    after = parse_snapshot(
        kind
        + 'feedmix_cache_requests_total{cache="trending",result="hit"} 100.0\n'
        + 'feedmix_cache_requests_total{cache="trending",result="miss"} 10.0\n'
        + 'feedmix_cache_requests_total{cache="trending",result="error"} 2.0\n'
        + 'feedmix_cache_requests_total{cache="other",result="miss"} 3.0\n'
    )
    caches = server_breakdown(before, after, requests=10)["caches"]
    # 90 hits of 95 asked; the 2 errors were filled, so they are among the 5 misses, not extra
    assert caches["trending"] == {"hit": 90, "miss": 5, "error": 2, "hit_rate": round(90 / 95, 4)}
    assert caches["other"] == {"miss": 3, "hit_rate": 0.0}
