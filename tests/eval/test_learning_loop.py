"""The learning loop end to end on the demo corpus: simulated sessions are served, logged and trained
on; the promoted ranker then serves with every head visible; faults fall back to the heuristic."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from prometheus_client import REGISTRY

from feedmix import cli
from feedmix.config import FeedmixConfig
from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.eval.learning_loop import closed_loop, loop_config, run_sessions
from feedmix.ranking.model_registry import ModelRegistry, RegistryError
from feedmix.ranking.multitask_ranker import MultiTaskRanker, train_heads
from feedmix.ranking.ranker_features import ranker_feature_names
from feedmix.ranking.ranker_training import MODEL_NAME, NotEnoughData, TrainingConfig, train_ranker
from feedmix.serving.runtime import Runtime
from feedmix.simulation.population import Population

HEADS = ("click", "upvote", "comment", "hide")
FAST = {"num_boost_round": 60, "early_stopping_rounds": 10}


@pytest.fixture(scope="module")
def corpus() -> RedditCorpus:
    return RedditCorpus.load(FeedmixConfig().posts_path())


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, corpus: RedditCorpus) -> Iterator[dict[str, Any]]:
    state = tmp_path_factory.mktemp("loop")
    cfg = loop_config(state, feature_log_sample_rate=0.5, users=400)
    report, _ = run_sessions(cfg, corpus, 150, seed=1, run_id="collect")
    graph = CommunityGraph.from_corpus(corpus)
    users = Population.generate(corpus, graph, n_users=cfg.users, seed=cfg.users_seed)
    registry = ModelRegistry(cfg.ranking_registry_dir)
    summary = train_ranker(
        cfg.event_log,
        cfg.feature_offline_dir,
        registry,
        corpus,
        graph,
        users,
        served_log_dir=cfg.feature_log_dir,
        config=TrainingConfig(complete_only=False, min_positives=10, params=FAST),
        progress=False,
    )
    yield {
        "cfg": cfg,
        "report": report,
        "summary": summary,
        "registry": registry,
        "graph": graph,
        "users": users,
    }


def test_training_registers_a_model_with_window_features_and_later_slice_metrics(
    trained: dict[str, Any],
) -> None:
    summary, registry, report = trained["summary"], trained["registry"], trained["report"]
    assert report.impressions > 2000 and report.comments > 0
    assert not summary["promoted"] and registry.promoted(MODEL_NAME) is None  # a person promotes
    version = registry.get(MODEL_NAME, summary["version"])
    meta = version.meta
    assert meta.features == ranker_feature_names()
    assert meta.data_window.rows == summary["rows"] == report.impressions
    assert meta.data_window.start_ts < meta.data_window.end_ts
    for head in HEADS:
        assert 0.0 <= meta.metrics[f"{head}.auc"] <= 1.0
        assert meta.metrics[f"{head}.base_rate"] > 0
    # the simulator's clicks follow quality and interest, which the model sees: far better than chance
    assert meta.metrics["click.auc"] > 0.65
    assert meta.metrics["logged_share"] > 0.2  # served values joined for the sampled requests
    assert meta.metrics["test_rows"] == pytest.approx(0.2 * summary["rows"], abs=2)
    assert version.code.package_version


def _runtime(cfg: FeedmixConfig, corpus: RedditCorpus, tmp: Path, **extra: Any) -> Runtime:
    """A fresh serving runtime on the trained registry (its own state for everything else)."""
    return Runtime.build(
        loop_config(tmp, users=cfg.users, ranking_registry_dir=cfg.ranking_registry_dir, **extra),
        corpus=corpus,
    )


def test_a_shadow_ranks_its_candidate_with_a_pinned_model_version(
    trained: dict[str, Any], corpus: RedditCorpus, tmp_path: Path
) -> None:
    from feedmix.shadow.record import read_records

    cfg, version = trained["cfg"], trained["summary"]["version"]
    shadow = {"pipeline": "home", "sample_rate": 1.0, "model_version": version}
    rt = _runtime(cfg, corpus, tmp_path, shadows={"model": shadow})
    try:
        assert rt.shadows is not None
        for i in range(1, 6):
            rt.feeds.feed("home", f"u{i:04d}", limit=10)
        assert rt.shadows.drain()
        records = read_records(tmp_path / "shadow" / "model" / "records.jsonl")
        assert len(records) == 5
        for r in records:
            assert set(r.arms["candidate"].predictions) == set(HEADS)  # the pinned version's heads
            if rt.ranker is not None and rt.ranker.version is None:  # nothing promoted: production ranks
                assert not r.arms["noise"].predictions  # by the heuristic, and so does its noise twin
    finally:
        rt.close()
    with pytest.raises(RegistryError):
        _runtime(cfg, corpus, tmp_path / "bad", shadows={"model": {**shadow, "model_version": "no-such"}})


def test_a_promoted_model_serves_with_heads_in_the_response_and_the_log(
    trained: dict[str, Any], corpus: RedditCorpus, tmp_path: Path
) -> None:
    cfg, registry, version = trained["cfg"], trained["registry"], trained["summary"]["version"]
    rt = _runtime(cfg, corpus, tmp_path, feature_log_sample_rate=1.0)
    try:
        before = rt.feeds.feed("home", "u0003", 10, debug=True)
        assert before["model_version"] == "heuristic" and before["items"][0]["predictions"] == {}
        registry.promote(MODEL_NAME, version)
        assert rt.ranker is not None and rt.ranker.reload()["status"] == "swapped"
        body = rt.feeds.feed("home", "u0003", 10, debug=True)
        assert body["model_version"] == version and not body["degraded"]
        items = body["items"]
        for item in items:
            assert set(item["predictions"]) == set(HEADS)
            assert all(0.0 <= p <= 1.0 for p in item["predictions"].values())
            value = sum(item["score_parts"][f"value.{h}"] for h in HEADS)
            rules = [k for k in item["score_parts"] if k.startswith("rule.")]
            assert set(rules) == {"rule.freshness_boost", "rule.community_penalty", "rule.domain_penalty"}
            assert item["score"] == pytest.approx(value + sum(item["score_parts"][k] for k in rules))
        ranker_trace = [
            c for s in body["trace"]["stages"] if s["stage"] == "scorers" for c in s["components"]
        ]
        assert [c["component"] for c in ranker_trace] == [
            "heuristic_scorer",
            "ranker",
            "freshness_boost",
            "show_fewer",
            "community_penalty",
            "domain_penalty",
            "exploration_propensity",
        ]
        # a heavier hide weight for this request only changes its value, not the model
        heavy = rt.feeds.feed("home", "u0003", 10, debug=True, overrides={"ranker.w_hide": 500.0})
        hide_terms = [i["score_parts"]["value.hide"] for i in heavy["items"]]
        assert all(t <= 0 for t in hide_terms) and min(hide_terms) < min(
            i["score_parts"]["value.hide"] for i in items
        )
    finally:
        rt.close()
    rows = pq.read_table(tmp_path / "feature_log").to_pylist()
    served = [r for r in rows if r["request_id"] == body["request_id"]]
    assert len(served) == len(items)
    assert {r["model_version"] for r in served} == {version}
    assert all(0 < r["propensity"] <= 1 for r in served)
    assert all(
        r["p.click"] == pytest.approx(i["predictions"]["click"]) for r, i in zip(served, items, strict=True)
    )


def test_a_failing_model_falls_back_to_the_heuristic_for_that_request(
    trained: dict[str, Any], corpus: RedditCorpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, registry, version = trained["cfg"], trained["registry"], trained["summary"]["version"]
    if registry.promoted(MODEL_NAME) is None:
        registry.promote(MODEL_NAME, version)
    rt = _runtime(cfg, corpus, tmp_path)
    try:
        served = rt.ranker.current() if rt.ranker else None
        assert served is not None
        model = served[0]

        def broken(x: np.ndarray[Any, Any]) -> dict[str, Any]:
            raise RuntimeError("model exploded")

        monkeypatch.setattr(model, "predict", broken)
        body = rt.feeds.feed("home", "u0003", 10, debug=True)
        assert body["degraded"] and "ranker" in body["failed_components"]
        assert body["items"] and all(i["predictions"] == {} for i in body["items"])
        # each score is the heuristic's: the sum of its parts
        for i in body["items"]:
            assert i["score"] == pytest.approx(sum(i["score_parts"].values()))
            assert not any(k.startswith("value.") for k in i["score_parts"])
    finally:
        rt.close()


def test_a_corrupt_promoted_model_is_refused_and_the_previous_keeps_serving(
    trained: dict[str, Any], corpus: RedditCorpus, tmp_path: Path
) -> None:
    cfg, summary = trained["cfg"], trained["summary"]
    registry = ModelRegistry(tmp_path / "models")
    shutil.copytree(cfg.ranking_registry_dir, tmp_path / "models", dirs_exist_ok=True)
    good = summary["version"]
    if registry.promoted(MODEL_NAME) is None or registry.promoted(MODEL_NAME).version != good:  # type: ignore[union-attr]
        registry.promote(MODEL_NAME, good)
    src = registry.get(MODEL_NAME, good)

    def copy_files(d: Path) -> None:
        for rel in src.files:
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src.path / rel, d / rel)

    bad = registry.register(MODEL_NAME, copy_files, src.meta)
    registry.promote(MODEL_NAME, bad.version)
    head = bad.path / "heads" / "click.txt"
    head.write_text(head.read_text().replace("Tree=0", "Tree=oops", 1))  # corrupted after promotion
    rt = Runtime.build(
        loop_config(tmp_path / "state", users=cfg.users, ranking_registry_dir=str(tmp_path / "models")),
        corpus=corpus,
    )
    try:
        assert rt.ranker is not None and rt.ranker.current() is None  # refused at startup: heuristic
        registry.rollback(MODEL_NAME)
        assert rt.ranker.reload()["status"] == "swapped"
        assert rt.feeds.feed("home", "u0003", 5)["model_version"] == good
        with pytest.raises(RegistryError, match="fail verification"):
            registry.promote(MODEL_NAME, bad.version)  # the registry itself refuses it now
        # a sound file the server cannot use (a feature it does not compute) is refused on load
        alien = _model_with_features(("quality", "f.not_a_feature"))
        meta = dataclasses.replace(src.meta, features=alien.features)
        incompatible = registry.register(MODEL_NAME, alien.save, meta)
        registry.promote(MODEL_NAME, incompatible.version)
        status = rt.ranker.reload()
        assert status["status"] == "refused" and "f.not_a_feature" in status["reason"]
        assert rt.feeds.feed("home", "u0003", 5)["model_version"] == good
    finally:
        rt.close()


def _model_with_features(features: tuple[str, ...]) -> MultiTaskRanker:
    rng = np.random.default_rng(0)
    x = rng.random((400, len(features)), dtype=np.float32)
    y = {"click": x[:, 0] > 0.5}
    return train_heads(
        x[:300], {"click": y["click"][:300]}, x[300:], {"click": y["click"][300:]}, features, FAST
    )


def test_missing_feature_columns_get_defaults_and_are_counted(
    trained: dict[str, Any], corpus: RedditCorpus, tmp_path: Path
) -> None:
    cfg, registry, version = trained["cfg"], trained["registry"], trained["summary"]["version"]
    if registry.promoted(MODEL_NAME) is None:
        registry.promote(MODEL_NAME, version)
    rt = _runtime(cfg, corpus, tmp_path)
    try:

        def missing() -> float:
            return (
                REGISTRY.get_sample_value("feedmix_ranker_missing_features_total", {"feature": "f.ctr_24h"})
                or 0.0
            )

        before = missing()
        body = rt.feeds.feed("home", "u0003", 10, debug=True, overrides={"online_features.enabled": False})
        assert body["items"] and all(set(i["predictions"]) == set(HEADS) for i in body["items"])
        assert missing() > before
    finally:
        rt.close()


def test_closed_loop_summary_pairs_sessions() -> None:
    out = closed_loop(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 5.0]))
    assert out["difference"]["mean"] == pytest.approx(1.0) and out["sessions"] == 3
    assert out["relative"] == pytest.approx(0.5)


def test_training_on_a_tiny_window_refuses_clearly(
    trained: dict[str, Any], corpus: RedditCorpus, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = loop_config(tmp_path, users=50)
    run_sessions(cfg, corpus, 3, seed=2, run_id="tiny")
    registry = ModelRegistry(tmp_path / "models")
    with pytest.raises(
        NotEnoughData, match=r"impressions with complete labels; training needs at least 2000"
    ):
        train_ranker(
            cfg.event_log,
            cfg.feature_offline_dir,
            registry,
            corpus,
            trained["graph"],
            trained["users"],
            config=TrainingConfig(complete_only=False),
            progress=False,
        )
    assert registry.list(MODEL_NAME) == []
    code = cli.main(
        ["train", "--events", cfg.event_log, "--offline", cfg.feature_offline_dir, "--registry",
         str(tmp_path / "models"), "--include-open-windows", "--quiet"]
    )  # fmt: skip
    assert code == 3 and "refused" in capsys.readouterr().err


def test_the_compiled_runtime_serves_the_same_scores(
    trained: dict[str, Any], corpus: RedditCorpus, tmp_path: Path
) -> None:
    cfg, registry, version = trained["cfg"], trained["registry"], trained["summary"]["version"]
    if registry.promoted(MODEL_NAME) is None:
        registry.promote(MODEL_NAME, version)
    native = _runtime(cfg, corpus, tmp_path / "native", ranking_runtime="native")
    compiled = _runtime(cfg, corpus, tmp_path / "compiled")  # the default
    try:
        assert native.ranker is not None and compiled.ranker is not None
        model = compiled.ranker.current()
        assert model is not None and set(model[0].runtimes) == set(HEADS)
        assert set(model[0].runtimes.values()) <= {"lleaves", "lightgbm"}
        # compiled artifacts are cached beside the registry, never inside a checksummed version
        assert (Path(cfg.ranking_registry_dir) / ".compiled").is_dir()
        assert registry.verify(registry.get(MODEL_NAME, version)) == []
        native_model = native.ranker.current()
        assert native_model is not None and native_model[0].compiled is None
        rng = np.random.default_rng(3)
        x = rng.random((700, len(model[0].features)), dtype=np.float32) * 5
        x[rng.random(x.shape) < 0.2] = np.nan
        got, want = model[0].predict(x), native_model[0].predict(x)
        for head in HEADS:
            np.testing.assert_allclose(got[head], want[head], atol=1e-5)
        body = compiled.feeds.feed("home", "u0007", 10, debug=True)
        assert body["model_version"] == version and not body["degraded"]
        assert all(set(i["predictions"]) == set(HEADS) for i in body["items"])
    finally:
        native.close()
        compiled.close()
