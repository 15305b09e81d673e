"""Shadows: sampled requests rerun under a candidate config and production's noise twin, off the request
path, writing nothing anywhere; failures and a full queue are counted and change nothing served."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from feedmix.ads.decision.frequency_caps import MemoryFrequencyStore
from feedmix.ads.decision.spend_counters import MemorySpendCounters
from feedmix.ads.store.sql_campaign_store import SqlCampaignStore
from feedmix.config import FeedmixConfig
from feedmix.core.executor import PipelineResult
from feedmix.events.memory_event_log import MemoryEventLog
from feedmix.events.sqlite_event_log import SqliteEventLog
from feedmix.features.offline.served_log import ServedFeatureLog
from feedmix.serving.runtime import Runtime
from feedmix.serving.shadow_runner import ShadowSpec
from feedmix.shadow.record import read_records
from feedmix.shadow.report import compare
from feedmix.stores.memory_seen_store import MemorySeenStore
from feedmix.stores.memory_session_store import MemorySessionStore

SHADOW = {
    "pipeline": "home",
    "sample_rate": 1.0,
    "params": {"trending.enabled": False, "heuristic_scorer.w_affinity": 0.0},
}
#: every method through which serving writes state: a shadow must call none of them
WRITERS: list[tuple[type, str]] = [
    (MemorySpendCounters, "reserve"),
    (MemorySpendCounters, "charge"),
    (MemoryFrequencyStore, "record"),
    (MemorySessionStore, "add_served"),
    (MemorySeenStore, "add"),
    (SqliteEventLog, "append"),
    (MemoryEventLog, "append"),
    (ServedFeatureLog, "append"),
    (SqlCampaignStore, "record_delivery"),
    (SqlCampaignStore, "record_deliveries"),
]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    cfg = FeedmixConfig(
        state_dir=str(tmp_path_factory.mktemp("state")),
        users=300,
        ads_demo_campaigns=True,
        feature_log_sample_rate=1.0,
        shadows={"no_trending": dict(SHADOW)},
    )
    rt = Runtime.build(cfg)
    yield rt
    rt.close()


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Callable[[], dict[str, int]]:
    """Counts calls of every state-writing method; returns a reader of the counts."""
    counts: dict[str, int] = {}
    for cls, name in WRITERS:
        original = getattr(cls, name)
        key = f"{cls.__name__}.{name}"
        counts[key] = 0

        def spy(self: Any, *a: Any, _orig: Any = original, _key: str = key, **kw: Any) -> Any:
            counts[_key] += 1
            return _orig(self, *a, **kw)

        monkeypatch.setattr(cls, name, spy)
    return lambda: dict(counts)


def _served(runtime: Runtime, users: range) -> list[PipelineResult]:
    """Serve pages for real, keeping what the shadow runner was handed instead of letting it run."""
    assert runtime.shadows is not None
    held: list[PipelineResult] = []
    runner = runtime.shadows
    original = runner.submit
    runner.submit = lambda pipeline, result: held.append(result)  # type: ignore[method-assign]
    try:
        for i in users:
            body = runtime.feeds.feed("home", f"u{i:04d}", limit=10)
            assert body["items"]
    finally:
        runner.submit = original  # type: ignore[method-assign]
    return held


def test_a_shadow_that_would_spend_and_log_writes_nothing(
    runtime: Runtime, writes: Callable[[], dict[str, int]]
) -> None:
    assert runtime.shadows is not None and runtime.ads is not None
    held = _served(runtime, range(1, 31))
    production = writes()
    assert production["MemorySpendCounters.reserve"] > 0  # production's ads reserved budget
    assert production["MemorySessionStore.add_served"] == 30
    runtime.executor.drain_side_effects()  # production's own side effects are done
    before = writes()
    for result in held:
        shadow = runtime.shadows._shadows["home"][0]
        runtime.shadows._run(shadow, result)
    assert writes() == before, "a shadow wrote state"
    records = read_records(Path(runtime.config.state_dir) / "shadow" / "no_trending" / "records.jsonl")
    assert len(records) == 30
    candidate_ads = sum(len(r.arms["candidate"].ads) for r in records)
    assert candidate_ads > 0  # its auctions ran and priced ads: without the dry run it would have spent
    assert all(a.price_micros > 0 for r in records for a in r.arms["candidate"].ads)
    for r in records:
        assert set(r.arms) == {"production", "candidate", "noise"}
        assert "trending" not in r.arms["candidate"].sources  # the candidate's config applied
        assert r.arms["production"].item_ids  # the served page, as served


def test_the_report_shows_each_metric_beside_its_noise(runtime: Runtime) -> None:
    records = read_records(Path(runtime.config.state_dir) / "shadow" / "no_trending" / "records.jsonl")
    report = compare(records)
    rbo = report["metrics"]["rbo"]
    assert report["requests"] == len(records) > 0
    assert rbo["candidate"] is not None and rbo["noise"] is not None
    # production against itself (another random draw) agrees more than with a feed blind to affinity
    assert rbo["noise"] > rbo["candidate"]
    assert report["metrics"]["source_mix_js"]["candidate"] > report["metrics"]["source_mix_js"]["noise"]


def test_sampled_requests_run_off_the_request_path(tmp_path: Path) -> None:
    cfg = FeedmixConfig(
        state_dir=str(tmp_path),
        users=200,
        shadows={"half": {**SHADOW, "sample_rate": 0.5}},
        ads_enabled=False,
    )
    rt = Runtime.build(cfg)
    try:
        assert rt.shadows is not None
        bodies = [rt.feeds.feed("home", f"u{i:04d}", limit=5) for i in range(1, 41)]
        assert rt.shadows.drain()
        records = read_records(tmp_path / "shadow" / "half" / "records.jsonl")
        assert 8 <= len(records) <= 32  # about half, decided by the request id's hash
        assert {r.request_id for r in records} <= {b["request_id"] for b in bodies}
    finally:
        rt.close()


def _counter(shadow: str, outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("feedmix_shadow_requests_total", {"shadow": shadow, "outcome": outcome})
        or 0.0
    )


def test_a_failing_shadow_changes_nothing_served_and_is_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = FeedmixConfig(state_dir=str(tmp_path), users=200, ads_enabled=False, shadows={"boom": dict(SHADOW)})
    rt = Runtime.build(cfg)
    try:
        assert rt.shadows is not None
        reference = rt.feeds.feed("home", "u0005", limit=10, overrides={"exploration.enabled": False})
        assert rt.shadows.drain()

        def explode(*_a: Any, **_k: Any) -> Any:
            raise RuntimeError("the candidate exploded")

        monkeypatch.setattr(rt.shadows.executor, "run", explode)
        errors = _counter("boom", "error")
        body = rt.feeds.feed("home", "u0006", limit=10)
        assert rt.shadows.drain()
        assert body["degraded"] is False and len(body["items"]) == 10 and reference["items"]
        assert _counter("boom", "error") == errors + 1
        last = read_records(tmp_path / "shadow" / "boom" / "records.jsonl")[-1]
        assert last.arms["candidate"].error and "exploded" in last.arms["candidate"].error
    finally:
        rt.close()


def test_a_full_queue_drops_and_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = FeedmixConfig(
        state_dir=str(tmp_path), users=200, ads_enabled=False, shadows={"slow": {**SHADOW, "queue_size": 1}}
    )
    rt = Runtime.build(cfg)
    release = threading.Event()
    try:
        assert rt.shadows is not None
        original = rt.shadows._run

        def blocked(*a: Any) -> None:
            release.wait(10)
            original(*a)

        monkeypatch.setattr(rt.shadows, "_run", blocked)
        dropped = _counter("slow", "dropped")
        for i in range(1, 7):
            rt.feeds.feed("home", f"u{i:04d}", limit=5)
        assert _counter("slow", "dropped") >= dropped + 4  # one running, one queued, the rest dropped
        release.set()
        assert rt.shadows.drain()
    finally:
        release.set()
        rt.close()


def test_a_bad_shadow_table_is_a_config_error() -> None:
    from feedmix.core.pipeline import ConfigError

    with pytest.raises(ConfigError, match="sample_rate"):
        ShadowSpec.from_config("x", {"pipeline": "home", "sample_rate": 2})
    with pytest.raises(ConfigError, match="unknown keys"):
        ShadowSpec.from_config("x", {"pipeline": "home", "sampel_rate": 0.1})
    with pytest.raises(ConfigError, match="pipeline"):
        ShadowSpec.from_config("x", {"sample_rate": 0.1})


def test_the_shadows_api_and_console_page(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from feedmix.serving.app import create_app

    monkeypatch.setenv("FEEDMIX_OPERATOR_KEY", "k")
    auth = {"Authorization": "Bearer k"}
    for i in range(40, 46):
        runtime.feeds.feed("home", f"u{i:04d}", limit=10)
    assert runtime.shadows is not None and runtime.shadows.drain()
    with TestClient(create_app(runtime)) as client:
        assert client.get("/v1/shadows").status_code == 401
        (row,) = client.get("/v1/shadows", headers=auth).json()["shadows"]
        assert row["name"] == "no_trending" and row["records"] >= 6
        body = client.get("/v1/shadows/no_trending/report", headers=auth).json()
        assert body["report"]["metrics"]["rbo"]["noise"] is not None
        score = body["distributions"]["score"]  # drawn by the console on production's quantile bins
        assert set(score["shares"]) == {"production", "candidate", "noise"}
        for shares in score["shares"].values():
            assert len(shares) == len(score["edges"]) + 1 and abs(sum(shares) - 1) < 1e-9
        assert client.get("/v1/shadows/nope/report", headers=auth).status_code == 404
        assert client.get("/v1/shadows/no_trending/report?replay=true", headers=auth).status_code == 404
        page = client.get("/console/shadows")
        assert page.status_code == 200 and "shadows.js" in page.text
        script = client.get("/console/static/shadows.js").text
        assert "/v1/shadows" in script and "/report" in script and "distributions" in script
