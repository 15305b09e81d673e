"""Framework contracts: deadlines, fail-open, kill switches, gates, side effects, trace, metrics."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import numpy as np
import pytest
from prometheus_client import REGISTRY

from feedmix.core.executor import PipelineExecutor, PipelineResult
from feedmix.core.pipeline import Pipeline, PipelineConfig
from feedmix.core.query import Deadline, Query

from .toy_components import Calls, toy_registry


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def executor() -> Any:
    ex = PipelineExecutor(workers=4)
    yield ex
    ex.shutdown(wait_for_side_effects=False)


def build(calls: Calls, **slots: Any) -> Pipeline:
    name = slots.pop("name", f"toy_{uuid.uuid4().hex[:6]}")
    slots.setdefault("sources", [{"type": "range", "id": "a"}])
    return Pipeline.build(PipelineConfig(name=name, surface="test", **slots), toy_registry(), calls)


def run(
    executor: PipelineExecutor,
    p: Pipeline,
    overrides: dict[str, Any] | None = None,
    user: str = "u1",
    deadline_ms: float | None = None,
    limit: int = 100,
) -> PipelineResult:
    params = p.params(overrides)
    ms = deadline_ms if deadline_ms is not None else float(params["pipeline.deadline_ms"])
    q = Query(user, p.surface, params, Deadline.from_ms(ms), uuid.uuid4().hex, now=0.0, limit=limit)
    return executor.run(p, q)


def statuses(result: PipelineResult) -> dict[str, str]:
    return {c.component: c.status for c in result.trace.components()}


def test_happy_path_runs_every_stage_in_order(calls: Calls, executor: PipelineExecutor) -> None:
    p = build(
        calls,
        query_hydrators=[{"type": "const", "id": "profile"}],
        sources=[{"type": "range", "id": "a"}, {"type": "range", "id": "b", "options": {"start": 5}}],
        candidate_hydrators=["double"],
        filters=[{"type": "min_value", "id": "min"}],
        scorers=[{"type": "value_scorer", "id": "by_value"}],
        selectors=["even"],
    )
    r = run(executor, p)
    # ids 0..14 merged (5..9 deduplicated), >= 3 kept, sorted by value desc, even only
    assert r.batch.ids.tolist() == [14, 12, 10, 8, 6, 4]
    assert r.batch.column("double").tolist() == [28.0, 24.0, 20.0, 16.0, 12.0, 8.0]
    assert [s.stage for s in r.trace.stages] == [
        "query_hydration",
        "sources",
        "candidate_hydration",
        "filters",
        "scorers",
        "selectors",
    ]
    assert r.coverage == 1.0 and not r.degraded
    src = {c.component: c for c in r.trace.stages[1].components}
    assert src["a"].candidates_out == 10 and src["b"].candidates_out == 10
    assert r.trace.stages[1].candidates_out == 15
    filt = r.trace.stages[3].components[0]
    assert (filt.candidates_in, filt.candidates_out) == (15, 12)
    # first source wins on duplicates: ids 5..9 are tagged with source 0 ("a")
    assert r.source_names == ["a", "b"]


def test_failing_source_is_dropped_and_named(calls: Calls, executor: PipelineExecutor) -> None:
    p = build(calls, sources=[{"type": "range", "id": "good"}, {"type": "failing", "id": "broken"}])
    r = run(executor, p)
    assert len(r.batch) == 10
    assert r.degraded and r.failed_components == ["broken"]
    assert r.coverage == pytest.approx(0.5)
    broken = next(c for c in r.trace.components() if c.component == "broken")
    assert broken.status == "error" and "source exploded" in (broken.error or "")


def test_deadline_returns_without_waiting_for_a_slow_source(calls: Calls, executor: PipelineExecutor) -> None:
    release = threading.Event()
    p = build(
        calls,
        sources=[
            {"type": "range", "id": "fast"},
            {"type": "blocking", "id": "slow", "options": {"release": release}},
        ],
    )
    try:
        r = run(executor, p, deadline_ms=50)
        # the slow source is still blocked (the event is not set), so the executor cannot have waited
        assert not release.is_set()
        assert statuses(r)["slow"] == "timeout"
        assert r.batch.ids.tolist() == list(range(9, -1, -1)) or sorted(r.batch.ids.tolist()) == list(
            range(10)
        )
        assert 999 not in r.batch.ids
        assert r.failed_components == ["slow"] and r.coverage < 1
    finally:
        release.set()


def test_component_timeout_param_applies_to_inline_stages(calls: Calls, executor: PipelineExecutor) -> None:
    block = threading.Event()
    p = build(calls, filters=[{"type": "min_value", "id": "slow_filter", "options": {"block": block}}])
    try:
        r = run(executor, p, {"slow_filter.timeout_ms": 20})
        assert not block.is_set()
        assert statuses(r)["slow_filter"] == "timeout"
        assert len(r.batch) == 10  # the filter's mask was never applied: fail-open
    finally:
        block.set()


def test_expired_deadline_skips_optional_work_but_runs_essential(
    calls: Calls, executor: PipelineExecutor
) -> None:
    release = threading.Event()
    p = build(
        calls,
        query_hydrators=[{"type": "const", "id": "profile"}],
        sources=[
            {"type": "range", "id": "fast"},
            {"type": "blocking", "id": "slow", "options": {"release": release}},
        ],
        filters=[{"type": "min_value", "id": "optional"}, {"type": "essential_min_value", "id": "safety"}],
        scorers=[{"type": "value_scorer", "id": "by_value"}],
    )
    try:
        r = run(executor, p, deadline_ms=30)
    finally:
        release.set()
    st = statuses(r)
    assert st["slow"] == "timeout"
    assert st["optional"] == "skipped" and st["by_value"] == "skipped"
    assert st["safety"] == "ok" and calls.count.get("safety") == 1
    assert sorted(r.batch.ids.tolist()) == [3, 4, 5, 6, 7, 8, 9]  # the essential filter was applied
    assert set(r.failed_components) == {"slow", "optional", "by_value"}


def test_a_failing_essential_filter_fails_closed(calls: Calls, executor: PipelineExecutor) -> None:
    """A safety filter that cannot judge keeps nothing: fail-open would show what it hides."""
    p = build(
        calls,
        filters=[{"type": "essential_min_value", "id": "safety", "options": {"fail": True}}],
        scorers=[{"type": "value_scorer", "id": "by_value"}],
    )
    r = run(executor, p)
    assert statuses(r)["safety"] == "error"
    assert len(r.batch) == 0 and r.degraded and "safety" in r.failed_components
    # the same filter working keeps what passes it
    ok = build(calls, filters=[{"type": "essential_min_value", "id": "safety"}])
    assert len(run(executor, ok).batch) == 10


@pytest.mark.parametrize("slot,comp", [("filters", "min_value"), ("scorers", "value_scorer")])
def test_failing_inline_component_fails_open(
    calls: Calls, executor: PipelineExecutor, slot: str, comp: str
) -> None:
    p = build(calls, **{slot: [{"type": comp, "id": "broken", "options": {"fail": True}}]})
    r = run(executor, p)
    assert len(r.batch) == 10
    assert r.failed_components == ["broken"] and r.degraded


def test_selector_returning_bad_positions_fails_open(calls: Calls, executor: PipelineExecutor) -> None:
    p = build(calls, selectors=["bad_selector"])
    r = run(executor, p)
    assert len(r.batch) == 10 and r.failed_components == ["bad_selector"]


def test_failing_query_hydrator_leaves_features_unset(calls: Calls, executor: PipelineExecutor) -> None:
    p = build(
        calls,
        query_hydrators=[{"type": "const", "id": "profile", "options": {"fail": True}}],
        filters=[{"type": "min_value", "id": "min"}],
    )
    r = run(executor, p)
    assert len(r.batch) == 10  # min_value falls back to 0 when the feature is missing
    assert r.failed_components == ["profile"]


def test_a_param_hydrator_decides_params_before_any_other_component_reads_them(
    calls: Calls, executor: PipelineExecutor
) -> None:
    p = build(
        calls,
        query_hydrators=[
            {"type": "const", "id": "profile"},
            {
                "type": "param_decider",
                "id": "experiments",
                "options": {"overrides": {"a.n": 3, "b.enabled": False}},
            },
        ],
        sources=[{"type": "range", "id": "a"}, {"type": "range", "id": "b", "options": {"start": 100}}],
    )
    r = run(executor, p)
    assert sorted(r.batch.ids.tolist()) == [0, 1, 2] and statuses(r)["b"] == "disabled"
    assert [s.stage for s in r.trace.stages][:2] == ["params", "query_hydration"]
    assert r.query.feature("decided") is True and r.query.params.explicit >= {"a.n", "b.enabled"}
    # the request's own overrides win over the decided ones
    r = run(executor, p, {"a.n": 5})
    assert sorted(r.batch.ids.tolist()) == [0, 1, 2, 3, 4]


def test_a_failing_or_invalid_param_hydrator_leaves_the_request_on_the_defaults(
    calls: Calls, executor: PipelineExecutor
) -> None:
    for options in ({"overrides": {"a.n": 3}, "fail": True}, {"overrides": {"a.n": 3, "a.nope": 1}}):
        p = build(calls, query_hydrators=[{"type": "param_decider", "id": "experiments", "options": options}])
        r = run(executor, p)
        assert len(r.batch) == 10  # the default a.n
        assert r.failed_components == ["experiments"] and r.degraded


def test_kill_switch_disables_without_calling(calls: Calls, executor: PipelineExecutor) -> None:
    p = build(
        calls,
        sources=[{"type": "range", "id": "a"}, {"type": "range", "id": "b", "options": {"start": 100}}],
        scorers=[{"type": "value_scorer", "id": "by_value"}],
    )
    r = run(executor, p, {"b.enabled": "false", "by_value.enabled": False})
    assert "b" not in calls.count and "by_value" not in calls.count
    assert sorted(r.batch.ids.tolist()) == list(range(10))
    assert statuses(r)["b"] == "disabled"
    assert r.coverage == 1.0 and not r.degraded


def test_gates_stop_pipeline_or_component(calls: Calls, executor: PipelineExecutor) -> None:
    p = build(
        calls,
        gates=[{"type": "user_gate", "id": "not_blocked"}],
        sources=[
            {"type": "range", "id": "a"},
            {"type": "range", "id": "b", "options": {"start": 50}, "gates": ["not_blocked"]},
        ],
    )
    assert len(run(executor, p, user="blocked").batch) == 0
    assert "a" not in calls.count
    assert len(run(executor, p, user="someone").batch) == 20


def test_side_effects_neither_fail_nor_delay_the_response(calls: Calls, executor: PipelineExecutor) -> None:
    block = threading.Event()
    p = build(
        calls,
        side_effects=[
            {"type": "recording", "id": "slow_log", "options": {"block": block}},
            {"type": "recording", "id": "broken_log", "options": {"fail": True}},
            {"type": "recording", "id": "good_log"},
        ],
    )
    r = run(executor, p)
    assert len(r.batch) == 10 and not r.degraded
    assert calls.side_effects == []  # still blocked behind slow_log, yet the response is here
    block.set()
    executor.shutdown(wait_for_side_effects=True)
    assert calls.side_effects == [r.query.request_id, r.query.request_id]


def test_limit_truncates_after_selection(calls: Calls, executor: PipelineExecutor) -> None:
    p = build(calls, scorers=[{"type": "value_scorer", "id": "s"}])
    r = run(executor, p, limit=3)
    assert r.batch.ids.tolist() == [9, 8, 7]


def test_metrics_are_recorded_for_every_request(calls: Calls, executor: PipelineExecutor) -> None:
    p = build(
        calls, name="metrics_probe", sources=[{"type": "range", "id": "a"}, {"type": "failing", "id": "bad"}]
    )
    before = (
        REGISTRY.get_sample_value("feedmix_pipeline_requests_total", {"pipeline": "metrics_probe"}) or 0.0
    )
    run(executor, p)
    run(executor, p)
    assert (
        REGISTRY.get_sample_value("feedmix_pipeline_requests_total", {"pipeline": "metrics_probe"})
        == before + 2
    )
    assert (
        REGISTRY.get_sample_value(
            "feedmix_component_failures_total",
            {"pipeline": "metrics_probe", "component": "bad", "status": "error"},
        )
        == 2
    )
    assert (
        REGISTRY.get_sample_value(
            "feedmix_component_latency_seconds_count",
            {"pipeline": "metrics_probe", "stage": "sources", "component": "a"},
        )
        == 2
    )


def test_trace_records_cpu_and_wall_time(calls: Calls, executor: PipelineExecutor) -> None:
    p = build(calls, scorers=[{"type": "value_scorer", "id": "s"}])
    r = run(executor, p)
    d = r.trace.as_dict()
    assert d["wall_ms"] > 0 and d["cpu_ms"] >= 0
    comps = [c for s in d["stages"] for c in s["components"]]
    assert {c["component"] for c in comps} == {"a", "s"}
    assert all(c["wall_ms"] >= 0 and c["cpu_ms"] >= 0 for c in comps)
    assert np.isfinite(d["wall_ms"])


def test_inline_components_run_on_the_request_thread(calls: Calls, executor: PipelineExecutor) -> None:
    p = build(
        calls,
        sources=[
            {"type": "thread_recording", "id": "local", "options": {"inline": True}},
            {"type": "thread_recording", "id": "remote", "options": {"inline": False}},
        ],
    )
    r = run(executor, p)
    local = p.components["local"]
    remote = p.components["remote"]
    assert local.thread == threading.get_ident()  # type: ignore[attr-defined]
    assert remote.thread not in (None, threading.get_ident())  # type: ignore[attr-defined]
    assert statuses(r) == {"local": "ok", "remote": "ok"}
    # an own timeout moves an inline component to the pool, where it can be abandoned
    run(executor, p, {"local.timeout_ms": 1000})
    assert local.thread != threading.get_ident()  # type: ignore[attr-defined]


def test_fallback_value_is_used_and_reported(calls: Calls, executor: PipelineExecutor) -> None:
    p = build(calls, candidate_hydrators=["defaulting"])
    r = run(executor, p)
    assert r.batch.column("double").tolist() == [0.0] * 10  # the fallback value was applied
    assert statuses(r)["defaulting"] == "fallback"
    assert r.degraded and r.failed_components == ["defaulting"]
    comp = next(c for c in r.trace.components() if c.component == "defaulting")
    assert comp.error == "store unavailable, defaults used"
