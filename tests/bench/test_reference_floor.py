"""The reference scenario's config and state, and the floor measurement (kernels alone)."""

from __future__ import annotations

import dataclasses
import json
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import feedmix.components.candidate_hydrators.online_features_hydrator as hydrator_module
from feedmix.bench.floor import KernelRecorder, measure_floor, overhead_ratio
from feedmix.bench.ports import free_port
from feedmix.bench.reference import (
    MARKER,
    ReferenceScenario,
    candidate_budget_params,
    fingerprint,
    prepared,
    reference_config,
    run_reference,
    write_config_toml,
)
from feedmix.config import FeedmixConfig
from feedmix.ranking.ranker_features import ranker_feature_names
from feedmix.serving.runtime import Runtime


def test_candidate_budgets_scale_every_source_and_cap_the_merge() -> None:
    at_1000 = candidate_budget_params(1000)
    at_250 = candidate_budget_params(250)
    at_4000 = candidate_budget_params(4000)
    assert at_1000["pipeline.max_candidates"] == 1000
    assert at_250["pipeline.max_candidates"] == 250
    assert at_1000["trending.limit"] == 300 and at_250["trending.limit"] == 75
    assert at_4000["embedding_content.k"] == 800
    assert set(at_1000) == set(at_250) == set(at_4000)
    for name in at_1000:
        assert at_250[name] <= at_1000[name] <= at_4000[name], name
    with pytest.raises(ValueError, match="candidates"):
        candidate_budget_params(0)


def test_the_reference_reads_at_least_50_features() -> None:
    assert len(ranker_feature_names()) >= 50
    assert ReferenceScenario().candidates == 1000


def test_config_file_round_trips_through_feedmix_serve(tmp_path: Path) -> None:
    cfg = reference_config(tmp_path / "state", ReferenceScenario(posts="demo", users=300), port=18555)
    path = write_config_toml(cfg, tmp_path / "feedmix.toml")
    back = FeedmixConfig.from_toml(path)
    assert (back.posts, back.users, back.port, back.shed_target_ms) == ("demo", 300, 18555, 0.0)
    assert back.state_dir == cfg.state_dir and back.event_log == cfg.event_log
    assert back.ranking_registry_dir == cfg.ranking_registry_dir
    assert back.index_watch_interval_s == 0.0 and back.ranking_watch_interval_s == 0.0
    assert back.pipeline_params["home"] == candidate_budget_params(1000)


def test_a_state_for_other_parameters_is_not_reused(tmp_path: Path) -> None:
    scenario = ReferenceScenario(posts="demo", users=300)
    assert prepared(tmp_path, scenario) is None
    (tmp_path / MARKER).write_text(json.dumps({"fingerprint": fingerprint(scenario), "x": 1}))
    assert prepared(tmp_path, scenario) == {"fingerprint": fingerprint(scenario), "x": 1}
    assert prepared(tmp_path, dataclasses.replace(scenario, candidates=500)) is None
    (tmp_path / MARKER).write_text("not json")
    assert prepared(tmp_path, scenario) is None


class _Thing:
    def double(self, x: int) -> int:
        return 2 * x


def test_recorder_keeps_calls_and_restores_what_it_wrapped() -> None:
    thing = _Thing()
    module = types.ModuleType("m")
    module.triple = lambda x: 3 * x  # type: ignore[attr-defined]
    original_triple = module.triple  # type: ignore[attr-defined]
    rec = KernelRecorder()
    rec.wrap("a", thing, "double")
    rec.wrap("b", module, "triple")
    assert thing.double(4) == 8 and module.triple(x=5) == 15  # type: ignore[attr-defined]
    calls = rec.take()
    assert [(c.kernel, c.args, c.kwargs) for c in calls] == [("a", (4,), {}), ("b", (), {"x": 5})]
    assert calls[0].fn(10) == 20  # replayable without the recorder
    assert rec.take() == []
    rec.restore()
    assert "double" not in vars(thing) and module.triple is original_triple  # type: ignore[attr-defined]


def test_overhead_ratio() -> None:
    assert overhead_ratio(10.0, 4.0) == 2.5
    assert overhead_ratio(None, 4.0) is None and overhead_ratio(10.0, 0.0) is None


@pytest.fixture(scope="module")
def demo_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    state = tmp_path_factory.mktemp("floor")
    cfg = FeedmixConfig(
        state_dir=str(state),
        users=200,
        ads_demo_campaigns=True,
        feature_log_sample_rate=0.0,
        index_watch_interval_s=0.0,
        ranking_watch_interval_s=0.0,
        pipeline_params={"home": candidate_budget_params(300)},
    )
    rt = Runtime.build(cfg)
    try:
        yield rt
    finally:
        rt.close()


def test_floor_replays_the_kernels_of_real_requests(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    assert rt.ads is not None
    users = [f"u{i:04d}" for i in range(1, 9)]
    floor = measure_floor(rt, users, reps=2, progress=False)
    assert floor["requests"] == 8
    # no ranker is promoted in this state: its kernel is absent, and the report says so
    assert "model_inference" not in floor["instrumented"]
    assert {"ann_search:content", "feature_gather", "ad_decision"} <= set(floor["instrumented"])
    kernels = floor["kernels"]
    assert kernels["feature_gather"]["calls_per_request"] == 1.0
    assert kernels["ad_decision"]["calls_per_request"] == 1.0
    assert kernels["ann_search"]["calls_per_request"] >= 1.0
    assert all(k["cpu_ms_per_request"] > 0 for k in kernels.values())
    total = sum(k["cpu_ms_per_request"] for k in kernels.values())
    assert floor["floor_cpu_ms_per_request"] == pytest.approx(total)
    assert 100 < floor["candidates_per_request"] <= 300
    # the wrappers are gone: the runtime serves as before
    assert "decide" not in vars(rt.ads.server)
    assert hydrator_module.read_entities.__module__ == "feedmix.features.online_store"  # type: ignore[attr-defined]
    body = rt.feeds.feed("home", "u0001", limit=10)
    assert len([i for i in body["items"] if i.get("kind") != "ad"]) == 10


def test_floor_refuses_nonsense(demo_runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="users"):
        measure_floor(demo_runtime, [], progress=False)
    with pytest.raises(ValueError, match="reps"):
        measure_floor(demo_runtime, ["u0001"], reps=0, progress=False)


def test_reference_end_to_end_on_the_demo_corpus(tmp_path: Path) -> None:
    """Prepare (sessions, collab index, trained ranker, ads), serve under load, measure the floor."""
    scenario = ReferenceScenario(
        posts="demo",
        users=300,
        request_users=40,
        collect_sessions=250,
        ad_groups=40,
        candidates=300,
        rate_rps=8.0,
        duration_s=3.0,
        warmup_s=1.0,
    )
    report = run_reference(
        tmp_path / "ref", scenario, port=free_port(), floor_requests=10, floor_reps=1, progress=False
    )
    prep = report["prepared"]
    assert prep["ad_groups"] == 40 and prep["ranker"]["features"] >= 50
    assert (tmp_path / "ref" / MARKER).exists() and Path(report["config"]).exists()
    load = report["load"]
    assert load["ok"] == load["requests"] > 0 and not load["errors"]
    assert report["server_cpu_ms_per_request"] > 0
    floor = report["floor"]
    assert "model_inference" in floor["instrumented"]  # the trained ranker serves
    assert floor["kernels"]["model_inference"]["calls_per_request"] == 1.0
    assert report["floor_ratio"] == pytest.approx(
        report["server_cpu_ms_per_request"] / report["floor_cpu_ms_per_request"]
    )
    assert np.isfinite(report["latency_ms"]["p99"])
    # a second run finds the state prepared and does not rebuild it
    assert prepared(tmp_path / "ref", scenario) == prep
