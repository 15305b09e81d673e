"""OPE of a candidate config on the service's logs: the estimators on pages whose answer is known, and
the whole run (log, replay, estimates, online truth) at a small scale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from feedmix.eval.ope.simulated import estimate, markdown_table, run_simulated_ope


def _pages(n: int, seed: int) -> tuple[list[dict[str, object]], dict[tuple[str, str], float]]:
    rng = np.random.default_rng(seed)
    pages, rewards = [], {}
    for k in range(n):
        posts = [f"p{k}x{i}" for i in range(5)]
        quality = rng.random(5)
        pages.append(
            {
                "request_id": np.array([f"r{k}"] * 5),
                "user_id": np.array(["u1"] * 5),
                "post_id": np.array(posts),
                "position": np.arange(5),
                "propensity": np.ones(5),
                "f.post.quality": quality,
            }
        )
        for post, q, pos in zip(posts, quality, range(5), strict=True):
            rewards[(f"r{k}", post)] = float(rng.poisson(2 * q / (1 + pos)))
    return pages, rewards


def _no_extra(user: str, posts: list[str]) -> np.ndarray:
    return np.zeros((len(posts), 0))


def test_the_logging_policy_evaluated_off_policy_is_its_own_mean() -> None:
    pages, rewards = _pages(400, 1)
    same = {
        str(p["request_id"][0]): {  # type: ignore[index]
            "item_ids": list(p["post_id"]),  # type: ignore[call-overload]
            "features": {"f.post.quality": list(p["f.post.quality"])},  # type: ignore[call-overload]
        }
        for p in pages
    }
    got = estimate(pages, same, rewards, ["f.post.quality"], _no_extra, n_boot=100, model_boot=3)  # type: ignore[arg-type]
    truth = sum(rewards.values()) / len(pages)
    assert got["matched_position_share"] == 1.0
    assert got["IPS"]["estimate"] == pytest.approx(truth) and got["SNIPS"]["estimate"] == pytest.approx(truth)
    assert got["DR"]["estimate"] == pytest.approx(truth, rel=0.05)
    # the reward model, fitted on these very pages, predicts their mean; refits give it an interval
    assert got["DM"]["estimate"] == pytest.approx(truth, rel=0.1)
    assert got["DM"]["ci_high"] > got["DM"]["ci_low"]


def test_the_whole_run_at_a_small_scale(tmp_path: Path) -> None:
    r = run_simulated_ope(tmp_path, users=300, sessions=30, n_boot=50, progress=False)
    est = r["estimates"]
    assert est["pages"] > 10 and 0 <= est["matched_position_share"] <= 1
    assert r["candidate_online_engagement_per_page"] >= 0
    low, high = r["candidate_online_ci95"]
    assert low <= r["candidate_online_engagement_per_page"] <= high
    # the model-based estimators always estimate; the match-based ones only where the candidate agreed
    for name in ("DM", "DR"):
        assert est[name]["ci_high"] > est[name]["ci_low"] and est[name]["estimate"] > 0, name
    if est["matched_position_share"] > 0:  # the match-based ones only see where the candidate agreed
        assert est["IPS"]["ci_low"] <= est["IPS"]["estimate"] <= est["IPS"]["ci_high"]
    assert "| DR |" in markdown_table(r)


def test_the_estimators_on_a_servers_own_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from feedmix import cli
    from feedmix.config import FeedmixConfig
    from feedmix.eval.ope.simulated import estimate_from_logs
    from feedmix.events.schema import Event, EventBatch
    from feedmix.ranking.model_registry import RegistryError
    from feedmix.serving.runtime import Runtime

    cfg = FeedmixConfig(state_dir=str(tmp_path), users=200, ads_enabled=False, feature_log_sample_rate=1.0)
    rt = Runtime.build(cfg)
    try:  # a server's day, in miniature: pages served and logged, some posts clicked
        for i in range(1, 41):
            body = rt.feeds.feed("home", f"u{i:04d}", limit=10)
            first = body["items"][i % 3]
            click = Event(
                event_id=f"c{i}",
                type="click",
                user_id=f"u{i:04d}",
                post_id=first["id"],
                request_id=body["request_id"],
            )
            rt.ingestor.ingest(EventBatch(events=[click]), now=0.0)
    finally:
        rt.close()
    got = estimate_from_logs(cfg, {"heuristic_scorer.w_freshness": 3.0}, n_boot=50)
    # a candidate may be a model version: the replay pins it (an unknown one is refused by name)
    with pytest.raises(RegistryError, match="no-such"):
        estimate_from_logs(cfg, {"model_version": "no-such"}, n_boot=10)
    assert got["estimates"]["pages"] == 40 and got["logging_policy_engagement_per_page"] == pytest.approx(1.0)
    assert got["estimates"]["DM"]["estimate"] > 0
    path = tmp_path / "feedmix.toml"
    path.write_text(cfg.to_toml())
    out = tmp_path / "ope.json"
    argv = ["eval", "ope", "--logged", "--config", str(path), "--n-boot", "30", "--json", str(out)]
    assert cli.main(argv) == 0
    assert (
        "| DR |" in capsys.readouterr().out
        and json.loads(out.read_text())["logged"]["estimates"]["pages"] == 40
    )


def test_a_candidate_names_params_a_model_version_or_sources() -> None:
    from feedmix.eval.ope.simulated import candidate_shadow, run_simulated_ope

    shadow = candidate_shadow({"heuristic_scorer.w_freshness": 3.0, "model_version": "v7"}, ["f.a"])
    assert shadow["params"] == {"heuristic_scorer.w_freshness": 3.0} and shadow["model_version"] == "v7"
    assert shadow["noise"] is False and shadow["features"] == ["f.a"]
    with pytest.raises(ValueError, match=r"candidate\.model_version"):
        run_simulated_ope(Path("/nonexistent"), candidate={"model_version": "v7"}, progress=False)
